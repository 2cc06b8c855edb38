"""The audit with virtio_transport=ecs_api: Cloud Assistant batches, the same report, no WinRM at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.fakeecs import TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET
from tests.integration.conftest import run_playbook

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_FLEET = REPO_ROOT / "tests" / "simlab" / "fleets" / "demo.yml"
# Columns the two transports must agree on (error texts differ: one names a WinRM failure).
SAME = ("status", "state", "is_virtio_guest", "virtio_build", "file_version", "os_version", "update_supported",
        "capabilities", "update_needed")


def ecs_fleet() -> dict[str, Any]:
    """The demo fleet on ECS (two regions), a stopped instance and 55 more instances: two batches."""
    fleet = yaml.safe_load(DEMO_FLEET.read_text(encoding="utf-8"))
    for index, (name, host) in enumerate(fleet["hosts"].items()):
        host["ecs"] = {"instance_id": f"i-demo{index}", "region_id": "ap-southeast-1" if index % 2 else "cn-hangzhou"}
    # lost01 has no WinRM path in the demo; on ECS its agent is offline.
    fleet["hosts"]["lost01"]["cloud_assistant"] = False
    fleet["hosts"]["stopped01"] = {"ecs": {"instance_id": "i-stopped01", "status": "Stopped"},
                                   "drivers": {"viostor.sys": "62.77.104.58011"}}
    for index in range(55):
        fleet["hosts"][f"fill{index:02d}"] = {"ecs": {"instance_id": f"i-fill{index:02d}"},
                                              "drivers": {"viostor.sys": "62.77.104.58017"}}
    fleet["hosts"]["nonecs01"] = {"drivers": {"viostor.sys": "62.77.104.58017"}}
    return fleet


def env_for(fake) -> dict[str, str]:
    return {"ALIBABA_CLOUD_ACCESS_KEY_ID": TEST_ACCESS_KEY_ID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": TEST_ACCESS_KEY_SECRET,
            "WINFLEET_ECS_ENDPOINT": fake.url}


def test_ecs_api_audit_same_rows_batched_and_no_winrm(ecs_lab, make_lab, tmp_path):
    lab, fake = ecs_lab(ecs_fleet(), "ecs")
    fake.world.script_seconds = 0.5
    run = run_playbook("winfleet.updates.virtio_audit", lab.root / "inventory.yml", tmp_path / "ecs-reports",
                       extra_vars={"virtio_transport": "ecs_api", "virtio_audit_ecs_batch_size": 50}, env=env_for(fake))
    assert run.returncode == 0, run.output
    assert TEST_ACCESS_KEY_SECRET not in run.output
    rows = run.rows("virtio_audit")

    # Zero WinRM round trips: the lab counts every one of them.
    assert {name: lab.read_host(name)["round_trips"] for name in lab.host_names() if lab.read_host(name)["round_trips"]} == {}

    # One RunCommand per region and batch of at most 50 (set; 100 by default): cn-hangzhou has 4 demo hosts + stopped01
    # (not sent: Stopped) + 55 fillers = 59 running, less lost01 whose agent DescribeCloudAssistantStatus
    # shows offline (not sent either) = 58 -> 2 batches; ap-southeast-1 has 4 -> 1.
    runs = [params for action, params in fake.calls if action == "RunCommand"]
    per_region = sorted((p["RegionId"], sum(1 for k in p if k.startswith("InstanceId."))) for p in runs)
    assert per_region == [("ap-southeast-1", 4), ("cn-hangzhou", 8), ("cn-hangzhou", 50)]
    assert all(p["Type"] == "RunPowerShellScript" and p["ContentEncoding"] == "Base64" for p in runs)

    # The same rows as the WinRM audit of the same fleet, for every host both can reach.
    winrm_lab = make_lab(ecs_fleet(), "winrm")
    winrm = run_playbook("winfleet.updates.virtio_audit", winrm_lab.root / "inventory.yml", tmp_path / "winrm-reports")
    assert winrm.returncode == 0, winrm.output
    winrm_rows = winrm.rows("virtio_audit")
    assert list(rows) == list(winrm_rows)
    for host in ["web01", "web02", "db01", "app01", "bare01", "legacy01", "odd01", "fill00", "fill54"]:
        assert {c: rows[host][c] for c in SAME} == {c: winrm_rows[host][c] for c in SAME}, host
    assert rows["web01"]["ecs_instance_id"] == "i-demo0" and rows["web01"]["virtio_build"] == 58011
    # Windows Server 2008 R2 (PowerShell 2.0) is audited on this path.
    assert rows["app01"]["os_version"] == "6.1.7601" and rows["app01"]["virtio_build"] == 57000
    # The unreadable version fails with the same named message as over WinRM.
    assert rows["odd01"]["status"] == "failed" and "viostor.sys.file_version" in rows["odd01"]["error"]

    # What only the API path sees: agent offline and stopped instances are unreachable, with the reason.
    assert rows["lost01"]["status"] == "unreachable" and "Cloud Assistant agent is not running" in rows["lost01"]["error"]
    assert rows["lost01"]["ecs_instance_id"] == "i-demo6"
    assert rows["stopped01"]["status"] == "unreachable" and "Stopped" in rows["stopped01"]["error"]
    assert rows["nonecs01"]["status"] == "failed" and "ecs_instance_id and alicloud_region" in rows["nonecs01"]["error"]
    summary = run.report("virtio_audit")["summary"]
    assert summary["total"] == 65
    assert summary["by_status"] == {"ok": 61, "unreachable": 2, "failed": 2}


def test_api_error_for_a_batch_is_a_row_not_a_stop(ecs_lab, tmp_path):
    fleet = {"hosts": {"a01": {"ecs": {"instance_id": "i-a01"}, "drivers": {"viostor.sys": "62.77.104.58017"}},
                       "b01": {"ecs": {"instance_id": "i-b01", "region_id": "eu-central-1"},
                               "drivers": {"viostor.sys": "62.77.104.58011"}}}}
    lab, fake = ecs_lab(fleet)
    fake.world.script_seconds = 0.2
    fake.fail("RunCommand", "InvalidParameter", count=1)
    run = run_playbook("winfleet.updates.virtio_audit", lab.root / "inventory.yml", tmp_path / "reports",
                       extra_vars={"virtio_transport": "ecs_api", "virtio_audit_ecs_concurrency": 1}, env=env_for(fake))
    assert run.returncode == 0, run.output
    rows = run.rows("virtio_audit")
    statuses = sorted(row["status"] for row in rows.values())
    assert statuses == ["failed", "ok"]
    failed = next(row for row in rows.values() if row["status"] == "failed")
    assert "RunCommand" in failed["error"] and failed["ecs_instance_id"]


def task_results(run, name: str) -> dict[str, dict[str, Any]]:
    """host -> result of the task ``name`` (``ansible.posix.json`` stdout)."""
    data = json.loads(run.stdout)
    return {host: result for play in data["plays"] for task in play["tasks"]
            if task["task"]["name"].split(" : ")[-1] == name
            for host, result in task["hosts"].items()}


def test_probe_writes_the_report_itself_and_registers_no_per_host_result(ecs_lab, tmp_path):
    """The run-once probe keeps every host's result to itself: what Ansible registers, copies into
    each host's variables and sends back through its result queue is the report's summary, so the
    play's cost does not grow with the fleet (docs/performance.md). The ECS variables come
    from the inventory's groups and a template as well as from host variables."""
    fleet = {"hosts": {name: {"ecs": {"instance_id": f"i-{name}"}, "drivers": {"viostor.sys": "62.77.104.58017"}}
                       for name in ("a01", "b01", "c01")}}
    lab, fake = ecs_lab(fleet)
    fake.world.script_seconds = 0.2
    inventory = tmp_path / "ecs.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"hangzhou": {
        "vars": {"alicloud_region": "cn-hangzhou"},
        "hosts": {"a01": {"ecs_instance_id": "i-a01"}, "b01": {"ecs_instance_id": "{{ 'i-' ~ inventory_hostname }}"},
                  "c01": {"ecs_instance_id": "i-c01", "alicloud_region": "eu-central-1"}}}}}}), encoding="utf-8")
    run = run_playbook("winfleet.updates.virtio_audit", inventory, tmp_path / "reports",
                       extra_vars={"virtio_transport": "ecs_api"},
                       env={**env_for(fake), "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"})
    assert run.returncode == 0, run.output
    probe = task_results(run, "Probe every host through Cloud Assistant and write the audit report on the controller")
    assert list(probe) == ["a01"]  # once for the play
    assert "results" not in probe["a01"]
    assert probe["a01"]["rows"] == 3 and probe["a01"]["summary"]["by_status"] == {"ok": 2, "unreachable": 0, "failed": 1}
    assert probe["a01"]["paths"]["json"].endswith("virtio_audit.json")
    rows = run.rows("virtio_audit")
    assert {host: (row["status"], row["ecs_instance_id"]) for host, row in rows.items()} == {
        "a01": ("ok", "i-a01"), "b01": ("ok", "i-b01"), "c01": ("failed", "i-c01")}
    # c01's own alicloud_region beats its group's: the instance is looked for there, and is not.
    assert "eu-central-1" in rows["c01"]["error"]
    assert run.report("virtio_audit")["summary"] == probe["a01"]["summary"]


