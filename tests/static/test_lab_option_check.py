"""The lab refuses every value a module's ``$spec`` refuses, so a stand-in never accepts what
``Ansible.Basic`` would reject on a real host (an action plugin sending a value outside
``choices``, or a string where an int is expected, fails in the lab as it would on Windows)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.simlab import dispatch
from tests.static.powershell import module_spec

REPO_ROOT = Path(__file__).resolve().parents[2]
MODULES_DIR = REPO_ROOT / "plugins" / "modules"

_VALID = {"str": "x", "path": "C:\\x", "int": 1, "float": 1.5, "bool": True, "list": [], "dict": {}, "raw": "x"}
_INVALID = {"int": "not-a-number", "float": "not-a-number", "bool": "maybe", "dict": 5}


def _valid(option: dict[str, Any]) -> Any:
    choices = option.get("choices")
    if option.get("type") == "list":
        return [choices[0]] if choices else []
    return choices[0] if choices else _VALID[option.get("type", "str")]


def _invalid_values(option: dict[str, Any]) -> list[Any]:
    """Values Ansible.Basic refuses for this option (none for a plain str: ToString() takes anything)."""
    kind = option.get("type", "str")
    values = [_INVALID[kind]] if kind in _INVALID else []
    if option.get("choices"):
        values.append(["not-a-choice"] if kind == "list" else "not-a-choice")
    if kind == "list" and option.get("elements") in _INVALID:
        values.append([_INVALID[option["elements"]]])
    return values


CASES = [
    pytest.param(script.stem, name, bad, id=f"{script.stem}-{name}-{bad!r}")
    for script in sorted(MODULES_DIR.glob("*.ps1"))
    for name, option in module_spec(script).get("options", {}).items()
    for bad in _invalid_values(option)
]


def _required_args(options: dict[str, Any]) -> dict[str, Any]:
    return {name: _valid(option) for name, option in options.items() if option.get("required")}


def test_there_are_typed_options_to_check():
    assert {case.values[0] for case in CASES} >= {"antivirus_services", "cau_run", "virtio_install"}


@pytest.mark.parametrize("name", sorted(p.stem for p in MODULES_DIR.glob("*.ps1")))
def test_valid_arguments_pass(name):
    options = module_spec(MODULES_DIR / f"{name}.ps1")["options"]
    args = {option: _valid(spec) for option, spec in options.items()}
    assert dispatch.check_arguments(f"winfleet.updates.{name}", args) is None


@pytest.mark.parametrize(("module", "option", "bad"), CASES)
def test_the_lab_refuses_what_the_spec_refuses(module, option, bad):
    options = module_spec(MODULES_DIR / f"{module}.ps1")["options"]
    args = {**_required_args(options), option: bad}
    error = dispatch.check_arguments(f"winfleet.updates.{module}", args)
    assert error is not None, f"the lab accepted {option}={bad!r} for {module}, which Ansible.Basic refuses"
    assert option in error, error
