"""Pure decisions of the rollout through the ECS API: install commands, decisions, published records."""

from __future__ import annotations

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils import _ecs_rollout as rollout
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_antivirus_script import (
    MARKER,
    antivirus_script,
    parse_antivirus_output,
)
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_cloud_assistant import (
    VIRTIO_COMMON_COMMAND,
    VIRTIO_PLUGIN_CONTENT,
)
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_probe_script import NOT_IN_POWERSHELL_2
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._preflight import validate
from ansible_collections.winfleet.updates.plugins.module_utils._rollout_report import rollout_row

SHA = "ab" * 32


@pytest.mark.parametrize(
    ("source", "options", "content_has", "command_id"),
    [
        ("cloud_assistant_api", {}, None, VIRTIO_COMMON_COMMAND),
        ("cloud_assistant_api", {"api_command_id": "c-mine"}, None, "c-mine"),
        ("cloud_assistant_api", {"api_content": "Write-Output 'x'"}, "Write-Output 'x'", None),
        ("cloud_assistant", {}, "--plugin=UpdateVirtIo", None),
        ("script", {"script_url": "https://mirror.example/InstallVirtIo.ps1", "script_checksum": SHA},
         "https://mirror.example/InstallVirtIo.ps1", None),
    ],
)
def test_install_command_per_source(source, options, content_has, command_id):
    command = rollout.install_command(source, **options)
    assert command.command_id == command_id
    if content_has is None:
        assert command.content is None
    else:
        assert content_has in command.content


def test_the_url_script_checks_the_checksum_and_quotes_the_url():
    command = rollout.install_command("script", script_url="https://h.example/it's/InstallVirtIo.ps1", script_checksum=SHA)
    assert "'https://h.example/it''s/InstallVirtIo.ps1'" in command.content
    assert f"$expected = '{SHA.upper()}'" in command.content
    assert rollout.install_command("cloud_assistant").content == VIRTIO_PLUGIN_CONTENT


def test_the_url_script_secures_its_folder_before_it_downloads_what_system_runs():
    """Any account may create folders in %ProgramData%: one made first could swap the script between
    the checksum and the run. The folder is checked (owner, no junction) or created protected first."""
    content = rollout.install_command("script", script_url="https://h.example/InstallVirtIo.ps1",
                                      script_checksum=SHA).content
    assert "function Initialize-TrustedFolder" in content
    secured = content.index("Initialize-TrustedFolder $dir")
    assert secured < content.index("DownloadFile(") and "New-Item" not in content


@pytest.mark.parametrize(
    ("source", "options", "field"),
    [
        ("package", {"package_src": "/tmp/pkg.zip"}, "package_src"),
        ("script", {"script_src": "/tmp/InstallVirtIo.ps1"}, "script_src"),
        ("script", {}, "script_src"),  # validate_source: one of script_src / script_url
        ("script", {"script_url": "ftp://x/InstallVirtIo.ps1"}, "script_url"),
    ],
)
def test_sources_that_need_winrm_or_are_malformed_are_refused(source, options, field):
    with pytest.raises(InputError) as caught:
        rollout.install_command(source, **options)
    assert caught.value.field == field


@pytest.mark.parametrize("script", [
    antivirus_script(["SAVService"], "stop"),
    antivirus_script(["ekrn", "O'Brien"], "start"),
    rollout.install_command("script", script_url="https://h.example/InstallVirtIo.ps1").content,
])
def test_scripts_use_only_powershell_2(script):
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("#"))
    for construct in NOT_IN_POWERSHELL_2:
        assert construct not in code


def test_antivirus_script_quotes_names_and_refuses_defender():
    assert "$services = @('ekrn', 'O''Brien')" in antivirus_script(["ekrn", "O'Brien"], "start")
    with pytest.raises(InputError, match="Microsoft Defender"):
        antivirus_script(["WinDefend"], "stop")
    with pytest.raises(InputError, match="at least one"):
        antivirus_script([], "stop")
    with pytest.raises(InputError, match="stop, start"):
        antivirus_script(["ekrn"], "pause")


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (f"noise\n{MARKER}" + '{"action":"stop","done":["A","B"],"missing":["C"]}',
         {"done": ["A", "B"], "missing": ["C"], "paused": []}),
        ("\ufeff" + MARKER + '{"action":"start","done":[],"missing":[]}', {"done": [], "missing": [], "paused": []}),
        # the host's record after the call: names an interrupted run paused too
        (MARKER + '{"action":"stop","done":[],"missing":[],"paused":["SAVService"]}',
         {"done": [], "missing": [], "paused": ["SAVService"]}),
    ],
)
def test_antivirus_output_is_read(output, expected):
    assert parse_antivirus_output(output) == expected


@pytest.mark.parametrize(("output", "match"), [("", "no result line"), (MARKER + "{", "not valid JSON"),
                                               (MARKER + '{"done": 1}', "lacks done")])
def test_bad_antivirus_output_is_named(output, match):
    with pytest.raises(InputError, match=match):
        parse_antivirus_output(output)