def test_ecs_variables_from_host_vars_and_group_vars_files_are_used(ecs_lab, tmp_path):
    """``ecs_instance_id`` / ``alicloud_region`` set or overridden in ``host_vars/`` and ``group_vars/``
    files next to the inventory win over the inventory file's own values, as in Ansible's variable
    precedence (https://docs.ansible.com/ansible/latest/playbook_guide/playbooks_variables.html#understanding-variable-precedence):
    the audit asks the instance Ansible would, not the one the inventory file alone names."""
    fleet = {"hosts": {name: {"ecs": {"instance_id": f"i-{name}"}, "drivers": {"viostor.sys": "62.77.104.58017"}}
                       for name in ("a01", "b01", "c01", "d01")}}
    lab, fake = ecs_lab(fleet)
    fake.world.script_seconds = 0.2
    inventory_dir = tmp_path / "inventory"
    (inventory_dir / "host_vars").mkdir(parents=True)
    (inventory_dir / "group_vars").mkdir()
    inventory = inventory_dir / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"hangzhou": {
        # the inventory file's region is stale: group_vars/hangzhou.yml corrects it
        "vars": {"alicloud_region": "eu-central-1"},
        "hosts": {"a01": {},                              # id only in host_vars/a01.yml
                  "b01": {"ecs_instance_id": "i-stale"},  # overridden by host_vars/b01.yml
                  "c01": {"ecs_instance_id": "i-c01"},
                  "d01": {"ecs_instance_id": "i-d01", "alicloud_region": "eu-central-1"}}}}}}), encoding="utf-8")
    (inventory_dir / "host_vars" / "a01.yml").write_text("ecs_instance_id: i-a01\n", encoding="utf-8")
    (inventory_dir / "host_vars" / "b01.yml").write_text("ecs_instance_id: i-b01\n", encoding="utf-8")
    # d01's own region in its host_vars file beats its inventory host variable
    (inventory_dir / "host_vars" / "d01.yml").write_text("alicloud_region: cn-hangzhou\n", encoding="utf-8")
    (inventory_dir / "group_vars" / "hangzhou.yml").write_text("alicloud_region: cn-hangzhou\n", encoding="utf-8")
    run = run_playbook("winfleet.updates.virtio_audit", inventory, tmp_path / "reports",
                       extra_vars={"virtio_transport": "ecs_api"}, env=env_for(fake))
    assert run.returncode == 0, run.output
    rows = run.rows("virtio_audit")
    assert {host: (row["status"], row["ecs_instance_id"]) for host, row in rows.items()} == {
        "a01": ("ok", "i-a01"), "b01": ("ok", "i-b01"), "c01": ("ok", "i-c01"), "d01": ("ok", "i-d01")}, run.output
    asked = {i for action, params in fake.calls if action == "RunCommand"
             for key, i in params.items() if key.startswith("InstanceId.")}
    assert asked == {"i-a01", "i-b01", "i-c01", "i-d01"}
    assert {params["RegionId"] for action, params in fake.calls if action == "RunCommand"} == {"cn-hangzhou"}


