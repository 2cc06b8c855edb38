"""Rollout waves: hosts in wave order, one batch per non-empty wave."""

from __future__ import annotations

import pytest
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._waves import normalise_waves, plan_waves


@pytest.mark.parametrize(
    ("wave_hosts", "allowed", "hosts", "sizes"),
    [
        ([["c"], ["a", "b"], ["a", "b", "c", "d"]], None, ["c", "a", "b", "d"], [1, 2, 1]),
        # a wave whose hosts are all in earlier waves is dropped (serial 0 would mean every host)
        ([["a"], ["a"], ["b"]], None, ["a", "b"], [1, 1]),
        # --limit keeps the order and drops what it excludes
        ([["c"], ["a", "b"], ["a", "b", "c", "d"]], {"b", "d"}, ["b", "d"], [1, 1]),
        ([["x"]], set(), [], []),
    ],
)
def test_plan_waves(wave_hosts, allowed, hosts, sizes):
    plan = plan_waves(wave_hosts, [f"w{n}" for n in range(len(wave_hosts))], allowed)
    assert (plan.hosts, plan.sizes) == (hosts, sizes)


@pytest.mark.parametrize(
    ("given", "waves"),
    [
        (None, []),
        ("", []),
        (["canary", " web ", ""], ["canary", "web"]),
        ("canary\nweb:&prod\n\n", ["canary", "web:&prod"]),  # an AWX textarea
    ],
)
def test_normalise_waves(given, waves):
    assert normalise_waves(given) == waves


@pytest.mark.parametrize(("given", "field"), [({"a": 1}, "virtio_waves"), (["a", 3], "virtio_waves[1]")])
def test_bad_waves_name_the_variable(given, field):
    with pytest.raises(InputError) as error:
        normalise_waves(given)
    assert error.value.field == field
