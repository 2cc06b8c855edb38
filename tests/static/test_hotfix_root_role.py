"""The cau_hotfix_root role, its playbook and the module agree on options and defaults.

Three layers name the same settings: the module's options (``updates``), the role's options
(``cau_hotfix_root_updates``, prefixed with the role name as every role's are) and the playbook's
variables (``cau_hotfix_updates``, the shared names of the inventory and the issue's YAML). A
default that drifts in one of them would silently change what an operator gets.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.static.test_module_contract import load_docs

REPO_ROOT = Path(__file__).resolve().parents[2]
ROLE = REPO_ROOT / "roles" / "cau_hotfix_root"
PLAYBOOK = REPO_ROOT / "playbooks" / "cau_hotfix_root.yml"
# Module options the role passes as "not given" when empty (the module has no default for them).
NOT_GIVEN_WHEN_EMPTY = {"path": "", "base_config": "", "nodes": [], "share": {}, "cau_account": "", "stage_dir": ""}
# Role options that are the role's own switches, not module options.
ROLE_SWITCHES = {"cau_hotfix_root_preflight", "cau_hotfix_root_verify", "cau_hotfix_root_fail_on_blocking"}
_BINDING = re.compile(r"^\{\{ (\w+) \| default\((.*)\) \}\}$")


def role_option(module_option: str) -> str:
    return "cau_hotfix_root_account" if module_option == "cau_account" else f"cau_hotfix_root_{module_option}"


def module_options() -> dict:
    return load_docs("cau_hotfix_root")["DOCUMENTATION"]["options"]


def role_options() -> dict:
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))
    return specs["argument_specs"]["main"]["options"]


def test_every_module_option_is_a_role_option_with_the_same_type_and_default():
    documented = role_options()
    assert set(documented) == {role_option(o) for o in module_options()} | ROLE_SWITCHES
    for option, spec in module_options().items():
        role_spec = documented[role_option(option)]
        module_type = "str" if spec.get("type") == "path" else spec.get("type", "str")
        assert role_spec.get("type", "str") == module_type, option
        assert role_spec.get("elements") == spec.get("elements"), option
        expected = NOT_GIVEN_WHEN_EMPTY[option] if option in NOT_GIVEN_WHEN_EMPTY else spec.get("default")
        assert role_spec.get("default") == expected, option


def test_role_defaults_are_the_argument_spec_defaults():
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text(encoding="utf-8"))
    assert defaults == {name: spec["default"] for name, spec in role_options().items()}


def test_the_role_task_passes_every_option():
    tasks = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text(encoding="utf-8"))
    build = next(t for t in tasks if t["name"].startswith("Build and secure"))
    arguments = build["winfleet.updates.cau_hotfix_root"]
    assert set(arguments) == set(module_options())
    for option, value in arguments.items():
        assert role_option(option) in value, option
        assert ("default(omit, true)" in value) == (option in NOT_GIVEN_WHEN_EMPTY), option


def test_the_playbook_binds_the_shared_names_with_the_role_defaults():
    play = yaml.safe_load(PLAYBOOK.read_text(encoding="utf-8"))[0]
    bound = play["roles"][0]["vars"]
    documented = role_options()
    # cau_hotfix_root_path is the shared name and the role option at once; the switches are the role's.
    assert set(bound) == set(documented) - ROLE_SWITCHES - {"cau_hotfix_root_path"} | {"cau_hotfix_root_preflight"}
    for option, expression in bound.items():
        match = _BINDING.match(expression)
        assert match, f"{option}: bind '{{{{ <variable> | default(<literal>) }}}}', got {expression}"
        assert match.group(1) == option.replace("cau_hotfix_root_", "cau_hotfix_", 1), option
        assert yaml.safe_load(match.group(2)) == documented[option]["default"], option
