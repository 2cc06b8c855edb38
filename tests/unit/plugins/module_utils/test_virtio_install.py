"""Decisions of the virtio install: source options, the host's run record, what a host needs."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._virtio_install import (
    HostStatus,
    LastRun,
    decide,
    package_driver_dir,
    package_os_folder,
    parse_host_status,
    run_succeeded,
    source_problem,
    validate_source,
    validate_timeouts,
)

BOOT = 133_000_000_000_000_000
SHA = "ab" * 32


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"source": "script", "script_src": "/x/InstallVirtIo.ps1"}, {"script_src": "/x/InstallVirtIo.ps1"}),
        (
            {"source": "script", "script_url": "https://example.com/I.ps1", "script_checksum": SHA.upper()},
            {"script_url": "https://example.com/I.ps1", "script_checksum": SHA},
        ),
        ({"source": "package", "package_src": "/p.zip"}, {"package_src": "/p.zip"}),
        ({"source": "cloud_assistant", "script_src": "", "package_src": None}, {}),
    ],
)
def test_valid_sources(kwargs, expected):
    source = validate_source(**kwargs)
    assert source.source == kwargs["source"]
    for key in ("script_src", "script_url", "script_checksum", "package_src"):
        assert getattr(source, key) == expected.get(key)


@pytest.mark.parametrize(
    ("kwargs", "field", "text"),
    [
        ({"source": "floppy"}, "source", "valid: script, package, cloud_assistant"),
        ({"source": "script"}, "script_src", "exactly one of script_src"),
        ({"source": "script", "script_src": "/a", "script_url": "https://b/c"}, "script_src", "exactly one"),
        ({"source": "script", "script_url": "ftp://host/I.ps1"}, "script_url", "http or https URL"),
        ({"source": "script", "script_url": "https://"}, "script_url", "http or https URL"),
        (
            {"source": "script", "script_src": "/a", "script_checksum": "abc"},
            "script_checksum",
            "64 hexadecimal",
        ),
        (
            {"source": "script", "script_src": "/a", "package_src": "/p"},
            "package_src",
            "only used with source=package",
        ),
        ({"source": "package"}, "package_src", "source=package needs package_src"),
        (
            {"source": "package", "package_src": "/p", "script_url": "https://x/y"},
            "script_url",
            "only used with source=script, but source=package",
        ),
        ({"source": "cloud_assistant", "script_src": "/a"}, "script_src", "only used with source=script"),
    ],
)
def test_invalid_sources_name_the_field(kwargs, field, text):
    with pytest.raises(InputError) as err:
        validate_source(**kwargs)
    assert err.value.field == field and text in err.value.message


def test_timeouts():
    assert validate_timeouts(1800, 5, 300).poll_interval == 5.0


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ((0, 5, 300), "install_timeout"),
        ((10, -1, 300), "poll_interval"),
        ((10, 5, True), "reconnect_timeout"),
        ((10, 20, 30), "poll_interval"),
        (("10", 5, 30), "install_timeout"),
    ],
)
def test_bad_timeouts_name_the_field(values, field):
    with pytest.raises(InputError) as err:
        validate_timeouts(*values)
    assert err.value.field == field


def _run(
    state: str = "finished", exit_code: int | None = 0, boot_time: int | None = BOOT, run_id: str = "r1"
) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "state": state,
        "source": "script",
        "exit_code": exit_code,
        "boot_time": boot_time,
        "log_excerpt": "line",
        "log_path": "C:\\log",
    }


def test_parse_host_status_reads_the_poll_answer():
    status = parse_host_status({"boot_time": BOOT, "run": _run(), "cloud_assistant_agent": "C:\\a.exe"})
    assert status.boot_time == BOOT and status.cloud_assistant_agent == "C:\\a.exe"
    assert status.last_run == LastRun("r1", "finished", "script", 0, BOOT, "line", "C:\\log")
    assert parse_host_status({"boot_time": BOOT, "run": None, "cloud_assistant_agent": ""}).last_run is None


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"run": None}, "boot_time"),
        ({"boot_time": "yesterday"}, "boot_time"),
        ({"boot_time": BOOT, "run": []}, "run"),
        ({"boot_time": BOOT, "run": _run(state="done")}, "run.state"),
        ({"boot_time": BOOT, "run": _run(run_id="")}, "run.run_id"),
        ({"boot_time": BOOT, "run": _run(exit_code="0")}, "run.exit_code"),
    ],
)
def test_a_malformed_poll_answer_names_its_field(raw, field):
    with pytest.raises(InputError) as err:
        parse_host_status(raw)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("state", "exit_code", "succeeded"),
    [
        ("finished", 0, True),
        ("finished", 3010, True),
        ("finished", 1641, True),  # the installer started the restart itself
        ("finished", 1603, False),
        ("running", None, False),
        ("lost", None, False),
    ],
)
def test_run_succeeded(state, exit_code, succeeded):
    assert run_succeeded(LastRun("r", state, "script", exit_code, BOOT, "", None)) is succeeded


def _assessment(build: int | None = 58011, virtio: bool = True, supported: bool = True) -> dict[str, Any]:
    missing = [
        name
        for name, minimum in (("online_resize", 58011), ("serial_query", 58017))
        if build is None or build < minimum
    ]
    return {
        "is_virtio_guest": virtio,
        "virtio_build": build,
        "update_supported": supported,
        "unsupported_reason": None
        if supported
        else "Windows NT 5.2 is older than Windows Server 2008 (NT 6.0)",
        "required_capabilities": ["online_resize", "serial_query"],
        "missing_capabilities": missing if virtio else [],
        "update_needed": virtio and bool(missing),
    }


SECOND = 10_000_000  # FileTime units


def _status(run: dict[str, Any] | None = None, boot_time: int = BOOT) -> HostStatus:
    return parse_host_status({"boot_time": boot_time, "run": run})


@pytest.mark.parametrize(
    ("assessment", "status", "action", "reboot", "text"),
    [
        (_assessment(virtio=False, build=None), _status(), "not_virtio", False, "not a virtio guest"),
        (_assessment(supported=False), _status(), "unsupported", False, "older than Windows Server 2008"),
        # refusals win even over a record of an earlier run
        (
            _assessment(supported=False),
            _status(_run(state="running")),
            "unsupported",
            False,
            "cannot be updated",
        ),
        (_assessment(), _status(_run(state="running", exit_code=None)), "attach", True, "still running"),
        # finished, same boot: only the reboot is missing, even when the file on disk is already new
        (_assessment(build=58017), _status(_run()), "reboot_pending", True, "only the reboot is missing"),
        (_assessment(), _status(_run(exit_code=3010)), "reboot_pending", True, "exit code 3010"),
        # WMI's LastBootUpTime moves by sub-milliseconds between reads without a reboot
        (_assessment(), _status(_run(), boot_time=BOOT + 4_999), "reboot_pending", True, "only the reboot"),
        (_assessment(), _status(_run(), boot_time=BOOT - 20_000), "reboot_pending", True, "only the reboot"),
        (_assessment(), _status(_run(), boot_time=BOOT + 2 * SECOND), "reboot_pending", True, "only the reboot"),
        # finished, rebooted since: the probe decides
        (
            _assessment(build=58017),
            _status(_run(), boot_time=BOOT + 90 * SECOND),
            "compliant",
            False,
            "nothing to install",
        ),
        (_assessment(), _status(_run(), boot_time=BOOT + 90 * SECOND), "install", True, "lacks serial_query"),
        (
            _assessment(),
            _status(_run(exit_code=1603)),
            "install",
            True,
            "failed with exit code 1603; installing again",
        ),
        (
            _assessment(),
            _status(_run(state="lost", exit_code=None)),
            "install",
            True,
            "stopped without a result",
        ),
        (
            _assessment(build=58017),
            _status(),
            "compliant",
            False,
            "already allows online_resize, serial_query",
        ),
        (_assessment(build=57000), _status(), "install", True, "lacks online_resize, serial_query"),
    ],
)
def test_decide(assessment, status, action, reboot, text):
    decision = decide(assessment, status)
    assert (decision.action, decision.reboot_required) == (action, reboot)
    assert text in decision.msg
    assert decision.changes_host is (action in ("install", "attach"))


def test_cloud_assistant_needs_the_agent():
    source = validate_source("cloud_assistant")
    assert "Cloud Assistant agent is not installed" in source_problem(source, _status())
    assert (
        source_problem(source, parse_host_status({"boot_time": BOOT, "cloud_assistant_agent": "C:\\a.exe"}))
        is None
    )
    assert source_problem(validate_source("script", script_src="/a"), _status()) is None


@pytest.mark.parametrize(
    ("os_version", "folder"),
    [
        ("10.0.17763", "win10"),
        ("10.0.20348", "win10"),
        ("6.3.9600", "Win8"),
        ("6.2.9200", "Win8"),
        ("6.1.7601", "win7"),
        ("6.0.6002", "Wlh"),
    ],
)
def test_package_os_folder(os_version, folder):
    assert package_os_folder(os_version) == folder


@pytest.mark.parametrize("os_version", ["5.2.3790", "11", "x.y"])
def test_package_os_folder_refuses_unknown_versions(os_version):
    with pytest.raises(InputError) as err:
        package_os_folder(os_version)
    assert err.value.field == "os_version"


@pytest.mark.parametrize(
    ("names", "folder", "expected"),
    [
        (["win10/amd64/viostor.inf", "win10/x86/viostor.inf", "Win8/amd64/viostor.inf"], "win10", "win10"),
        (["WIN8/AMD64/VIOSTOR.INF"], "Win8", "Win8"),
        (["win10\\amd64\\netkvm.inf"], "win10", "win10"),
        (["viostor.inf", "viostor.sys"], "win7", ""),
        (["/win7/viostor.inf"], "win7", "win7"),
    ],
)
def test_package_driver_dir(names, folder, expected):
    assert package_driver_dir(names, folder) == expected


def test_a_package_without_the_folder_lists_what_it_has():
    with pytest.raises(InputError) as err:
        package_driver_dir(["win10/amd64/viostor.inf", "readme.txt"], "Win8")
    assert err.value.field == "package_src"
    assert (
        "no .inf files under 'Win8'" in err.value.message and "top-level folders: win10" in err.value.message
    )


# --- pnputil per INF (https://learn.microsoft.com/windows-hardware/drivers/devtest/pnputil-return-values)


def _package_run(*codes: int) -> dict[str, Any]:
    infs = [
        {"inf": f"C:\\p\\d{index}.inf", "exit_code": code, "command": f"pnputil.exe /add-driver d{index}.inf /install"}
        for index, code in enumerate(codes)
    ]
    return {**_run(), "source": "package", "infs": infs}


@pytest.mark.parametrize(
    ("codes", "succeeded", "outcomes"),
    [
        ((0, 0), True, ["installed", "installed"]),
        ((0, 3010), True, ["installed", "reboot_required"]),
        # 259: no matching device, or an equal or better driver already installed: not a failure
        ((0, 259), True, ["installed", "not_applicable"]),
        ((259, 259), True, ["not_applicable", "not_applicable"]),
        ((0, 5), False, ["installed", "failed"]),
        ((259, 1), False, ["not_applicable", "failed"]),
    ],
)
def test_a_package_run_is_judged_per_inf_by_pnputils_return_values(codes, succeeded, outcomes):
    run = parse_host_status({"boot_time": BOOT, "run": {**_package_run(*codes), "exit_code": max(codes)}}).last_run
    assert run_succeeded(run) is succeeded
    assert [inf.outcome for inf in run.infs] == outcomes
    assert run.infs[0].as_dict()["command"].startswith("pnputil.exe /add-driver")


@pytest.mark.parametrize(
    ("infs", "field"),
    [("x", "run.infs"), ([{"exit_code": 0}], "run.infs[0]"), ([{"inf": "a.inf", "exit_code": "0"}], "run.infs[0].exit_code")],
)
def test_a_malformed_inf_list_names_its_field(infs, field):
    with pytest.raises(InputError) as err:
        parse_host_status({"boot_time": BOOT, "run": {**_run(), "infs": infs}})
    assert err.value.field == field


def test_a_worker_that_never_started_is_installed_again_and_said_so():
    status = parse_host_status({"boot_time": BOOT, "run": _run(state="not_started", exit_code=None, boot_time=None)})
    decision = decide(_assessment(), status)
    assert decision.action == "install" and "never started" in decision.msg


# --- a script URL may carry a signature token


@pytest.mark.parametrize(
    ("url", "checksum", "message"),
    [
        ("http://example.com/I.ps1?Signature=SECRET", None, "http://example.com/I.ps1?Signature=REDACTED is plain http: use https"),
        ("ftp://example.com/I.ps1?Signature=SECRET", None, "got a value starting 'ftp://example.com/I.ps1?Signature=REDACTED'"),
    ],
)
def test_a_script_url_is_refused_without_repeating_it(url, checksum, message):
    with pytest.raises(InputError) as err:
        validate_source("script", script_url=url, script_checksum=checksum)
    assert err.value.field == "script_url" and message in err.value.message
    assert "SECRET" not in err.value.message


def test_plain_http_is_accepted_with_a_checksum_and_never_described_in_full():
    source = validate_source("script", script_url="http://example.com/I.ps1?Signature=SECRET", script_checksum=SHA)
    assert source.script_url.endswith("SECRET")  # the host still needs it
    assert source.describe() == "script http://example.com/I.ps1?Signature=REDACTED"


def test_a_host_below_powershell_5_1_is_refused_as_unsupported():
    from ansible_collections.winfleet.updates.plugins.module_utils._virtio import assess_powershell_too_old

    assessment = assess_powershell_too_old(["online_resize"], {"online_resize": 58011})
    decision = decide(assessment, _status())
    assert decision.action == "unsupported" and "older than 5.1" in decision.msg


def _rollout_run(rollout_id: str | None = "CHG-1", exit_code: int = 0, build_before: int | None = 58011) -> dict[str, Any]:
    return {**_run(exit_code=exit_code), "rollout_id": rollout_id, "version_before": "62.77.104.58011",
            "build_before": build_before, "finished": "2026-12-01T10:00:00+00:00"}


REBOOTED = BOOT + 90 * SECOND


@pytest.mark.parametrize(
    ("assessment", "run", "boot_time", "rollout_id", "action"),
    [
        # the host's record: this rollout installed, the host restarted into the new build
        (_assessment(build=58017), _rollout_run(), REBOOTED, "CHG-1", "updated"),
        (_assessment(build=58017), _rollout_run(build_before=None), REBOOTED, "CHG-1", "updated"),
        # another rollout, no rollout id, an old record without one: not this rollout's update
        (_assessment(build=58017), _rollout_run(), REBOOTED, "CHG-2", "compliant"),
        (_assessment(build=58017), _rollout_run(), REBOOTED, None, "compliant"),
        (_assessment(build=58017), _rollout_run(rollout_id=None), REBOOTED, "CHG-1", "compliant"),
        # not restarted since: only the reboot is missing
        (_assessment(build=58017), _rollout_run(), BOOT, "CHG-1", "reboot_pending"),
        # the install failed, or the build did not move: not an update
        (_assessment(build=58017), _rollout_run(exit_code=1603), REBOOTED, "CHG-1", "compliant"),
        (_assessment(build=58017), _rollout_run(build_before=58017), REBOOTED, "CHG-1", "compliant"),
        # restarted but still lacking a capability: install again
        (_assessment(build=58011), _rollout_run(), REBOOTED, "CHG-1", "install"),
    ],
)
def test_an_install_of_this_rollout_that_took_effect_is_updated(assessment, run, boot_time, rollout_id, action):
    decision = decide(assessment, _status(run, boot_time=boot_time), rollout_id)
    assert decision.action == action, decision
    if action == "updated":
        assert not decision.reboot_required and not decision.changes_host
        assert f"rollout {rollout_id} updated this host" in decision.msg and "2026-12-01T10:00:00" in decision.msg


def test_the_run_record_fields_are_read_from_the_poll_answer():
    status = _status(_rollout_run())
    assert status.last_run is not None
    assert (status.last_run.rollout_id, status.last_run.version_before, status.last_run.build_before) == (
        "CHG-1", "62.77.104.58011", 58011)
    assert status.last_run.finished == "2026-12-01T10:00:00+00:00"
