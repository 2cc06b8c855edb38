"""Strings that reach a host or an API are checked whole: a trailing newline or a control character is refused.

Python's ``$`` matches before a trailing newline, so ``re.match(r"^x$", "x\\n")`` succeeds; every
validator below once let such a value through.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest
from ansible_collections.winfleet.updates.plugins.module_utils import (
    _alicloud,
    _antivirus,
    _cau_run,
    _ecs_cloud_assistant,
    _ecs_inventory,
    _ecs_snapshot,
    _hotfix_config,
    _hotfix_layout,
    _virtio,
    _virtio_install,
)
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError

CHECKSUM = "a" * 64

CASES: list[tuple[str, Callable[[str], Any], str, str]] = [
    ("script_checksum", lambda v: _virtio_install.validate_source("script", script_src="x", script_checksum=v), CHECKSUM, "script_checksum"),
    ("driver_files", lambda v: _virtio.validate_driver_files(["viostor.sys", v]), "netkvm.sys", "driver_files[1]"),
    ("instance_ids", lambda v: _ecs_cloud_assistant.validate_instance_ids([v]), "i-bp1abc", "instance_ids"),
    ("region_id", lambda v: _alicloud.resolve_region({"region_id": v}, {}), "cn-hangzhou", "region_id"),
    ("endpoint", lambda v: _alicloud.resolve_endpoint(v, "cn-hangzhou"), "ecs.cn-hangzhou.aliyuncs.com", "endpoint"),
    ("netbios", lambda v: _hotfix_layout.validate_netbios_name(v), "NODE1", "node"),
    ("unc_server", lambda v: _hotfix_layout.validate_hotfix_root(f"\\\\{v}\\share\\hotfix"), "fs01", "path"),
    # (hotfix root paths and identities are trimmed first, so surrounding blanks are not sent)
    ("extension", lambda v: _hotfix_rules([], [_rule(v)]), "MSI", "extension_rules[0].name"),
    # these once used re.match with a pattern ending in "$" (or checked only NUL, CR and LF)
    ("antivirus_service", lambda v: _antivirus.validate_antivirus_services([v]), "SAVService", "services[0]"),
    ("inventory_region", lambda v: _ecs_inventory.normalise_regions([v]), "cn-hangzhou", "regions[0]"),
    ("inventory_instance_id", lambda v: _ecs_inventory.normalise_filters({"instance_ids": [v]}), "i-bp1abc",
     "filters.instance_ids[0]"),
    ("inventory_tag_value", lambda v: _ecs_inventory.normalise_filters({"tags": {"team": v}}), "ops", "filters.tags.team"),
    ("inventory_tag_key", lambda v: _ecs_inventory.normalise_filters({"tags": {v: "ops"}}), "team", "filters.tags"),
    ("inventory_vpc_id", lambda v: _ecs_inventory.normalise_filters({"vpc_id": v}), "vpc-bp1abc", "filters.vpc_id"),
    ("cau_script_path", lambda v: _cau_run._script_path(v, "pre_update_script"), "C:\\s\\pre.ps1", "pre_update_script"),
    ("invocation_name", lambda v: _run_command(content="x", name=v),
     "winfleet-updates", "name"),
    ("command_id", lambda v: _run_command(command_id=v),
     "c-hz01abc", "command_id"),
]


class _Reached(Exception):
    """The arguments were accepted: the next step would call the API."""


class _NoApi:
    region_id = "cn-hangzhou"

    def call(self, *args: Any, **kwargs: Any) -> Any:
        raise _Reached()


def _run_command(**options: Any) -> None:
    """run_on_instances' checks, stopping where it would first call the ECS API."""
    try:
        _ecs_cloud_assistant.run_on_instances(_NoApi(), ["i-bp1abc"], wait=False, **options)  # type: ignore[arg-type]
    except _Reached:
        pass