def test_the_api_play_runs_on_one_host_for_every_host_within_limit_and_virtio_hosts(ecs_lab, tmp_path):
    """The ECS play is a play over one host (no per-host task: a pass of the strategy over 10,000 hosts
    per task), and still audits exactly the hosts virtio_hosts matches within --limit."""
    fleet = {"hosts": {name: {"ecs": {"instance_id": f"i-{name}"}, "drivers": {"viostor.sys": "62.77.104.58017"}}
                       for name in ("a01", "b01", "c01", "d01")}}
    lab, fake = ecs_lab(fleet)
    fake.world.script_seconds = 0.2
    inventory = tmp_path / "ecs.yml"
    inventory.write_text(yaml.safe_dump({"all": {"vars": {"alicloud_region": "cn-hangzhou"}, "children": {
        "web": {"hosts": {"a01": {"ecs_instance_id": "i-a01"}, "b01": {"ecs_instance_id": "i-b01"},
                          "d01": {"ecs_instance_id": "i-d01"}}},
        "db": {"hosts": {"c01": {"ecs_instance_id": "i-c01"}}}}}}), encoding="utf-8")
    run = run_playbook("winfleet.updates.virtio_audit", inventory, tmp_path / "reports",
                       extra_vars={"virtio_transport": "ecs_api", "virtio_hosts": "web"},
                       extra_args=["--limit", "b01,c01,d01"],
                       env={**env_for(fake), "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"})
    assert run.returncode == 0, run.output
    rows = run.rows("virtio_audit")
    assert sorted(rows) == ["b01", "d01"] and {row["status"] for row in rows.values()} == {"ok"}
    asked = {i for action, params in fake.calls if action == "RunCommand"
             for key, i in params.items() if key.startswith("InstanceId.")}
    assert asked == {"i-b01", "i-d01"}
    plays = {play["play"]["name"]: play for play in json.loads(run.stdout)["plays"]}
    api_play = plays["Audit the virtio drivers of the fleet through the ECS API"]
    assert {host for task in api_play["tasks"] for host in task["hosts"]} == {"b01"}
    # The play's own hosts: one (the first match within --limit), where a play over the fleet has two.
    listed = run_playbook("winfleet.updates.virtio_audit", inventory, tmp_path / "reports",
                          extra_vars={"virtio_transport": "ecs_api", "virtio_hosts": "web"},
                          extra_args=["--limit", "b01,c01,d01", "--list-hosts"], env=env_for(fake))
    assert listed.returncode == 0, listed.output
    api_listing = listed.output.split("Audit the virtio drivers of the fleet through the ECS API", 1)[1]
    assert "hosts (1):" in api_listing and "b01" in api_listing and "d01" not in api_listing, listed.output


