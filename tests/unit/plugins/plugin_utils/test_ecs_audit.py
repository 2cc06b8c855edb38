"""Batching and per-host results of the ECS API audit."""

from __future__ import annotations

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils import _virtio
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_cloud_assistant import skipped_result
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.plugin_utils import _ecs_audit as audit

SETTINGS = audit.Settings(["online_resize", "serial_query"], dict(_virtio.CAPABILITY_THRESHOLDS))


def targets(count, region):
    return [audit.Target(f"{region}-{n}", f"i-{region.replace('-', '')}{n}", region) for n in range(count)]


@pytest.mark.parametrize(
    ("sizes", "batch_size", "expected"),
    [
        ({"cn-hangzhou": 120}, 50, [50, 50, 20]),
        ({"cn-hangzhou": 3, "eu-central-1": 2}, 50, [3, 2]),
        ({"cn-hangzhou": 5}, 2, [2, 2, 1]),
    ],
)
def test_batches_per_region_up_to_the_limit(sizes, batch_size, expected):
    all_targets = [t for region, count in sizes.items() for t in targets(count, region)]
    planned = audit.plan_batches(all_targets, batch_size)
    assert [len(b) for b in planned] == expected
    assert all(len({t.region for t in b}) == 1 for b in planned)


@pytest.mark.parametrize("size", [0, 101])
def test_batch_size_beyond_the_api_limit_is_refused(size):
    with pytest.raises(InputError, match="RunCommand's limit"):
        audit.plan_batches(targets(1, "cn-hangzhou"), size)


TARGET = audit.Target("web01", "i-web01", "cn-hangzhou")


@pytest.mark.parametrize(
    ("record", "key", "text"),
    [
        ({**skipped_result("i-web01", "InstanceNotRunning", "the instance is Stopped, not Running")}, "unreachable", "Stopped"),
        ({"instance_id": "i-web01", "finished": True, "succeeded": False, "status": "Failed", "error_code": "ClientNotRunning",
          "error_info": "x", "output": ""}, "unreachable", "agent is not running"),
        ({"instance_id": "i-web01", "finished": True, "succeeded": False, "status": "Failed", "error_code": "ExitCodeNonzero",
          "exit_code": 1, "error_info": "x", "output": "Get-WmiObject : Access denied"}, "failed", "Access denied"),
        ({**skipped_result("i-web01", "NotFound", "no instance i-web01 in region cn-hangzhou")}, "failed", "no instance"),
        ({"instance_id": "i-web01", "finished": True, "succeeded": True, "status": "Success", "output": "hello"},
         "failed", "printed no result line"),
    ],
)
def test_every_problem_is_the_hosts_row_with_its_reason(record, key, text):
    result = audit.host_result(TARGET, record, SETTINGS)
    assert result[key] is True and text in result["msg"] and result["ecs_instance_id"] == "i-web01"


def test_hosts_without_ecs_variables_fail_alone():
    found, failed = audit.targets_from_hostvars(["a", "b"], lambda h: {"ecs_instance_id": "i-a", "alicloud_region": "cn-hangzhou"} if h == "a" else {})
    assert found == [audit.Target("a", "i-a", "cn-hangzhou")]
    assert failed["b"]["failed"] and "ecs_instance_id and alicloud_region" in failed["b"]["msg"]


def test_each_batch_is_handed_to_on_batch_as_soon_as_it_is_done(monkeypatch):
    class NoCalls:
        calls: list = []

    def fake_batch(client, batch, script, settings):
        return {t.host: {"changed": False} for t in batch}

    monkeypatch.setattr(audit, "audit_batch", fake_batch)
    seen: list[list[str]] = []
    results, _calls = audit.audit(targets(5, "cn-hangzhou"), lambda region: NoCalls(), "script",
                                  audit.Settings(["online_resize"], {}, batch_size=2, concurrency=1),
                                  on_batch=lambda answer: seen.append(sorted(answer)))
    assert seen == [["cn-hangzhou-0", "cn-hangzhou-1"], ["cn-hangzhou-2", "cn-hangzhou-3"], ["cn-hangzhou-4"]]
    assert len(results) == 5


@pytest.mark.parametrize(
    ("regions", "concurrency", "expected_peak"),
    [
        ({"cn-hangzhou": 6}, 2, {"cn-hangzhou": 2}),
        # ECS throttles each API per region: each region has its own limit, all regions at once
        ({"cn-hangzhou": 6, "cn-shanghai": 6, "ap-southeast-1": 2}, 2, {"cn-hangzhou": 2, "cn-shanghai": 2, "ap-southeast-1": 2}),
        ({"cn-hangzhou": 3, "cn-shanghai": 1}, 10, {"cn-hangzhou": 3, "cn-shanghai": 1}),
    ],
)
def test_concurrency_is_per_region_and_every_region_runs_at_once(monkeypatch, regions, concurrency, expected_peak):
    import threading

    lock = threading.Lock()
    running: dict[str, int] = {}
    peak: dict[str, int] = {}
    everyone_started = threading.Barrier(sum(expected_peak.values()), timeout=10)

    class NoCalls:
        calls: list = []

    def fake_batch(client, batch, script, settings):
        region = batch[0].region
        with lock:
            running[region] = running.get(region, 0) + 1
            peak[region] = max(peak.get(region, 0), running[region])
        try:
            everyone_started.wait()  # the first batches of every region are in flight together
            everyone_started.abort()  # later batches do not wait
        except threading.BrokenBarrierError:
            pass
        with lock:
            running[region] -= 1
        return {t.host: {"changed": False} for t in batch}

    monkeypatch.setattr(audit, "audit_batch", fake_batch)
    fleet = [t for region, count in regions.items() for t in targets(count, region)]
    results, _calls = audit.audit(fleet, lambda region: NoCalls(), "script",
                                  audit.Settings(["online_resize"], {}, batch_size=1, concurrency=concurrency))
    assert peak == expected_peak
    assert len(results) == len(fleet)


def test_only_what_keep_returns_is_kept_of_each_result(monkeypatch):
    class NoCalls:
        calls: list = []

    seen = []
    monkeypatch.setattr(audit, "audit_batch", lambda client, batch, script, settings: {
        t.host: {"changed": False, "drivers": ["big"], "virtio_build": 58017} for t in batch})
    results, _calls = audit.audit(targets(3, "cn-hangzhou"), lambda region: NoCalls(), "script",
                                  audit.Settings(["online_resize"], {}, batch_size=2),
                                  on_batch=lambda answer: seen.extend(answer.values()),
                                  keep=lambda result: {"virtio_build": result["virtio_build"]})
    assert results == {f"cn-hangzhou-{n}": {"virtio_build": 58017} for n in range(3)}
    assert all("drivers" in result for result in seen)  # the progress still sees the whole result
