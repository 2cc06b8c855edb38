"""The argument spec of cau_hotfix_root checks the shape and types of the rules (Ansible's own
validator, as ``WinfleetAction.run`` calls it), so ``_hotfix_config`` does not check them again."""

from __future__ import annotations

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.winfleet.updates.plugins.action.cau_hotfix_root import ActionModule

RULE = {
    "name": "FirmwareUpdate",
    "template": {"path": "$update$", "parameters": "/s"},
    "exit_conditions": {"success": [0]},
}


def validate(**options):
    return ArgumentSpecValidator(ActionModule.ARGUMENT_SPEC).validate({"path": "D:\\CauHotfix", **options})


@pytest.mark.parametrize("value", [True, "yes", "True", "on"])
def test_always_reboot_accepts_yaml_and_survey_booleans(value):
    result = validate(folder_rules=[{**RULE, "always_reboot": value}])
    assert not result.error_messages and result.validated_parameters["folder_rules"][0]["always_reboot"] is True


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"folder_rules": [{**RULE, "always_reboot": "maybe"}]}, "always_reboot"),
        ({"folder_rules": [{**RULE, "extra": 1}]}, "extra"),
        ({"folder_rules": {"name": "x"}}, "folder_rules"),
        ({"folder_rules": [{"name": "x", "exit_conditions": {"success": [0]}}]}, "template"),
        ({"extension_rules": [{**RULE, "template": "wusa.exe"}]}, "template"),
        ({"folder_rules": [{**RULE, "exit_conditions": {"not_applicable": [2]}}]}, "success"),
    ],
)
def test_a_rule_of_the_wrong_shape_is_refused_by_the_argument_spec(options, fragment):
    messages = validate(**options).error_messages
    assert messages and any(fragment in m for m in messages)


def test_every_shape_problem_is_reported_at_once():
    messages = validate(
        folder_rules=[{**RULE, "always_reboot": "maybe"}], extension_rules=[{**RULE, "extra": 1}]
    ).error_messages
    assert any("always_reboot" in m for m in messages) and any("extra" in m for m in messages)
