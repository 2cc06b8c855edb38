"""The limits of the pinned SDK's API reference, end to end against the fake (which encodes them itself)."""

from __future__ import annotations

from ansible_collections.winfleet.updates.plugins.module_utils._ecs_cloud_assistant import run_on_instances
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_snapshot import ensure_snapshots
from tests.integration.ecs_helpers import FAST, client_for, disk, host


def test_a_command_between_16_and_24_kb_runs(ecs_lab):
    lab, fake = ecs_lab({"hosts": host("a", "i-a")})
    content = "Write-Output 'ok'\n" + "# padding\n" * 1700  # ~17 KB raw, ~23 KB Base64
    result = run_on_instances(client_for(fake), ["i-a"], content=content, waiting=FAST)
    assert result["results"][0]["succeeded"] is True


def test_twelve_essd_disks_make_one_consistent_group(ecs_lab):
    disks = [disk("d-sys", "system")] + [disk(f"d-data{n:02d}") for n in range(11)]
    lab, fake = ecs_lab({"hosts": host("a", "i-a", disks)})
    result = ensure_snapshots(client_for(fake), "i-a", "r-limits", waiting=FAST)
    assert result["mode"] == "group"
    assert len(result["snapshot_ids"]) == 12
    assert fake.count("CreateSnapshotGroup") == 1 and fake.count("CreateSnapshot") == 0