def _rule(name: str, path: str = "$update$") -> dict[str, Any]:
    return {"name": name, "template": {"path": path}, "exit_conditions": {"success": [0]}}


def _hotfix_rules(folder_rules: list[Any], extension_rules: list[Any]) -> None:
    """The hotfix rules as the module reads them, raising the first problem found."""
    errors: list[InputError] = []
    _hotfix_config.rules_from_options(folder_rules, extension_rules, errors)
    if errors:
        raise errors[0]


@pytest.mark.parametrize(("name", "check", "good", "field"), CASES, ids=[c[0] for c in CASES])
def test_the_value_passes_whole(name, check, good, field):
    check(good)


@pytest.mark.parametrize("suffix", ["\n", "\r\n"])
@pytest.mark.parametrize(("name", "check", "good", "field"), CASES, ids=[c[0] for c in CASES])
def test_a_trailing_line_break_is_refused(name, check, good, field, suffix):
    with pytest.raises(InputError) as raised:
        check(good + suffix)
    assert raised.value.field.startswith(field) or field in str(raised.value), raised.value


@pytest.mark.parametrize(
    ("description", "message"),
    [
        ("x" * 5000, "description: must be at most 256 characters, got 5000"),
        ("before the update\nrm", "description: must not contain control characters"),
        ("https://evil.example/", "description: must be 2 to 256 characters and must not start with http"),
        ("x", "description: must be 2 to 256 characters"),
    ],
)
def test_a_snapshot_description_follows_the_api_limits(description, message):
    with pytest.raises(InputError, match=message):
        _ecs_snapshot.validate_description(description)
    assert _ecs_snapshot.validate_description("") == ""
    assert _ecs_snapshot.validate_description("x" * 256) == "x" * 256


@pytest.mark.parametrize(("tags", "field"), [({"team": "ops\n"}, "tags.team"), ({"te\tam": "ops"}, "tags.te\tam")])
def test_a_tag_with_a_control_character_is_refused(tags, field):
    with pytest.raises(InputError, match="must not contain control characters") as raised:
        _ecs_snapshot.rollout_tags("winfleet:rollout-id", "r1", tags)
    assert raised.value.field == field


def test_a_control_character_in_the_rollout_id_is_refused():
    with pytest.raises(InputError, match="rollout_id: must not contain control characters"):
        _ecs_snapshot.rollout_tags("winfleet:rollout-id", "CHG1\n", None)


def test_a_quote_in_a_hotfix_template_path_is_refused():
    with pytest.raises(InputError, match=r"extension_rules\[0\].template.path: must not contain"):
        _hotfix_rules([], [{**_rule("MSI", '"C:\\x.exe"'), "template": {"path": '"C:\\x.exe"', "parameters": "$update$"}}])


# A tab, NUL or escape inside the value (not only at its end) is refused too.
INNER_CONTROL = [case for case in CASES if case[0] not in ("script_checksum", "driver_files", "netbios", "extension",
                                                           "region_id", "endpoint", "unc_server")]


@pytest.mark.parametrize("character", ["\t", "\x00", "\x1b"])
@pytest.mark.parametrize(("name", "check", "good", "field"), INNER_CONTROL, ids=[c[0] for c in INNER_CONTROL])
def test_a_control_character_inside_the_value_is_refused(name, check, good, field, character):
    with pytest.raises(InputError):
        check(good[:2] + character + good[2:])


@pytest.mark.parametrize(
    ("check", "value", "message"),
    [
        (lambda v: _ecs_inventory.normalise_filters({"tags": {"team": v}}), "x" * 129, "at most 128 characters"),
        (lambda v: _run_command(content="x", name=v),
         "x" * 129, "name: must be at most 128 characters"),
        (lambda v: _antivirus.validate_antivirus_services([v]), "x" * 257, "expected a Windows service name"),
    ],
)
def test_lengths_follow_the_documented_limits(check, value, message):
    with pytest.raises(InputError, match=message):
        check(value)
