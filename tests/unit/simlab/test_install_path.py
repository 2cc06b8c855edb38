"""The lab's install path: fleet keys, the host's timeline (install, NIC drop, reboot), win_reboot."""

from __future__ import annotations

import base64
import json
import time

import pytest

from tests.simlab import raw, winhost
from tests.simlab.fleet import FleetError, load_fleet


def _fleet(tmp_path, text):
    path = tmp_path / "fleet.yml"
    path.write_text(text)
    return load_fleet(path)


def test_install_keys_default_to_a_reachable_ecs_guest(tmp_path):
    host = _fleet(tmp_path, "hosts: {a: null, b: null}")["hosts"]["a"]
    assert (host["internet"], host["cloud_assistant"], host["data_disks"], host["antivirus"]) == (
        True,
        True,
        0,
        [],
    )
    assert host["update"] == {"to": "62.77.104.58017", "duration_s": None, "exit_code": 0}
    assert host["faults"] == {"nic_drop_s": 10.0, "reboot_s": 60.0, "never_returns": False}


def test_install_keys_are_read_and_partial_mappings_keep_defaults(tmp_path):
    host = _fleet(
        tmp_path,
        """
hosts:
  a:
    internet: false
    data_disks: 4
    antivirus: [{service: SAVService, running: true}, {service: ekrn}]
    update: {exit_code: 1603}
    faults: {never_returns: true}
""",
    )["hosts"]["a"]
    assert host["antivirus"] == [
        {"service": "SAVService", "running": True},
        {"service": "ekrn", "running": True},
    ]
    assert host["update"]["exit_code"] == 1603 and host["update"]["to"] == "62.77.104.58017"
    assert host["faults"]["never_returns"] is True and host["faults"]["reboot_s"] == 60.0
    assert winhost.update_settings(host)["duration_s"] == 90.0  # 30 s + 15 s per data disk


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hosts: {a: {internet: 'yes'}}", "hosts.a.internet: expected true or false"),
        ("hosts: {a: {data_disks: -1}}", "hosts.a.data_disks: expected a whole number >= 0"),
        ("hosts: {a: {antivirus: SAVService}}", "hosts.a.antivirus: expected a list"),
        ("hosts: {a: {antivirus: [{running: true}]}}", "hosts.a.antivirus[0]: needs service"),
        (
            "hosts: {a: {update: {to: '58017'}}}",
            "hosts.a.update.to: expected the version the installer leaves",
        ),
        (
            "hosts: {a: {update: {exit_code: 'ok'}}}",
            "hosts.a.update.exit_code: expected an installer exit code",
        ),
        (
            "hosts: {a: {faults: {nic_drop: 10}}}",
            "hosts.a.faults: unknown key(s) nic_drop; valid: never_returns, nic_drop_s, reboot_s",
        ),
    ],
)
def test_malformed_install_keys_are_named(tmp_path, text, message):
    with pytest.raises(FleetError) as err:
        _fleet(tmp_path, text)
    assert message in str(err.value)


def _host(**faults):
    return {
        "name": "a",
        "os_version": "10.0.17763",
        "drivers": {"viostor.sys": {"file_version": "62.77.104.58011"}},
        "update": {"to": "62.77.104.58017", "duration_s": 30.0, "exit_code": 0},
        "faults": {"nic_drop_s": 9.0, "reboot_s": 60.0, "never_returns": False, **faults},
        "events": [],
    }


def test_install_timeline_nic_drop_then_staged_driver_applied_at_boot(monkeypatch):
    lab = {"time_scale": 1.0}
    clock = [1000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    state = _host()
    winhost.start_install(state, lab, "r1", "script")
    assert raw.unreachable_reason(state, lab) is None
    clock[0] = 1011.0  # a third of 30 s in: the NIC driver is being replaced for 9 s
    assert "NIC driver" in raw.unreachable_reason(state, lab)
    clock[0] = 1030.0
    assert raw.unreachable_reason(state, lab) is None
    assert state["virtio_runs"]["r1"]["state"] == "finished" and state["pending_driver"] == "62.77.104.58017"
    assert state["drivers"]["viostor.sys"]["file_version"] == "62.77.104.58011"  # not before the reboot
    winhost.schedule_reboot(state, lab, 2)
    clock[0] = 1033.0
    assert raw.unreachable_reason(state, lab) == "the host is restarting"
    clock[0] = 1093.0
    assert raw.unreachable_reason(state, lab) is None
    assert state["drivers"]["viostor.sys"]["file_version"] == "62.77.104.58017"
    assert state["boot_time"] > winhost.INITIAL_BOOT_TIME  # a new boot: the pending install is done
    assert [e["event"] for e in state["events"]] == [
        "install_started",
        "install_finished",
        "reboot_requested",
        "went_down",
        "booted",
    ]


def test_a_reboot_during_the_install_loses_it_and_never_returns_keeps_the_host_down(monkeypatch):
    lab = {"time_scale": 1.0}
    clock = [0.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    state = _host(never_returns=True, nic_drop_s=0.0)
    winhost.start_install(state, lab, "r1", "package")
    winhost.schedule_reboot(state, lab, 0)
    clock[0] = 5000.0
    assert raw.unreachable_reason(state, lab) == "the host did not come back after its restart"
    assert state["virtio_runs"]["r1"]["state"] == "lost" and "pending_driver" not in state


def _encoded(script: str) -> str:
    return (
        "PowerShell -NoProfile -NonInteractive -EncodedCommand "
        + base64.b64encode(script.encode("utf-16-le")).decode()
    )


def test_win_reboot_commands(tmp_path):
    from tests.simlab.state import Lab

    (tmp_path / "lab.json").write_text(json.dumps({"time_scale": 0.0}))
    lab = Lab(tmp_path)
    state = _host()
    rc, out, _ = raw.run_raw(
        state, _encoded("(Get-CimInstance Win32_OperatingSystem).LastBootUpTime.ToFileTime()"), lab
    )
    assert (rc, int(out)) == (0, winhost.INITIAL_BOOT_TIME)
    rc, out, _ = raw.run_raw(
        state,
        _encoded("Remove-Item AutoLogonChecked\nC:\\Windows\\System32\\shutdown.exe /r /t 2 /c 'x'"),
        lab,
    )
    assert json.loads(out)["rc"] == 0 and state["logon_ready"] is False
    assert json.loads(raw.run_raw(state, _encoded("shutdown.exe /r /t 2"), lab)[1])["rc"] == 1190
    raw.unreachable_reason(state, lab.settings)  # time_scale 0: the reboot is already over
    rc, out, _ = raw.run_raw(
        state, _encoded("Get-Item -LiteralPath 'HKLM:\\...\\AutoLogonChecked'; 'success-1234-ab'"), lab
    )
    assert (rc, out.strip()) == (0, b"success-1234-ab")
    assert raw.run_raw(state, "Get-Something-Else", lab)[0] == 1


def test_an_installer_started_outside_the_module_leaves_its_last_run_txt_alone(monkeypatch):
    """Cloud Assistant runs the vendor installer without the collection's module: the host's
    last_run.txt (``virtio_last_run``) still names the module's own last run, as on a real host."""
    monkeypatch.setattr(time, "time", lambda: 0.0)
    state = {**_host(), "virtio_last_run": "module-run"}
    winhost.start_install(state, {"time_scale": 1.0}, "ca-1", "cloud_assistant_api")
    assert state["virtio_last_run"] == "module-run" and state["virtio_runs"]["ca-1"]["state"] == "running"
