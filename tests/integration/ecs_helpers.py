"""Helpers for tests that drive the ECS module_utils with the real SDK against the fake endpoint."""

from __future__ import annotations

from typing import Any

from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import (
    EcsClient,
    Waiting,
    ecs_client_from_params,
)
from tests.fakeecs import TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET
from tests.fakeecs.server import FakeEcs
from tests.simlab import winhost

#: Polling for tests: fast, and bounded well below the test timeout.
FAST = Waiting(timeout=30, interval=0.02)


def client_for(fake: FakeEcs, region: str = "cn-hangzhou", **params: Any) -> EcsClient:
    """The client the modules would build from these options (test credentials, quick back-off)."""
    options = {
        "access_key_id": TEST_ACCESS_KEY_ID,
        "access_key_secret": TEST_ACCESS_KEY_SECRET,
        "region_id": region,
        "endpoint": fake.url,
        "api_retries": 5,
        "api_retry_delay": 0.001,
        **params,
    }
    client, _credentials = ecs_client_from_params(options, {})
    return client


def host(
    name: str, instance_id: str, disks: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    """A fleet host backed by an ECS instance."""
    ecs: dict[str, Any] = {"instance_id": instance_id, **extra.pop("ecs", {})}
    if disks is not None:
        ecs["disks"] = disks
    return {name: {"ecs": ecs, **extra}}


def disk(disk_id: str, kind: str = "data", category: str = "cloud_essd", size: int = 100) -> dict[str, Any]:
    return {"disk_id": disk_id, "type": kind, "category": category, "size_gib": size}


def touched(lab: Any, name: str) -> dict[str, Any]:
    """The host's state once the lab applied what is due (an install finishing, a boot), as any
    round trip of the lab connection to it does first (tests/simlab/winhost.py)."""
    with lab.host(name) as state:
        winhost.advance(state, lab.settings)
    return lab.read_host(name)
