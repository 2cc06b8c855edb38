"""The cau_hotfix_root role passes every module option and documents the module's defaults.

The role defines none of the shared ``cau_hotfix_*`` variables (ansible-lint's role-prefix rule);
it passes each with ``default(omit)`` so that the module's default is the only one. These tests
keep the role's argument_specs, its task and the module's DOCUMENTATION in agreement.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.static.test_module_contract import load_docs

REPO_ROOT = Path(__file__).resolve().parents[2]
ROLE = REPO_ROOT / "roles" / "cau_hotfix_root"
# Module option -> role variable, where the name is not simply cau_hotfix_<option>.
RENAMED = {"path": "cau_hotfix_root_path", "cau_account": "cau_hotfix_account"}


def role_variable(option: str) -> str:
    return RENAMED.get(option, f"cau_hotfix_{option}")


def module_options() -> dict:
    return load_docs("cau_hotfix_root")["DOCUMENTATION"]["options"]


def role_options() -> dict:
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))
    return specs["argument_specs"]["main"]["options"]


def test_every_module_option_is_a_documented_role_variable_with_the_same_type_and_default():
    documented = role_options()
    for option, spec in module_options().items():
        variable = role_variable(option)
        assert variable in documented, f"{variable} is missing from the role's argument_specs"
        role_spec = documented[variable]
        module_type = "str" if spec.get("type") == "path" else spec.get("type", "str")
        assert role_spec.get("type", "str") == module_type, variable
        assert role_spec.get("elements") == spec.get("elements"), variable
        assert role_spec.get("default") == spec.get("default"), variable


def test_the_role_task_passes_every_option_and_only_omits_unset_variables():
    tasks = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text(encoding="utf-8"))
    build = next(t for t in tasks if t["name"].startswith("Build and secure"))
    arguments = build["winfleet.updates.cau_hotfix_root"]
    assert set(arguments) == set(module_options())
    for option, value in arguments.items():
        assert role_variable(option) in value and "default(omit" in value, option


def test_the_roles_own_switches_carry_the_role_prefix():
    shared = {role_variable(o) for o in module_options()}
    own = set(role_options()) - shared
    assert own and all(name.startswith("cau_hotfix_root_") for name in own)
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text(encoding="utf-8"))
    assert set(defaults) == own
