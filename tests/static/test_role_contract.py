"""Roles and playbooks keep their promises: defaults agree, summaries are published for AWX.

Data-driven over ``roles/*/meta/argument_specs.yml`` and ``playbooks/*.yml``, so a new role or
playbook is checked by adding it.
"""

from __future__ import annotations

import pytest
import yaml

from tests.static.playbooks import (PLAYBOOKS, ROLES, ROLES_DIR, argument_spec, bindings, computed_role_vars,
                                    role_tasks, roles_of)

BINDINGS = [(name, variable, index) for name in PLAYBOOKS for variable, targets in bindings(name).items()
            for index in range(len(targets))]
SET_STATS = {"set_stats", "ansible.builtin.set_stats", "ansible.legacy.set_stats"}


@pytest.mark.parametrize("role", ROLES)
def test_role_defaults_are_the_argument_spec_defaults(role):
    defaults_file = ROLES_DIR / role / "defaults" / "main.yml"
    defaults = yaml.safe_load(defaults_file.read_text(encoding="utf-8")) if defaults_file.exists() else {}
    spec = argument_spec(role)
    for option, entry in spec.items():
        assert option.startswith(f"{role}_"), f"{role}: option {option} must start with the role name"
        if "default" in entry:
            assert defaults.get(option) == entry["default"], f"{role}: {option} defaults/main.yml != argument_specs.yml"
    assert not set(defaults or {}) - set(spec), f"{role}: defaults without an argument spec: {set(defaults) - set(spec)}"


@pytest.mark.parametrize(("name", "variable", "index"), BINDINGS)
def test_playbook_binding_targets_a_real_option_with_the_same_default(name, variable, index):
    binding = bindings(name)[variable][index]
    if binding.keyword:
        return
    spec = argument_spec(binding.role)
    assert binding.option in spec, f"playbooks/{name}.yml sets {binding.option}, which role {binding.role} does not have"
    if binding.has_default and "default" in spec[binding.option]:
        assert binding.default == spec[binding.option]["default"], \
            f"playbooks/{name}.yml: {variable} defaults to {binding.default!r}, the role option to {spec[binding.option]['default']!r}"


@pytest.mark.parametrize("name", PLAYBOOKS)
def test_playbook_is_composition_only(name):
    assert roles_of(name), f"playbooks/{name}.yml runs none of the collection's roles"
    assert not computed_role_vars(name), f"playbooks/{name}.yml computes role options; keep logic in roles"


@pytest.mark.parametrize("name", PLAYBOOKS)
def test_playbook_publishes_its_summary_with_set_stats(name):
    """AWX workflow templates branch on the summary; set_stats hands it to the next node."""
    published = []
    for role in roles_of(name):
        for task in role_tasks(role):
            module = next((key for key in task if key in SET_STATS), None)
            if module is None:
                continue
            args = task[module]
            assert task.get("run_once") is True, f"{role}: publish the fleet summary once"
            assert not args.get("per_host", False), f"{role}: a per-host stat is not a fleet summary"
            published.extend(key for key in args["data"] if key.endswith("_summary"))
    assert published, f"no role of playbooks/{name}.yml publishes a <role>_summary with set_stats"
