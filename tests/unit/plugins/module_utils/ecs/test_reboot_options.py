"""action=reboot refuses a command instead of dropping it silently."""

from __future__ import annotations

import pytest
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_cloud_assistant import check_action_options
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError


@pytest.mark.parametrize(
    ("content", "command_id", "field"),
    [("Restart-Computer", None, "content"), (None, "c-hz01", "command_id")],
)
def test_a_command_with_action_reboot_is_refused(content, command_id, field):
    with pytest.raises(InputError, match=f"{field}: is only used with action=run"):
        check_action_options("reboot", content=content, command_id=command_id)


@pytest.mark.parametrize(
    ("action", "content"), [("reboot", None), ("reboot", ""), ("run", "Write-Output 1")]
)
def test_what_each_action_takes_passes(action, content):
    check_action_options(action, content=content)
