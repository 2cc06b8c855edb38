"""The rollout playbook end to end on simulated fleets: each source, each fault, the stop rule, the report.

Simulated time runs at 1/100 (the lab default): a 90 s install takes 0.9 s, the 10 s NIC drop
0.1 s. ``ansible.windows.win_reboot`` waits in real seconds, so reboots cost about a second each.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import BIN_DIR, REPO_ROOT, PlaybookRun, run_playbook
from tests.simlab.state import Lab

ROLLOUT = "winfleet.updates.virtio_rollout"
OLD = "62.77.104.58011"
NEW = "62.77.104.58017"


def guest(**extra: Any) -> dict[str, Any]:
    """A Windows Server 2019 virtio guest at build 58011 (online resize yes, serial query no)."""
    return {"drivers": {"viostor.sys": OLD, "netkvm.sys": OLD}, **extra}


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "InstallVirtIo.ps1"
    path.write_text(
        "# stand-in for Alibaba's InstallVirtIo.ps1 (the lab simulates what it does)\n", encoding="utf-8"
    )
    return path


def rollout(
    lab: Lab, report_dir: Path, script: Path | None = None, check: bool = False, **variables: Any
) -> PlaybookRun:
    base: dict[str, Any] = {
        "virtio_source": "script",
        "virtio_poll_interval": 0.05,
        "virtio_reboot_timeout": 30,
    }
    if script is not None:
        base["virtio_script_src"] = str(script)
    return run_playbook(ROLLOUT, lab.root / "inventory.yml", report_dir, {**base, **variables}, check=check)


def events(lab: Lab, host: str) -> list[str]:
    return [event["event"] for event in lab.read_host(host)["events"]]


def without_counters(state: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in state.items() if key not in ("round_trips", "failed_round_trips")}


def test_script_rollout_survives_the_nic_drop_pauses_and_restarts_antivirus(make_lab, tmp_path, script):
    lab = make_lab(
        {
            "hosts": {
                "web01": guest(
                    antivirus=[{"service": "SAVService", "running": True}], faults={"nic_drop_s": 60}
                )
            }
        }
    )
    run = rollout(lab, tmp_path / "reports", script, virtio_antivirus_services=["SAVService"])
    assert run.returncode == 0, run.output

    row = run.rows("virtio_rollout")["web01"]
    assert row["status"] == "updated", row
    assert (row["action"], row["build_before"], row["build_after"], row["rebooted"]) == (
        "install",
        58011,
        58017,
        True,
    )
    assert row["antivirus_paused"] == ["SAVService"]
    assert row["snapshot_ids"] == [] and row["error"] is None and row["duration_s"] > 0
    assert "lacks serial_query" in row["note"]

    state = lab.read_host("web01")
    # the 60 s NIC drop (0.6 s here) made polls fail; the install task reconnected instead of failing
    assert state["failed_round_trips"] > 0
    assert events(lab, "web01") == [
        "service_stopped",
        "install_started",
        "install_finished",
        "service_started",
        "reboot_requested",
        "went_down",
        "booted",
    ]
    assert state["services"]["savservice"]["running"] and state["services"]["windefend"]["running"]
    assert "antivirus_record" not in state
    assert (
        state["drivers"]["viostor.sys"]["file_version"] == NEW
        and state["drivers"]["netkvm.sys"]["file_version"] == NEW
    )
    # the script travelled with its checksum and ran from the run's directory
    (staged,) = [f for f in state["files"].values() if f["path"].endswith("InstallVirtIo.ps1")]
    assert staged["path"].startswith("C:\\ProgramData\\winfleet\\virtio_install\\")
    (install_run,) = state["virtio_runs"].values()
    assert install_run["script"] == staged["path"]

    report = run.report("virtio_rollout")
    assert report["summary"]["by_status"]["updated"] == 1 and report["summary"]["stopped_early"] is False
    assert report["source"] == "script"
    with open(tmp_path / "reports" / "virtio_rollout.csv", newline="", encoding="utf-8") as stream:
        assert next(csv.DictReader(stream))["status"] == "updated"
    assert (
        "| web01 | updated | install | 58011 | 58017 | yes |"
        in (tmp_path / "reports" / "virtio_rollout.md").read_text()
    )


def _package_zip(tmp_path: Path) -> Path:
    archive = tmp_path / "210408.1454.1459_bin.zip"
    with zipfile.ZipFile(archive, "w") as package:
        for folder in ("win10", "Win8", "win7"):
            for arch in ("amd64", "x86"):
                package.writestr(f"{folder}/{arch}/viostor.inf", "[Version]\n")
                package.writestr(f"{folder}/{arch}/viostor.sys", b"\0")
    return archive


def _package_dir(tmp_path: Path) -> Path:
    root = tmp_path / "package"
    (root / "win10" / "amd64").mkdir(parents=True)
    (root / "win10" / "amd64" / "netkvm.inf").write_text("[Version]\n")
    return root


@pytest.mark.parametrize("source", ["script_url", "package_zip", "package_dir", "cloud_assistant"])
def test_each_source_updates_the_host(make_lab, tmp_path, source):
    lab = make_lab({"hosts": {"db01": guest(data_disks=6)}})
    variables: dict[str, Any] = {
        "script_url": {
            "virtio_source": "script",
            "virtio_script_url": "https://example.com/InstallVirtIo.ps1",
        },
        "package_zip": {"virtio_source": "package", "virtio_package_src": str(_package_zip(tmp_path))},
        "package_dir": {"virtio_source": "package", "virtio_package_src": str(_package_dir(tmp_path))},
        "cloud_assistant": {"virtio_source": "cloud_assistant"},
    }[source]
    run = rollout(lab, tmp_path / "reports", **variables)
    assert run.returncode == 0, run.output
    assert run.rows("virtio_rollout")["db01"]["status"] == "updated"
    (install_run,) = lab.read_host("db01")["virtio_runs"].values()
    assert install_run["source"] == variables["virtio_source"]
    files = lab.read_host("db01").get("files", {})
    if source.startswith("package"):
        assert install_run["inf_dir"] == "win10/amd64"
        run_dir = f"C:\\ProgramData\\winfleet\\virtio_install\\{install_run['run_id']}"
        assert [f["path"] for f in files.values()] == [f"{run_dir}\\virtio_package.zip"]
    else:
        assert files == {}  # nothing pushed: the host downloads, or the agent does
    if source == "cloud_assistant":
        assert install_run["agent"].endswith("acs-plugin-manager.exe")


@pytest.mark.parametrize(
    ("host", "variables", "message"),
    [
        (
            guest(internet=False),
            {"virtio_script_url": "https://example.com/InstallVirtIo.ps1"},
            "cannot download the script from https://example.com/... (WebException)",
        ),
        (
            guest(cloud_assistant=False),
            {"virtio_source": "cloud_assistant"},
            "the Cloud Assistant agent is not installed",
        ),
        (
            guest(os_version="6.3.9600"),
            {"virtio_source": "package", "virtio_package_src": "PACKAGE_DIR"},
            "package_src: the package has no .inf files under 'Win8'",
        ),
    ],
    ids=["script_url_without_internet", "cloud_assistant_without_agent", "package_for_another_windows"],
)
def test_a_source_that_cannot_work_fails_clearly_and_changes_nothing(
    make_lab, tmp_path, host, variables, message
):
    lab = make_lab({"hosts": {"h": host}})
    if variables.get("virtio_package_src") == "PACKAGE_DIR":
        variables = {**variables, "virtio_package_src": str(_package_dir(tmp_path))}
    run = rollout(lab, tmp_path / "reports", **variables)
    assert run.returncode != 0
    row = run.rows("virtio_rollout")["h"]
    assert row["status"] == "failed" and message in row["error"], row
    assert "virtio_runs" not in lab.read_host("h") and "reboot_requested" not in events(lab, "h")


@pytest.mark.parametrize(
    ("first", "status", "message"),
    [
        (
            guest(update={"exit_code": 1603}, antivirus=[{"service": "SAVService", "running": True}]),
            "failed",
            "the installer exited with code 1603",
        ),
        (guest(reachable=False), "unreachable", "unreachable"),
    ],
    ids=["failed_install", "unreachable_host"],
)
def test_a_failed_host_stops_the_rollout_and_the_report_says_so(
    make_lab, tmp_path, script, first, status, message
):
    lab = make_lab({"hosts": {"a": first, "b": guest(), "c": guest()}})
    # reconnect_timeout also bounds how long the first contact with a host is retried
    run = rollout(
        lab,
        tmp_path / "reports",
        script,
        virtio_antivirus_services=["SAVService"],
        virtio_reconnect_timeout=1,
    )
    assert run.returncode != 0
    rows = run.rows("virtio_rollout")
    assert rows["a"]["status"] == status and message in rows["a"]["error"], rows["a"]
    assert rows["a"]["rebooted"] is False
    assert [rows[h]["status"] for h in ("b", "c")] == ["not_attempted", "not_attempted"]
    assert rows["b"]["note"] == "the rollout stopped before this host's batch"
    assert [lab.read_host(h)["round_trips"] for h in ("b", "c")] == [0, 0]
    summary = run.report("virtio_rollout")["summary"]
    assert (summary["stopped_early"], summary["stopped_after"], summary["needs_attention"]) == (
        True,
        "a",
        ["a"],
    )
    if status == "failed":
        state = lab.read_host("a")
        assert state["services"]["savservice"]["running"], "antivirus restarted after the failed install"
        assert "reboot_requested" not in events(lab, "a")
        assert "C:\\ProgramData\\winfleet\\virtio_install\\" in rows["a"]["error"]  # where the log is


def test_a_verify_failure_after_reboot_fails_the_host_and_names_the_missing_capability(
    make_lab, tmp_path, script
):
    lab = make_lab({"hosts": {"a": guest(update={"to": "62.77.104.58012"}), "b": guest()}})
    run = rollout(lab, tmp_path / "reports", script)
    assert run.returncode != 0
    row = run.rows("virtio_rollout")["a"]
    assert (row["status"], row["build_before"], row["build_after"], row["rebooted"]) == (
        "failed",
        58011,
        58012,
        True,
    )
    assert (
        "verification failed" in row["error"] and "serial_query" in row["error"] and "58017" in row["error"]
    )
    assert run.rows("virtio_rollout")["b"]["status"] == "not_attempted"


def test_a_host_that_never_returns_is_unreachable_and_stops_the_rollout(make_lab, tmp_path, script):
    lab = make_lab({"hosts": {"a": guest(faults={"never_returns": True}), "b": guest()}})
    run = rollout(lab, tmp_path / "reports", script, virtio_reboot_timeout=3)
    assert run.returncode != 0
    row = run.rows("virtio_rollout")["a"]
    assert row["status"] == "unreachable" and row["rebooted"] is True, row
    assert "did not come back within reboot_verify_timeout=3 s" in row["error"]
    assert run.rows("virtio_rollout")["b"]["status"] == "not_attempted"


def test_a_host_lost_during_the_install_is_unreachable_and_the_report_says_what_is_left(
    make_lab, tmp_path, script
):
    # a 500 s network outage (5 s here) outlasts reconnect_timeout: the task gives up on the host
    lab = make_lab(
        {
            "hosts": {
                "a": guest(
                    faults={"nic_drop_s": 500}, antivirus=[{"service": "SAVService", "running": True}]
                ),
                "b": guest(),
            }
        }
    )
    run = rollout(
        lab,
        tmp_path / "reports",
        script,
        virtio_reconnect_timeout=1,
        virtio_antivirus_services=["SAVService"],
    )
    assert run.returncode != 0
    row = run.rows("virtio_rollout")["a"]
    assert row["status"] == "unreachable" and row["rebooted"] is False, row
    assert "lost the host while the install" in row["error"] and "it is not started twice" in row["error"]
    assert "(SAVService) could not be restarted" in row["error"]
    assert run.rows("virtio_rollout")["b"]["status"] == "not_attempted"
    assert json.loads(lab.read_host("a")["antivirus_record"]) == ["SAVService"]  # recorded, so the next run restarts it


def test_unsupported_non_virtio_and_compliant_hosts_are_reported_and_do_not_stop_the_rollout(
    make_lab, tmp_path, script
):
    lab = make_lab(
        {
            "hosts": {
                "legacy": guest(os_version="5.2.3790"),
                "desktop": guest(product_type=1),
                "bare": {},
                "current": {"drivers": {"viostor.sys": NEW}},
                "old": guest(),
            }
        }
    )
    run = rollout(lab, tmp_path / "reports", script, virtio_serial=5)
    assert run.returncode == 0, run.output
    rows = run.rows("virtio_rollout")
    assert {host: row["status"] for host, row in rows.items()} == {
        "legacy": "unsupported",
        "desktop": "unsupported",
        "bare": "not_virtio",
        "current": "compliant",
        "old": "updated",
    }
    assert "older than Windows Server 2008" in rows["legacy"]["note"]
    assert "Windows Server editions only" in rows["desktop"]["note"]
    assert "not a virtio guest" in rows["bare"]["note"]
    assert rows["current"]["build_after"] == 58017 and rows["current"]["action"] == "none"
    for host in ("legacy", "desktop", "bare", "current"):
        assert events(lab, host) == [], host


def test_check_mode_reports_the_plan_and_changes_nothing(make_lab, tmp_path, script):
    lab = make_lab(
        {
            "hosts": {
                "a": guest(antivirus=[{"service": "SAVService", "running": True}]),
                "b": {"drivers": {"viostor.sys": NEW}},
            }
        }
    )
    before = {host: lab.read_host(host) for host in ("a", "b")}
    run = rollout(
        lab,
        tmp_path / "reports",
        script,
        check=True,
        virtio_antivirus_services=["SAVService"],
        virtio_serial=2,
    )
    assert run.returncode == 0, run.output
    for host in ("a", "b"):
        assert without_counters(lab.read_host(host)) == without_counters(before[host]), host
    # a preview has its own file: it never overwrites the record of a real rollout
    assert not (tmp_path / "reports" / "virtio_rollout.json").exists()
    report = run.report("virtio_rollout_preview")
    assert report["check_mode"] is True
    rows = run.rows("virtio_rollout_preview")
    assert (
        rows["a"]["status"],
        rows["a"]["action"],
        rows["a"]["rebooted"],
        rows["a"]["antivirus_paused"],
    ) == ("would_update", "install", False, [])
    assert rows["a"]["steps"] == ["pause antivirus (SAVService)", "install", "resume antivirus", "reboot", "verify"]
    assert rows["a"]["note"].startswith("check mode, nothing changed: would install")
    assert rows["b"]["status"] == "compliant"


def test_serial_batches_and_max_fail_percentage(make_lab, tmp_path, script):
    fleet = {"hosts": {"a": guest(), "b": guest(update={"exit_code": 1}), "c": guest()}}
    # batches [a, b] [c]: b fails, its batch mate a still finishes, c is never touched
    strict = rollout(make_lab(fleet, "strict"), tmp_path / "strict", script, virtio_serial=2)
    assert strict.returncode != 0
    assert [row["status"] for row in strict.rows("virtio_rollout").values()] == [
        "updated",
        "failed",
        "not_attempted",
    ]
    summary = strict.report("virtio_rollout")["summary"]
    assert (summary["stopped_early"], summary["stopped_after"]) == (True, "b")
    assert "1 of 2 hosts of this batch failed, more than max_fail_percentage=0 allows, so the rollout stops" in strict.output
    # 1 failed host of a batch of 2 is 50 %: tolerated when the limit is 50 (Ansible stops above it)
    tolerant = rollout(
        make_lab(fleet, "tolerant"),
        tmp_path / "tolerant",
        script,
        virtio_serial=2,
        virtio_max_fail_percentage=50,
    )
    assert [row["status"] for row in tolerant.rows("virtio_rollout").values()] == [
        "updated",
        "failed",
        "updated",
    ]
    summary = tolerant.report("virtio_rollout")["summary"]
    assert summary["needs_attention"] == ["b"]
    # the log and the report follow Ansible's rule: batch 2 ran, so nothing says the rollout stopped
    assert (summary["stopped_early"], summary["stopped_after"]) == (False, None)
    assert "which max_fail_percentage=50 tolerates, so the rollout goes on with the next batch" in tolerant.output
    assert "stops" not in tolerant.output
    # typed parameters: numbers in JSON even from key=value extra vars
    report = tolerant.report("virtio_rollout")
    assert (report["serial"], report["max_fail_percentage"], report["check_mode"]) == (2, 50, False)


def test_an_interrupted_rollout_resumes_without_installing_twice(make_lab, tmp_path, script):
    lab = make_lab(
        {
            "hosts": {
                "a": guest(update={"duration_s": 400}, antivirus=[{"service": "SAVService", "running": True}])
            }
        }
    )
    variables = {
        "virtio_report_dir": str(tmp_path / "first"),
        "virtio_source": "script",
        "virtio_script_src": str(script),
        "virtio_poll_interval": 0.05,
        "virtio_antivirus_services": ["SAVService"],
    }
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    process = subprocess.Popen(
        [
            str(BIN_DIR / "ansible-playbook"),
            "-i",
            str(lab.root / "inventory.yml"),
            ROLLOUT,
            "-e",
            json.dumps(variables),
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while "install_started" not in events(lab, "a"):
            assert process.poll() is None and time.monotonic() < deadline, "the install never started"
            time.sleep(0.1)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the controller dies mid-install
        process.wait()
    interrupted = json.loads((tmp_path / "first" / "virtio_rollout.json").read_text())["hosts"][0]
    assert interrupted["status"] == "failed" and interrupted["error"].startswith("interrupted")
    assert json.loads(lab.read_host("a")["antivirus_record"]) == ["SAVService"], (
        "the dead controller left the antivirus stopped"
    )

    resumed = rollout(lab, tmp_path / "second", script, virtio_antivirus_services=["SAVService"])
    assert resumed.returncode == 0, resumed.output
    row = resumed.rows("virtio_rollout")["a"]
    assert (row["status"], row["build_after"]) == ("updated", 58017)
    # Depending on how long the second controller took to start, the install was still running (it
    # waits for it) or had finished (it only reboots); either way it is not started again.
    assert ("still running; waiting for it" in row["note"]) is (row["action"] == "install"), row
    assert ("only the reboot is missing" in row["note"]) is (row["action"] == "reboot"), row
    assert events(lab, "a").count("install_started") == 1, "the install was not started again"
    state = lab.read_host("a")
    assert state["services"]["savservice"]["running"] and "antivirus_record" not in state

    again = rollout(lab, tmp_path / "third", script, virtio_antivirus_services=["SAVService"])
    assert again.rows("virtio_rollout")["a"]["status"] == "compliant"
    assert events(lab, "a").count("install_started") == 1 and events(lab, "a").count("booted") == 1


def test_a_pending_reboot_is_finished_without_installing_again(make_lab, tmp_path, script):
    lab = make_lab({"hosts": {"a": guest()}})
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg")}
    installed = subprocess.run(
        [
            str(BIN_DIR / "ansible"),
            "-i",
            str(lab.root / "inventory.yml"),
            "a",
            "-m",
            "winfleet.updates.virtio_install",
            "-a",
            json.dumps({"source": "script", "script_src": str(script), "poll_interval": 0.05}),
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert "install_finished" in events(lab, "a") and "booted" not in events(lab, "a")

    run = rollout(lab, tmp_path / "reports", script)
    assert run.returncode == 0, run.output
    row = run.rows("virtio_rollout")["a"]
    assert (row["status"], row["action"], row["rebooted"], row["build_after"]) == (
        "updated",
        "reboot",
        True,
        58017,
    )
    assert "only the reboot is missing" in row["note"]
    assert events(lab, "a").count("install_started") == 1


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"virtio_source": "floppy"}, "virtio_source: expected one of script, package"),
        (
            {"virtio_antivirus_services": ["WinDefend"]},
            "virtio_antivirus_services[0]: 'WinDefend' is part of the built-in Microsoft Defender",
        ),
        (
            {"virtio_script_src": "", "virtio_script_url": ""},
            "virtio_script_src: virtio_source=script needs exactly one of",
        ),
    ],
    ids=["unknown_source", "defender", "no_script"],
)
def test_bad_input_fails_before_any_host_with_the_users_variable_and_changes_nothing(
    make_lab, tmp_path, script, variables, message
):
    lab = make_lab(
        {"hosts": {"a": guest(antivirus=[{"service": "SAVService", "running": True}]), "b": guest()}}
    )
    run = rollout(lab, tmp_path / "reports", script, **variables)
    assert run.returncode != 0
    assert message in run.output, run.output
    # refused by the preflight on the controller: no host contacted, so no report row either
    assert [lab.read_host(h)["round_trips"] for h in ("a", "b")] == [0, 0]
    assert not (tmp_path / "reports" / "virtio_rollout.json").exists()
    assert events(lab, "a") == []


USER_PLAY = str(REPO_ROOT / "tests" / "integration" / "playbooks" / "user_play_update.yml")


@pytest.mark.parametrize(
    ("update", "message"),
    [
        ({"exit_code": 1603}, "the installer exited with code 1603"),
        ({"to": "62.77.104.58012"}, "verification failed: after the reboot viostor.sys is 62.77.104.58012"),
    ],
    ids=["install_exit_1603", "verification_fails_after_reboot"],
)
def test_a_failed_host_stops_the_next_batch_of_a_users_own_play(make_lab, tmp_path, script, update, message):
    # batches [h1, h2] [h3, h4] [h5]; h3 fails in batch 2 (in virtio_update, or in reboot_verify)
    hosts = {f"h{n}": guest() for n in range(1, 6)}
    hosts["h3"] = guest(update=update)
    lab = make_lab({"hosts": hosts})
    run = run_playbook(USER_PLAY, lab.root / "inventory.yml", tmp_path / "reports", {"user_script": str(script)})
    assert run.returncode != 0, run.output
    assert message in run.output
    for host in ("h1", "h2"):
        assert events(lab, host)[-1] == "booted", host
    # max_fail_percentage 0 counted h3: the play stopped before batch 3, h5 was never contacted
    assert lab.read_host("h5")["round_trips"] == 0 and events(lab, "h5") == []
    assert "h5" not in run.output


def test_a_limited_run_of_the_same_rollout_merges_its_rows_into_the_report(make_lab, tmp_path, script):
    lab = make_lab({"hosts": {"a": guest(), "b": guest(update={"exit_code": 1603}), "c": guest()}})
    reports = tmp_path / "reports"
    first = run_playbook(ROLLOUT, lab.root / "inventory.yml", reports,
                         {"virtio_script_src": str(script), "virtio_poll_interval": 0.05, "virtio_rollout_id": "CHG-42"})
    assert first.returncode != 0
    assert [row["status"] for row in first.rows("virtio_rollout").values()] == ["updated", "failed", "not_attempted"]
    written_a = first.rows("virtio_rollout")["a"]["written_at"]
    with lab.host("b") as state:  # the cause of b's failure is fixed
        state["update"]["exit_code"] = 0
    # "relaunch on failed hosts" plus the rest: only b and c this time
    second = run_playbook(ROLLOUT, lab.root / "inventory.yml", reports,
                          {"virtio_script_src": str(script), "virtio_poll_interval": 0.05, "virtio_rollout_id": "CHG-42"},
                          extra_args=["--limit", "b,c"])
    assert second.returncode == 0, second.output
    report = second.report("virtio_rollout")
    rows = second.rows("virtio_rollout")
    assert {host: row["status"] for host, row in rows.items()} == {"a": "updated", "b": "updated", "c": "updated"}
    assert rows["a"]["written_at"] == written_a and rows["b"]["written_at"] > written_a
    assert {row["rollout_id"] for row in rows.values()} == {"CHG-42"} and report["rollout_id"] == "CHG-42"
    assert report["summary"]["by_status"]["updated"] == 3 and len(report["runs"]) == 2
    assert events(lab, "a").count("install_started") == 1
    # another rollout id is another rollout: its report replaces the old one
    third = run_playbook(ROLLOUT, lab.root / "inventory.yml", reports,
                         {"virtio_script_src": str(script), "virtio_poll_interval": 0.05, "virtio_rollout_id": "CHG-43"},
                         extra_args=["--limit", "a"])
    assert list(third.rows("virtio_rollout")) == ["a"] and third.report("virtio_rollout")["rollout_id"] == "CHG-43"


def test_the_report_records_ids_times_and_parameters(make_lab, tmp_path, script):
    lab = make_lab({"hosts": {"a": guest(vars={"ecs_instance_id": "i-abc", "alicloud_region": "cn-shanghai"}), "b": guest()}})
    run = rollout(lab, tmp_path / "reports", script, virtio_serial="2", virtio_max_fail_percentage="0",
                  virtio_thresholds={"serial_query": 58017})
    assert run.returncode == 0, run.output
    report = run.report("virtio_rollout")
    assert report["rollout_id"].startswith("winfleet-") and report["check_mode"] is False
    assert (report["serial"], report["max_fail_percentage"]) == (2, 0)
    assert report["thresholds"] == {"online_resize": 58011, "serial_query": 58017}
    assert report["required_capabilities"] == ["online_resize", "serial_query"]
    assert report["started_at"] <= report["finished_at"]
    rows = run.rows("virtio_rollout")
    assert (rows["a"]["ecs_instance_id"], rows["a"]["region"]) == ("i-abc", "cn-shanghai")
    assert rows["b"]["ecs_instance_id"] is None
    for row in rows.values():
        assert row["rollout_id"] == report["rollout_id"]
        assert row["started_at"] <= row["finished_at"] <= row["written_at"]
        assert isinstance(row["rebooted"], bool) and isinstance(row["build_after"], int)


def _task_results(output: str, task: str) -> list[str]:
    """The result lines (``ok: [a]``, ``changed: [a]``...) printed under every run of a task."""
    results = []
    for chunk in output.split("TASK [")[1:]:
        if chunk.split("]", 1)[0].endswith(task):
            results += re.findall(r"^(ok|changed|failed|fatal|skipping): \[", chunk, flags=re.MULTILINE)
    return results


def test_check_mode_previews_every_host_of_the_fleet(make_lab, tmp_path):
    lab = make_lab(
        {
            "hosts": {
                "noagent": guest(cloud_assistant=False),
                "lost": guest(reachable=False),
                "a": guest(antivirus=[{"service": "SAVService", "running": True}]),
                "current": {"drivers": {"viostor.sys": NEW}},
            }
        }
    )
    run = rollout(lab, tmp_path / "reports", check=True, virtio_source="cloud_assistant",
                  virtio_antivirus_services=["SAVService"], virtio_reconnect_timeout=1)
    # serial 1 and max_fail_percentage 0: a real run would stop at "noagent"; the preview goes on
    assert run.returncode == 0, run.output
    rows = run.rows("virtio_rollout_preview")
    assert {host: row["status"] for host, row in rows.items()} == {
        "noagent": "failed", "lost": "unreachable", "a": "would_update", "current": "compliant"}
    assert "the Cloud Assistant agent is not installed" in rows["noagent"]["error"]
    assert "lost is unreachable" in rows["lost"]["error"]
    assert rows["a"]["steps"] == ["pause antivirus (SAVService)", "install", "resume antivirus", "reboot", "verify"]
    assert run.report("virtio_rollout_preview")["summary"]["stopped_early"] is False
    for host in ("noagent", "a", "current"):
        assert events(lab, host) == [], host
    # the read-only decision is not a change (PLAY RECAP and AWX count it as ok)
    assert "changed" not in _task_results(run.output, "Decide what this host needs (read-only)")


def test_waves_put_the_canary_first_and_a_failed_canary_stops_the_rest(make_lab, tmp_path, script):
    # inventory (and AWX's name) order would start with "app01"; the waves start with the canary
    fleet = {
        "hosts": {"app01": guest(), "canary": guest(update={"exit_code": 1603}), "web01": guest(), "web02": guest()},
        "groups": {"web": {"hosts": ["web01", "web02"]}},
    }
    waves = ["canary", "web", "all"]
    lab = make_lab(fleet)
    run = rollout(lab, tmp_path / "reports", script, virtio_waves=waves)
    assert run.returncode != 0
    rows = run.rows("virtio_rollout")
    assert rows["canary"]["status"] == "failed"
    assert [rows[h]["status"] for h in ("web01", "web02", "app01")] == ["not_attempted"] * 3
    assert [lab.read_host(h)["round_trips"] for h in ("web01", "web02", "app01")] == [0, 0, 0]

    healthy = make_lab({**fleet, "hosts": {**fleet["hosts"], "canary": guest()}}, "healthy")
    # the same from an AWX survey textarea (one pattern per line)
    run = rollout(healthy, tmp_path / "healthy", script, virtio_waves="canary\nweb\nall\n")
    assert run.returncode == 0, run.output
    report = run.report("virtio_rollout")
    assert [row["host"] for row in report["hosts"]] == ["canary", "web01", "web02", "app01"]
    assert (report["serial"], report["waves"]) == ([1, 2, 1], waves)
    started = {host: lab_time for host, lab_time in
               ((h, [e["at"] for e in healthy.read_host(h)["events"] if e["event"] == "install_started"][0])
                for h in ("canary", "web01", "app01"))}
    assert started["canary"] < started["web01"] < started["app01"]


def test_exit_code_1641_reboot_initiated_is_success_and_the_host_is_updated(make_lab, tmp_path, script):
    # ERROR_SUCCESS_REBOOT_INITIATED (https://learn.microsoft.com/en-us/windows/win32/msi/error-codes)
    lab = make_lab({"hosts": {"a": guest(update={"exit_code": 1641})}})
    run = rollout(lab, tmp_path / "reports", script)
    assert run.returncode == 0, run.output
    row = run.rows("virtio_rollout")["a"]
    assert (row["status"], row["build_after"], row["rebooted"]) == ("updated", 58017, True), row
    assert events(lab, "a").count("install_started") == 1


def test_an_installer_that_outlives_install_timeout_keeps_the_antivirus_paused_and_the_rerun_restores_it(
    make_lab, tmp_path, script
):
    lab = make_lab(
        {"hosts": {"a": guest(update={"duration_s": 1000}, antivirus=[{"service": "SAVService", "running": True}])}}
    )
    # install_timeout is controller seconds: 2 s against a 10 s install (1000 s at the lab's 1/100)
    first = rollout(lab, tmp_path / "first", script, virtio_antivirus_services=["SAVService"], virtio_install_timeout=2)
    assert first.returncode != 0
    row = first.rows("virtio_rollout")["a"]
    assert row["status"] == "failed" and "is still running after install_timeout=2 s" in row["error"], row
    assert "(SAVService) stay paused while it runs" in row["error"], row["error"]
    assert row["antivirus_paused"] == ["SAVService"]
    state = lab.read_host("a")
    assert not state["services"]["savservice"]["running"], "the antivirus was not restarted under the running install"
    assert "service_started" not in events(lab, "a")

    second = rollout(lab, tmp_path / "second", script, virtio_antivirus_services=["SAVService"], virtio_install_timeout=120)
    assert second.returncode == 0, second.output
    assert second.rows("virtio_rollout")["a"]["status"] == "updated"
    assert lab.read_host("a")["services"]["savservice"]["running"]
    assert events(lab, "a").count("install_started") == 1
