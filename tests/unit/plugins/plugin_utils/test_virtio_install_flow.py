"""The controller's install loop against a scripted host: dropped connections, lost answers, timeouts.

Like ansible.windows' unit tests of win_updates, the host is a list of recorded answers, some of
which are a dropped connection; the clock and sleep are fake so that no test waits.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest
from ansible.errors import AnsibleConnectionFailure
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._virtio_install import (
    Timeouts,
    validate_source,
)
from ansible_collections.winfleet.updates.plugins.plugin_utils._host_poll import Reconnector
from ansible_collections.winfleet.updates.plugins.plugin_utils._virtio_install import (
    InstallFailed,
    InstallFlow,
    check_local_source,
    prepare_payload,
    sha256_file,
)
from tests.unit.plugins.plugin_utils.fake_clock import FakeClock

DROP = AnsibleConnectionFailure("simulated: the network is down")
BOOT = 133_000_000_000_000_000


class FakeConnection:
    def __init__(self) -> None:
        self.resets = 0

    def close(self) -> None:
        pass

    def reset(self) -> None:
        self.resets += 1


class ScriptedHost:
    """Answers module calls from a script: a dict answer, or an exception to raise."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers = list(answers)
        self.calls: list[dict[str, Any]] = []
        self.uploads: list[tuple[str, str]] = []

    def run_host_module(self, name: str, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(args)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def transfer(self, local: str, remote: str) -> None:
        self.uploads.append((local, remote))


def poll(state: str | None, exit_code: int | None = None, run_id: str = "r1") -> dict[str, Any]:
    run = (
        None
        if state is None
        else {
            "run_id": run_id,
            "state": state,
            "source": "script",
            "exit_code": exit_code,
            "boot_time": BOOT if state == "finished" else None,
            "log_excerpt": "log",
            "log_path": "C:\\log",
        }
    )
    return {"boot_time": BOOT, "run": run, "cloud_assistant_agent": None}


def flow(
    host: ScriptedHost, clock: FakeClock, install: float = 100, reconnect: float = 30, progress: Any = None
) -> tuple[InstallFlow, FakeConnection]:
    connection = FakeConnection()
    timeouts = Timeouts(install=install, poll_interval=5, reconnect=reconnect)
    return InstallFlow(
        host.run_host_module, host.transfer, connection, {}, timeouts, 20, host="web01", sleep=clock.sleep,
        clock=clock, progress=progress or (lambda line: None),
    ), connection


def test_a_nic_drop_while_polling_costs_reconnects_not_the_task():
    clock = FakeClock()
    host = ScriptedHost([poll("running"), DROP, DROP, poll("running"), poll("finished", 0)])
    install, connection = flow(host, clock)
    run = install.wait("r1")
    assert (run.state, run.exit_code) == ("finished", 0)
    assert install.reconnector.failures == 2 and connection.resets == 2
    assert [call["_operation"] for call in host.calls] == ["poll"] * 5
    assert all(call["_run_id"] == "r1" for call in host.calls)


def test_a_host_silent_longer_than_reconnect_timeout_is_unreachable():
    clock = FakeClock()
    host = ScriptedHost([DROP] * 20)
    install, _ = flow(host, clock, reconnect=12)
    with pytest.raises(AnsibleConnectionFailure) as err:
        install.wait("r1")
    assert "has not answered for 12 s (retried for up to 12 s)" in str(err.value)


def test_an_install_running_past_install_timeout_is_left_running_and_said_so():
    clock = FakeClock()
    host = ScriptedHost([poll("running")] * 10)
    install, _ = flow(host, clock, install=12)
    with pytest.raises(InstallFailed) as err:
        install.wait("r1")
    assert "still running after install_timeout=12 s" in str(err.value) and "Re-run to wait" in str(err.value)
    assert clock.now == pytest.approx(12)


def test_a_run_the_host_does_not_know_fails():
    clock = FakeClock()
    install, _ = flow(ScriptedHost([poll(None)]), clock)
    with pytest.raises(InstallFailed, match="no record of install run r1"):
        install.wait("r1")


def test_a_lost_start_answer_is_checked_by_run_id_and_not_sent_twice():
    clock = FakeClock()
    host = ScriptedHost([DROP, DROP, poll("running")])
    install, _ = flow(host, clock)
    install.start("r1", source="script", payload="C:\\x.ps1", checksum="ab", url=None)
    assert [call["_operation"] for call in host.calls] == ["start", "poll", "poll"]
    assert host.calls[0] == {
        "_operation": "start",
        "_run_id": "r1",
        "_log_lines": 20,
        "_source": "script",
        "_payload": "C:\\x.ps1",
        "_checksum": "ab",
    }


def test_a_start_that_never_reached_the_host_is_sent_again():
    clock = FakeClock()
    host = ScriptedHost([DROP, poll(None), {"changed": True}])
    install, _ = flow(host, clock)
    install.start("r1", source="cloud_assistant")
    assert [call["_operation"] for call in host.calls] == ["start", "poll", "start"]


def test_record_writes_a_cloud_assistant_api_run_and_a_lost_answer_is_retried_with_the_same_run_id():
    clock = FakeClock()
    host = ScriptedHost([DROP, {"changed": False, "run": poll("finished", 3010)["run"]}])
    install, connection = flow(host, clock)
    install.record("r1", exit_code=3010, invoke_id="t-1", rollout_id="CHG-42", version_before="62.77.104.58011",
                   build_before=58011)
    expected = {
        "_operation": "record",
        "_run_id": "r1",
        "_source": "cloud_assistant_api",
        "_log_lines": 20,
        "_exit_code": 3010,
        "_invoke_id": "t-1",
        "_rollout_id": "CHG-42",
        "_version_before": "62.77.104.58011",
        "_build_before": 58011,
    }
    # recording one run id twice changes nothing on the host, so the retry is safe
    assert host.calls == [expected, expected] and connection.resets == 1


def test_stage_creates_the_run_directory_and_uploads_there(tmp_path):
    script = tmp_path / "InstallVirtIo.ps1"
    script.write_text("x")
    clock = FakeClock()
    host = ScriptedHost([{"run_dir": "C:\\ProgramData\\winfleet\\virtio_install\\r1"}])
    install, _ = flow(host, clock)
    payload = prepare_payload(validate_source("script", script_src=str(script)), "10.0.17763", str(tmp_path))
    assert install.stage("r1", payload) == "C:\\ProgramData\\winfleet\\virtio_install\\r1\\InstallVirtIo.ps1"
    assert host.uploads == [(str(script), "C:\\ProgramData\\winfleet\\virtio_install\\r1\\InstallVirtIo.ps1")]


def test_reconnector_passes_other_errors_through():
    clock = FakeClock()
    reconnector = Reconnector(FakeConnection(), timeout=10, interval=1, sleep=clock.sleep, clock=clock)

    def boom() -> None:
        raise ValueError("not a connection problem")

    with pytest.raises(ValueError):
        reconnector.call("x", boom)
    assert reconnector.failures == 0


def test_prepare_payload_for_each_source(tmp_path):
    script = tmp_path / "InstallVirtIo.ps1"
    script.write_text("Write-Output 1")
    payload = prepare_payload(validate_source("script", script_src=str(script)), "10.0.17763", str(tmp_path))
    assert (payload.name, payload.checksum) == ("InstallVirtIo.ps1", sha256_file(str(script)))
    assert (
        prepare_payload(validate_source("script", script_url="https://x/y.ps1"), "10.0.17763", str(tmp_path))
        is None
    )
    assert prepare_payload(validate_source("cloud_assistant"), "10.0.17763", str(tmp_path)) is None

    directory = tmp_path / "pkg"
    (directory / "Win8" / "amd64").mkdir(parents=True)
    (directory / "Win8" / "amd64" / "viostor.inf").write_text("[Version]")
    work = tmp_path / "work"
    work.mkdir()
    payload = prepare_payload(validate_source("package", package_src=str(directory)), "6.3.9600", str(work))
    assert (payload.name, payload.driver_dir) == ("virtio_package.zip", "Win8")
    with zipfile.ZipFile(payload.local_path) as archive:
        assert "Win8/amd64/viostor.inf" in archive.namelist()
    payload = prepare_payload(
        validate_source("package", package_src=payload.local_path), "6.3.9600", str(work)
    )
    assert payload.driver_dir == "Win8"


def test_prepare_payload_checks_a_given_script_checksum(tmp_path):
    script = tmp_path / "InstallVirtIo.ps1"
    script.write_text("x")
    with pytest.raises(InputError) as err:
        prepare_payload(
            validate_source("script", script_src=str(script), script_checksum="0" * 64), "10.0", str(tmp_path)
        )
    assert err.value.field == "script_checksum"


def test_check_local_source_refuses_missing_or_wrong_files(tmp_path: Path):
    not_zip = tmp_path / "package.zip"
    not_zip.write_text("not a zip")
    with pytest.raises(InputError) as err:
        check_local_source(validate_source("package", package_src=str(not_zip)))
    assert err.value.field == "package_src" and "neither a directory nor a .zip" in err.value.message
    with pytest.raises(InputError) as err:
        check_local_source(validate_source("script", script_src=str(tmp_path / "missing.ps1")))
    assert err.value.field == "script_src"


def logged(state: str, log: str) -> dict[str, Any]:
    answer = poll(state, 0 if state == "finished" else None)
    answer["run"]["log_excerpt"] = log
    return answer


def test_waiting_prints_host_phase_and_elapsed_on_each_change_and_every_30_s_otherwise():
    clock = FakeClock()
    started = "starting the script install (run r1)"
    answers = [logged("running", started)] * 8  # polls at 5..40 s: a heartbeat at 35 s
    answers += [DROP, logged("running", started + "\ndownloading\x1b[2J the driver"), logged("finished", "done")]
    host = ScriptedHost(answers)
    lines: list[str] = []
    install, _ = flow(host, clock, progress=lines.append)
    install.wait("r1")
    assert lines == [
        "virtio_install web01: install run r1 running, log: starting the script install (run r1); elapsed 0:00:05",
        "virtio_install web01: install run r1 running, log: starting the script install (run r1); elapsed 0:00:35",
        "virtio_install web01: connection lost, reconnecting (installing a network driver resets the network for a "
        "few seconds); elapsed 0:00:45",
        "virtio_install web01: install run r1 running, log: downloading [2J the driver; elapsed 0:00:50",
    ]  # the end of the run is the task's result, not a progress line
