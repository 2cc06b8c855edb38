# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rollout waves: an ordered list of host patterns, each one batch (for internal collection use only).

AWX (Automation Controller) runs a job's hosts sorted by name, not in inventory order, so the
canary host cannot be "the first host of the inventory" there. Waves say the order explicitly and
work the same from the command line and from AWX: wave 1 (``canary``), then wave 2 (``web``), ...
A host matched by several waves goes in the first; a wave left empty (every host already in an
earlier wave, or outside ``--limit``) is dropped, because ``serial: 0`` would mean "every host".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Collection, Optional, Sequence

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError, kind_of

__all__ = ["WavePlan", "normalise_waves", "plan_waves"]


@dataclass(frozen=True)
class WavePlan:
    """The play's hosts in wave order and the batch sizes that cut them into the waves."""

    waves: list[str]
    hosts: list[str]
    sizes: list[int]

    def as_dict(self) -> dict[str, Any]:
        return {"waves": self.waves, "hosts": self.hosts, "sizes": self.sizes}


def normalise_waves(value: Any, field: str = "virtio_waves") -> list[str]:
    """The wave patterns as a list: a YAML list, or text with one pattern per line (an AWX textarea)."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        items: Sequence[Any] = value.splitlines()
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        raise InputError(field, f"expected a list of host patterns (one per wave), got {kind_of(value)}")
    waves = []
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise InputError(f"{field}[{index}]", f"expected a host pattern (text), got {kind_of(item)}")
        pattern = item.strip()
        if pattern:
            waves.append(pattern)
    return waves


def plan_waves(
    wave_hosts: Sequence[Sequence[str]], waves: Sequence[str], allowed: Optional[Collection[str]] = None  # noqa: UP045
) -> WavePlan:
    """Hosts in wave order (first wave wins) and one batch size per non-empty wave.

    ``wave_hosts[i]`` are the hosts pattern ``waves[i]`` matches, in inventory order; ``allowed``
    (the hosts ``--limit`` allows, None for no limit) filters them.
    """
    seen: set[str] = set()
    hosts: list[str] = []
    sizes: list[int] = []
    for matched in wave_hosts:
        batch = [host for host in matched if host not in seen and (allowed is None or host in allowed)]
        seen.update(batch)
        if batch:
            hosts.extend(batch)
            sizes.append(len(batch))
    return WavePlan(list(waves), hosts, sizes)
