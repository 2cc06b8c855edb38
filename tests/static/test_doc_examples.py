"""Every example in the docs parses and names only real modules, options, roles and variables.

Reads the fenced code blocks of ``README.md``, ``docs/*.md`` and every ``README.md`` under
``roles/`` and ``extensions/``:

* ``yaml`` / ``yml`` blocks parse, and every ``winfleet.updates.<module>`` task uses documented
  options only (``load_docs``, as the module contract test does); every use of a
  ``winfleet.updates.<role>`` (``roles:``, ``include_role``, ``import_role``) passes only options of
  its argument spec;
* ``json`` blocks parse;
* shell blocks: ``ansible-playbook ... winfleet.updates.<playbook>`` names a real playbook and its
  ``-e`` variables are ones the playbook reads; ``ansible-doc winfleet.updates.<x>`` names a module.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from tests.static.playbooks import PLAYBOOKS, ROLES, argument_spec, bindings
from tests.static.test_module_contract import MODULE_NAMES, load_docs

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted({REPO_ROOT / "README.md", *(REPO_ROOT / "docs").glob("*.md"), *(REPO_ROOT / "roles").glob("*/README.md"),
               *(REPO_ROOT / "extensions").rglob("README.md")})
PREFIX = "winfleet.updates."
_FENCE = re.compile(r"^```([\w+-]*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_INCLUDE_ROLE = {f"{prefix}{name}" for prefix in ("", "ansible.builtin.") for name in ("include_role", "import_role")}
SHELL = {"", "bash", "sh", "shell", "console"}


def blocks() -> list[tuple[str, str, str]]:
    """``(where, language, text)`` of every fenced code block of the docs."""
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in _FENCE.finditer(text):
            line = text[:match.start()].count("\n") + 1
            found.append((f"{path.relative_to(REPO_ROOT)}:{line}", match.group(1).lower(), match.group(2)))
    return found


BLOCKS = blocks()
YAML_BLOCKS = [b for b in BLOCKS if b[1] in ("yaml", "yml")]
JSON_BLOCKS = [b for b in BLOCKS if b[1] == "json"]
SHELL_BLOCKS = [b for b in BLOCKS if b[1] in SHELL]


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _dicts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _dicts(item)


def _role_use_errors(role_name: Any, given: Any, where: str) -> list[str]:
    if not (isinstance(role_name, str) and role_name.startswith(PREFIX)):
        return []
    role = role_name[len(PREFIX):]
    if role not in ROLES:
        return [f"{where}: {role_name} is not a role of the collection"]
    unknown = sorted(set(given or {}) - set(argument_spec(role)))
    return [f"{where}: {role_name} has no option(s) {unknown}"] if unknown else []


def yaml_errors(where: str, data: Any) -> list[str]:
    errors = []
    for mapping in _dicts(data):
        for key, value in mapping.items():
            if isinstance(key, str) and key.startswith(PREFIX):
                name = key[len(PREFIX):]
                if name in MODULE_NAMES:
                    options = set(load_docs(name)["DOCUMENTATION"].get("options") or {})
                    unknown = sorted(set(value or {}) - options) if isinstance(value, dict) else []
                    errors += [f"{where}: {key} has no option(s) {unknown}"] if unknown else []
                elif name not in PLAYBOOKS and name not in ROLES:
                    errors.append(f"{where}: {key} is not a module, role or playbook of the collection")
            if key in _INCLUDE_ROLE and isinstance(value, dict):
                errors += _role_use_errors(value.get("name"), mapping.get("vars"), where)
        if "role" in mapping and isinstance(mapping.get("role"), str):
            errors += _role_use_errors(mapping["role"], mapping.get("vars"), where)
    return errors


def commands(text: str) -> list[list[str]]:
    """Shell commands of a block, line continuations joined, comments and prompts dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    found = []
    for line in joined.splitlines():
        line = re.sub(r"^\s*\$\s+", "", line)
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError:
            continue
        if tokens:
            found.append(tokens)
    return found


def extra_var_names(value: str) -> list[str]:
    if value.startswith("@"):
        return []
    if value.lstrip().startswith("{"):
        return list(json.loads(value))
    return [pair.split("=", 1)[0] for pair in value.split() if "=" in pair]


def shell_errors(where: str, text: str) -> list[str]:
    errors = []
    for tokens in commands(text):
        tool = Path(tokens[0]).name
        named = [token[len(PREFIX):] for token in tokens if token.startswith(PREFIX)]
        if tool == "ansible-doc":
            errors += [f"{where}: ansible-doc {PREFIX}{name}: no such module" for name in named
                       if name not in MODULE_NAMES and name not in ROLES]
        if tool != "ansible-playbook":
            continue
        playbooks = [name for name in named if name in PLAYBOOKS]
        errors += [f"{where}: {PREFIX}{name} is not a playbook of the collection" for name in named if name not in PLAYBOOKS]
        for flag, value in zip(tokens, tokens[1:]):
            if flag in ("-e", "--extra-vars"):
                for variable in extra_var_names(value):
                    if playbooks and not any(variable in bindings(name) for name in playbooks):
                        errors.append(f"{where}: -e {variable}: {PREFIX}{playbooks[0]} reads no such variable")
    return errors


def test_the_docs_have_examples_to_check():
    assert YAML_BLOCKS and SHELL_BLOCKS


@pytest.mark.parametrize(("where", "language", "text"), YAML_BLOCKS, ids=[b[0] for b in YAML_BLOCKS])
def test_yaml_example_parses_and_names_real_options(where, language, text):
    data = yaml.safe_load(text)
    assert not yaml_errors(where, data)


@pytest.mark.parametrize(("where", "language", "text"), JSON_BLOCKS, ids=[b[0] for b in JSON_BLOCKS])
def test_json_example_parses(where, language, text):
    json.loads(text)


@pytest.mark.parametrize(("where", "language", "text"), SHELL_BLOCKS, ids=[b[0] for b in SHELL_BLOCKS])
def test_command_example_names_real_playbooks_and_variables(where, language, text):
    assert not shell_errors(where, text)


def test_the_checks_see_a_wrong_option():
    tasks = yaml.safe_load("- name: t\n  winfleet.updates.virtio_probe:\n    required_capability: [online_resize]\n"
                           "- name: r\n  ansible.builtin.include_role:\n    name: winfleet.updates.virtio_audit\n"
                           "  vars:\n    virtio_audit_report: /tmp\n")
    assert len(yaml_errors("x", tasks)) == 2
    assert shell_errors("x", "ansible-playbook -i i.yml winfleet.updates.virtio_audit -e virtio_report=/r\n")
