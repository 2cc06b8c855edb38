"""The ECS modules under real ansible-playbook (delegate_to: localhost) against the fake endpoint.

Credentials come from the environment or from options; neither the secret nor the STS token may
appear in anything ansible-playbook prints, even at -vvv, nor in the registered results.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakeecs import TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET
from tests.integration.conftest import run_playbook
from tests.integration.ecs_helpers import touched

PLAYBOOK = "tests/integration/playbooks/ecs_modules.yml"
OLD = "62.77.104.58011"
NEW = "62.77.104.58017"
ENV = {
    "ALIBABA_CLOUD_ACCESS_KEY_ID": TEST_ACCESS_KEY_ID,
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": TEST_ACCESS_KEY_SECRET,
}
NO_CREDENTIALS = {
    **{
        name: ""
        for name in (
            "ALIBABA_CLOUD_ACCESS_KEY_ID",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            "ALIBABA_CLOUD_SECURITY_TOKEN",
            "ALICLOUD_ACCESS_KEY",
            "ALICLOUD_SECRET_KEY",
            "ALICLOUD_SECURITY_TOKEN",
            "ALIBABA_CLOUD_PROFILE",
            "ALICLOUD_PROFILE",
            "ALIBABA_CLOUD_ECS_METADATA",
            "ALICLOUD_ECS_ROLE_NAME",
            "ALICLOUD_ASSUME_ROLE_ARN",
        )
    },
    # never the instance metadata address (100.100.100.200) from a test, whatever is missing
    "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
}


def fleet():
    return {
        "hosts": {
            name: {
                "ecs": {
                    "instance_id": f"i-{name}",
                    "disks": [
                        {"disk_id": f"d-{name}sys", "type": "system"},
                        {"disk_id": f"d-{name}data", "type": "data"},
                    ],
                },
                "drivers": {"viostor.sys": OLD, "netkvm.sys": OLD},
                "update": {"to": NEW},
            }
            for name in ("web01", "web02")
        }
    }


def play(lab, fake, tmp_path: Path, steps, extra=None, **kwargs):
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    variables = {
        "alicloud_ecs_endpoint": fake.url,
        "ecs_test_out": str(out),
        "ecs_test_steps": steps,
        **(extra or {}),
    }
    run = run_playbook(PLAYBOOK, lab.root / "inventory.yml", tmp_path / "reports", variables, **kwargs)
    results = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
    return run, results


def assert_no_secret(run, results):
    everything = run.output + json.dumps(results)
    assert TEST_ACCESS_KEY_SECRET not in everything
    assert "Traceback" not in run.output


def test_snapshot_install_reboot_and_cleanup_through_playbooks(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet())
    run, results = play(
        lab,
        fake,
        tmp_path,
        ["snapshot", "install", "reboot"],
        env={**NO_CREDENTIALS, **ENV},
        extra_args=["-v"],
    )
    assert run.returncode == 0, run.output
    assert_no_secret(run, results)
    for name in ("web01", "web02"):
        snapshot = results[name]["snapshot"]
        assert snapshot["changed"] is True and snapshot["mode"] == "group"
        assert snapshot["snapshot_ids"] == [s["SnapshotId"] for s in lab.read_host(name)["ecs"]["snapshots"]]
        install = {r["instance_id"]: r for r in results[name]["install"]["results"]}
        assert install[f"i-{name}"]["succeeded"] is True
        assert results[name]["reboot"]["failed_instance_ids"] == []
        assert touched(lab, name)["drivers"]["viostor.sys"]["file_version"] == NEW
    assert fake.count("InvokeCommand") == 1 and fake.count("RebootInstances") == 1  # one call for the batch

    again, results = play(lab, fake, tmp_path, ["snapshot"], env={**NO_CREDENTIALS, **ENV})
    assert again.returncode == 0, again.output
    assert (
        results["web01"]["snapshot"]["changed"] is False
        and results["web01"]["snapshot"]["mode"] == "existing"
    )

    cleanup, results = play(
        lab, fake, tmp_path, ["snapshot"], {"ecs_test_state": "absent"}, env={**NO_CREDENTIALS, **ENV}
    )
    assert cleanup.returncode == 0, cleanup.output
    assert len(results["web01"]["snapshot"]["deleted"]) == 2
    assert all(not lab.read_host(n)["ecs"]["snapshots"] for n in ("web01", "web02"))


def test_check_mode_creates_and_runs_nothing(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet())
    run, results = play(
        lab, fake, tmp_path, ["snapshot", "install", "reboot"], env={**NO_CREDENTIALS, **ENV}, check=True
    )
    assert run.returncode == 0, run.output
    assert [d["disk_id"] for d in results["web01"]["snapshot"]["would_create"]] == [
        "d-web01sys",
        "d-web01data",
    ]
    assert [r["status"] for r in results["web01"]["install"]["results"]] == ["WouldRun", "WouldRun"]
    assert [r["status"] for r in results["web01"]["reboot"]["results"]] == ["WouldReboot", "WouldReboot"]
    for name in ("web01", "web02"):
        state = lab.read_host(name)
        assert (
            state["ecs"].get("snapshots", []) == [] and "virtio_runs" not in state and "reboot" not in state
        )
    assert {name for name, _p in fake.calls} <= {
        "DescribeInstances",
        "DescribeDisks",
        "DescribeSnapshots",
        "DescribeSnapshotGroups",
        "DescribeCloudAssistantStatus",
    }


def test_credentials_as_options_never_show_even_at_vvv(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet())
    fake.deny("CreateSnapshotGroup")
    run, results = play(
        lab,
        fake,
        tmp_path,
        ["snapshot"],
        {"ecs_test_access_key_id": TEST_ACCESS_KEY_ID, "ecs_test_access_key_secret": TEST_ACCESS_KEY_SECRET},
        env=NO_CREDENTIALS,
        extra_args=["-vvv"],
    )
    assert run.returncode != 0
    assert_no_secret(run, results)
    assert (
        "CreateSnapshotGroup (instance i-web01) failed: the RAM identity is not allowed to call "
        "ecs:CreateSnapshotGroup; grant ecs:CreateSnapshotGroup" in run.output
    )
    assert "missing_permission: ecs:CreateSnapshotGroup" in run.output
    # the arguments were printed (masked), so the check above is not vacuous
    assert "access_key_secret: VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in run.output


def test_missing_credentials_fail_clearly(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet())
    home = tmp_path / "home"
    home.mkdir()
    run, _results = play(lab, fake, tmp_path, ["snapshot"], env={**NO_CREDENTIALS, "HOME": str(home)})
    assert run.returncode != 0
    assert (
        "access_key_id: no Alibaba Cloud credentials found; set access_key_id and access_key_secret, profile, "
        "ecs_role_name, or the environment variables ALIBABA_CLOUD_ACCESS_KEY_ID and "
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET" in run.output
    )
    assert "Traceback" not in run.output
    assert fake.calls == []


def write_cli_profile(home: Path, name: str) -> None:
    """An aliyun CLI configuration (~/.aliyun/config.json) with one AK profile."""
    (home / ".aliyun").mkdir(parents=True)
    profile = {
        "name": name,
        "mode": "AK",
        "access_key_id": TEST_ACCESS_KEY_ID,
        "access_key_secret": TEST_ACCESS_KEY_SECRET,
        "region_id": "cn-hangzhou",
    }
    (home / ".aliyun" / "config.json").write_text(
        json.dumps({"current": name, "profiles": [profile]}), encoding="utf-8"
    )


def test_the_aliyun_cli_profile_in_home_is_enough(ecs_lab, tmp_path):
    # no key anywhere: the module reads ~/.aliyun/config.json as the SDK's default chain does
    lab, fake = ecs_lab(fleet())
    home = tmp_path / "home"
    write_cli_profile(home, "winfleet")
    run, results = play(lab, fake, tmp_path, ["snapshot"], env={**NO_CREDENTIALS, "HOME": str(home)})
    assert run.returncode == 0, run.output
    assert_no_secret(run, results)
    assert results["web01"]["snapshot"]["changed"] is True


def test_alicloud_profile_env_names_the_profile(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet())
    home = tmp_path / "home"
    write_cli_profile(home, "rollout")
    # the file's current profile is another one: only ALICLOUD_PROFILE picks "rollout"
    config = json.loads((home / ".aliyun" / "config.json").read_text())
    config["current"] = "missing"
    (home / ".aliyun" / "config.json").write_text(json.dumps(config))
    run, results = play(
        lab, fake, tmp_path, ["snapshot"], env={**NO_CREDENTIALS, "HOME": str(home), "ALICLOUD_PROFILE": "rollout"}
    )
    assert run.returncode == 0, run.output
    assert_no_secret(run, results)


def test_the_examples_send_a_batch_that_spans_regions_one_call_per_region(ecs_lab, tmp_path):
    two_regions = fleet()
    two_regions["hosts"]["web02"]["ecs"]["region_id"] = "cn-shanghai"
    lab, fake = ecs_lab(two_regions)
    run, results = play(lab, fake, tmp_path, ["install", "reboot"], env={**NO_CREDENTIALS, **ENV})
    assert run.returncode == 0, run.output
    install = {r["instance_id"]: r for r in results["web01"]["install"]["results"]}
    assert install["i-web01"]["succeeded"] is True and install["i-web02"]["succeeded"] is True
    assert results["web01"]["install"]["failed_instance_ids"] == []
    assert results["web01"]["reboot"]["failed_instance_ids"] == []
    regions = sorted(p["RegionId"] for n, p in fake.calls if n == "InvokeCommand")
    assert regions == ["cn-hangzhou", "cn-shanghai"]
    for name in ("web01", "web02"):
        assert touched(lab, name)["drivers"]["viostor.sys"]["file_version"] == NEW