def test_fail_on_fails_the_one_host_api_play_after_the_report(ecs_lab, tmp_path):
    """virtio_audit_fail_on (AWX workflows) on the ECS path: the report names every host, then the play
    fails with the counts; without a listed status the same audit succeeds."""
    fleet = {"hosts": {"old01": {"ecs": {"instance_id": "i-old01"}, "drivers": {"viostor.sys": "62.77.104.58011"}},
                       "new01": {"ecs": {"instance_id": "i-new01"}, "drivers": {"viostor.sys": "62.77.104.58017"}}}}
    lab, fake = ecs_lab(fleet)
    fake.world.script_seconds = 0.2
    base = {"virtio_transport": "ecs_api"}
    failing = run_playbook("winfleet.updates.virtio_audit", lab.root / "inventory.yml", tmp_path / "failing",
                           extra_vars={**base, "virtio_audit_fail_on": ["update_needed"]}, env=env_for(fake))
    assert failing.returncode != 0, failing.output
    assert "The audit found hosts with a status listed in virtio_audit_fail_on: update_needed=1." in failing.output
    assert sorted(failing.rows("virtio_audit")) == ["new01", "old01"]
    passing = run_playbook("winfleet.updates.virtio_audit", lab.root / "inventory.yml", tmp_path / "passing",
                           extra_vars={**base, "virtio_audit_fail_on": ["failed", "unreachable"]}, env=env_for(fake))
    assert passing.returncode == 0, passing.output
