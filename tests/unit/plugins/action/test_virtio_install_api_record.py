"""virtio_install's api_install: the record of an ECS API install, sent to the host as a finished run."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from ansible.errors import AnsibleConnectionFailure
from ansible_collections.winfleet.updates.plugins.action import virtio_install
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._virtio_install import InstallSource, validate_source

API_INSTALL = {"exit_code": 3010, "invoke_id": "t-1", "version_before": "62.77.104.58011", "build_before": 58011}


class RecordingFlow:
    """Stands in for InstallFlow: keeps what would be recorded, or loses the connection."""

    def __init__(self, error: Exception | None = None) -> None:
        self.records: list[tuple[str, dict[str, Any]]] = []
        self.error = error

    def record(self, run_id: str, **options: Any) -> None:
        if self.error:
            raise self.error
        self.records.append((run_id, options))


def action(check_mode: bool = False) -> virtio_install.ActionModule:
    plugin = virtio_install.ActionModule.__new__(virtio_install.ActionModule)
    plugin._task = SimpleNamespace(check_mode=check_mode)  # pylint: disable=protected-access
    return plugin


def test_the_record_carries_the_rollout_the_versions_before_and_the_invocation():
    flow = RecordingFlow()
    result = action()._record_api_install(flow, validate_source("cloud_assistant"), API_INSTALL, "CHG-42")
    ((run_id, options),) = flow.records
    assert options == {"exit_code": 3010, "invoke_id": "t-1", "rollout_id": "CHG-42",
                       "version_before": "62.77.104.58011", "build_before": 58011}
    assert (result["changed"], result["decision"], result["run_id"], result["reboot_required"]) == (
        True, "install", run_id, True)


def test_check_mode_records_nothing():
    flow = RecordingFlow()
    result = action(check_mode=True)._record_api_install(flow, validate_source("cloud_assistant"), API_INSTALL, None)
    assert flow.records == [] and result["msg"] == "check mode: would record invocation t-1 on the host"


@pytest.mark.parametrize("source", ["script", "package"])
def test_another_source_is_refused_naming_the_option(source):
    given = InstallSource(source=source, script_src="C:/x", script_url=None, script_checksum=None, package_src="C:/p")
    with pytest.raises(InputError) as err:
        action()._record_api_install(RecordingFlow(), given, API_INSTALL, None)
    assert err.value.field == "api_install" and f"got source={source}" in str(err.value)


def test_a_host_lost_for_the_record_is_unreachable_and_says_the_install_ended():
    flow = RecordingFlow(AnsibleConnectionFailure("no answer"))
    result = action()._record_api_install(flow, validate_source("cloud_assistant"), API_INSTALL, "CHG-42")
    assert result["unreachable"] is True
    assert result["msg"].startswith("the install through the ECS API (invocation t-1, exit code 3010) ended, but its "
                                    "run record could not be written on the host: no answer")