PROBE_OLD = {"ecs_instance_id": "i-1", "is_virtio_guest": True, "update_supported": True, "update_needed": True,
             "virtio_build": 58011, "file_version": "62.77.104.58011", "missing_capabilities": ["serial_query"],
             "required_capabilities": ["online_resize", "serial_query"]}
PROBE_NEW = {**PROBE_OLD, "update_needed": False, "virtio_build": 58017, "file_version": "62.77.104.58017",
             "missing_capabilities": [], "capabilities": {"online_resize": True, "serial_query": True}}


@pytest.mark.parametrize(
    ("probe", "decision", "unreachable"),
    [
        (PROBE_OLD, "install", False),
        (PROBE_NEW, "compliant", False),
        ({**PROBE_OLD, "is_virtio_guest": False}, "not_virtio", False),
        ({**PROBE_OLD, "update_supported": False, "unsupported_reason": "Windows Server 2003"}, "unsupported", False),
        ({"ecs_instance_id": "i-1", "unreachable": True, "msg": "agent offline"}, None, True),
        ({"ecs_instance_id": "i-1", "failed": True, "msg": "script failed"}, None, False),
    ],
)
def test_decision_record_uses_the_winrm_decision(probe, decision, unreachable):
    record = rollout.decision_record(probe)
    assert (record["decision"], record["unreachable"]) == (decision, unreachable)
    assert (record["error"] is not None) == (decision is None)


def _row(decided, verify_probe=None, check_mode=False, install=None, error=None, rebooted=True, unreachable=False):
    update = rollout.update_record(decided, source="cloud_assistant_api", snapshot_provider="alicloud_ecs",
                                   antivirus_services=["SAVService"], check_mode=check_mode, snapshot_ids=["s-1"],
                                   antivirus_paused=["SAVService"], install=install, error=error)
    verify = rollout.verify_record(verify_probe, rebooted=rebooted, check_mode=check_mode, unreachable=unreachable,
                                   error=error if install else None)
    return rollout_row("web01", {"update": update, "verify": verify, "check_mode": check_mode,
                                 "error": update["error"] or verify["error"]})


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"decided": rollout.decision_record(PROBE_OLD), "verify_probe": PROBE_NEW, "install": {"succeeded": True}}, "updated"),
        ({"decided": rollout.decision_record(PROBE_OLD), "check_mode": True, "rebooted": False}, "would_update"),
        ({"decided": rollout.decision_record(PROBE_NEW), "rebooted": False}, "compliant"),
        ({"decided": rollout.decision_record({"unreachable": True, "msg": "agent offline"}), "rebooted": False},
         "unreachable"),
        ({"decided": rollout.decision_record(PROBE_OLD), "install": {"succeeded": False}, "error": "install failed",
          "rebooted": False}, "failed"),
        ({"decided": rollout.decision_record(PROBE_OLD), "install": {"succeeded": True}, "error": "did not come back",
          "unreachable": True}, "unreachable"),
        ({"decided": rollout.decision_record(PROBE_OLD), "verify_probe": PROBE_OLD, "install": {"succeeded": True},
          "error": "verification failed"}, "failed"),
    ],
)
def test_published_records_give_the_winrm_statuses(kwargs, status):
    assert _row(**kwargs)["status"] == status


def test_verification_error_names_what_is_missing():
    assert rollout.verification_error("web01", PROBE_NEW) is None
    assert "still lacks serial_query" in rollout.verification_error("web01", PROBE_OLD)
    assert "did not answer" in rollout.verification_error("web01", {"unreachable": True, "msg": "offline"})


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"virtio_transport": "ssh"}, "virtio_transport"),
        ({"virtio_transport": "ecs_api", "virtio_source": "script", "virtio_script_src": "/x/InstallVirtIo.ps1"},
         "virtio_script_src"),
        ({"virtio_transport": "ecs_api", "virtio_source": "package", "virtio_package_src": "/x/pkg.zip"},
         "virtio_package_src"),
        ({"virtio_transport": "ecs_api", "virtio_source": "cloud_assistant_api", "virtio_snapshot_provider": "custom",
          "snapshot_custom_tasks": "snap.yml"}, "virtio_snapshot_provider"),
    ],
)
def test_preflight_refuses_what_the_api_path_cannot_do_naming_the_variable(variables, field):
    with pytest.raises(InputError) as caught:
        validate("virtio_rollout", variables)
    assert f"{field}:" in str(caught.value)


@pytest.mark.parametrize("variables", [
    {"virtio_transport": "winrm", "virtio_source": "script", "virtio_script_src": "/x/InstallVirtIo.ps1"},
    {"virtio_transport": "ecs_api", "virtio_source": "cloud_assistant_api", "virtio_snapshot_provider": "alicloud_ecs"},
    {"virtio_transport": "ecs_api", "virtio_source": "script", "virtio_script_url": "https://h.example/InstallVirtIo.ps1"},
])
def test_preflight_accepts_what_each_transport_can_do(variables):
    validate("virtio_rollout", variables)
