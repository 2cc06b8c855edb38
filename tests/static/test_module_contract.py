"""Each module's documentation, action plugin options and PowerShell ``$spec`` agree.

A user reads DOCUMENTATION; the action plugin validates ``ARGUMENT_SPEC``; the host validates
``$spec``. If they drift, options are silently ignored or rejected on the host. Options the action
plugin consumes on the controller are listed in its ``CONTROLLER_OPTIONS``; host-only options the
action plugin adds itself start with ``_`` (the ansible.windows convention, e.g. win_updates).
Suboptions (``options`` of a dict or list-of-dicts option in a spec, ``suboptions`` in
DOCUMENTATION) are held to the same contract, at any depth (``option_drift``).
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
import yaml

from tests.static.powershell import module_spec

REPO_ROOT = Path(__file__).resolve().parents[2]
MODULES_DIR = REPO_ROOT / "plugins" / "modules"
MODULE_NAMES = sorted({p.stem for p in MODULES_DIR.iterdir() if p.suffix in (".ps1", ".py", ".yml") and p.stem != "__init__"})
PS_MODULES = sorted(p.stem for p in MODULES_DIR.glob("*.ps1"))
ACTION_MODULES = sorted(p.stem for p in (REPO_ROOT / "plugins" / "action").glob("*.py") if p.stem != "__init__")


FRAGMENTS_DIR = REPO_ROOT / "plugins" / "doc_fragments"
PY_MODULES = sorted(p.stem for p in MODULES_DIR.glob("*.py")
                    if p.stem != "__init__" and "ARGUMENT_SPEC = " in p.read_text(encoding="utf-8"))


def fragment_options(fragment: str) -> dict:
    """Options of one of this collection's doc fragments (``winfleet.updates.<name>``)."""
    namespace, _, name = fragment.rpartition(".")
    assert namespace == "winfleet.updates", f"unexpected doc fragment {fragment}"
    tree = ast.parse((FRAGMENTS_DIR / f"{name}.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "DOCUMENTATION":
            return yaml.safe_load(node.value.value).get("options") or {}
    raise AssertionError(f"{fragment} has no DOCUMENTATION")


def load_docs(name: str) -> dict:
    """DOCUMENTATION, EXAMPLES and RETURN of a module from its YAML sidecar or .py doc file.

    Options of the collection's doc fragments are merged in, as ansible-doc does.
    """
    sidecar = MODULES_DIR / f"{name}.yml"
    if sidecar.exists():
        data = yaml.safe_load(sidecar.read_text(encoding="utf-8"))
        docs = {key: data.get(key) for key in ("DOCUMENTATION", "EXAMPLES", "RETURN")}
    else:
        tree = ast.parse((MODULES_DIR / f"{name}.py").read_text(encoding="utf-8"))
        strings = {node.targets[0].id: node.value.value for node in tree.body
                   if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)}
        docs = {"DOCUMENTATION": yaml.safe_load(strings["DOCUMENTATION"]), "EXAMPLES": strings.get("EXAMPLES"),
                "RETURN": yaml.safe_load(strings.get("RETURN") or "{}")}
    fragments = docs["DOCUMENTATION"].get("extends_documentation_fragment") or []
    for fragment in [fragments] if isinstance(fragments, str) else fragments:
        docs["DOCUMENTATION"]["options"] = {**fragment_options(fragment), **(docs["DOCUMENTATION"].get("options") or {})}
    return docs


def action_class(name: str):
    path = REPO_ROOT / "plugins" / "action" / f"{name}.py"
    if not path.exists():
        return None
    return importlib.import_module(f"ansible_collections.winfleet.updates.plugins.action.{name}").ActionModule


def _shape(option: dict) -> dict:
    """The parts of an option both sides must agree on."""
    return {"type": option.get("type", "str"), "elements": option.get("elements"),
            "choices": sorted(option["choices"]) if option.get("choices") else None}


def option_drift(spec: dict, documented: dict, where: str = "", *, required: bool = True,
                 default: bool = False) -> list[str]:
    """Where ``spec`` options (an argument spec, or a ``.ps1`` ``$spec``) and DOCUMENTATION disagree.

    Compares the option names, each option's type, elements and choices (and ``required``, and
    ``default`` when asked), then the suboptions of every dict or list-of-dicts option, at any
    depth: ``options`` in the spec, ``suboptions`` in the documentation, as ansible-doc and
    ``validate-modules`` read them. Returns one line per disagreement, named by its path
    (``updates[].src``), so a test can assert the list is empty and show every drift at once.
    """
    drift = []
    prefix = f"{where}." if where else ""
    for name in sorted(set(spec) ^ set(documented)):
        side = "spec" if name in spec else "DOCUMENTATION"
        drift.append(f"{prefix}{name}: only in the {side}")
    for name in sorted(set(spec) & set(documented)):
        entry, doc, path = spec[name], documented[name], f"{prefix}{name}"
        if _shape(entry) != _shape(doc):
            drift.append(f"{path}: spec {_shape(entry)} != DOCUMENTATION {_shape(doc)}")
        if required and bool(entry.get("required")) != bool(doc.get("required")):
            drift.append(f"{path}: required {bool(entry.get('required'))} in the spec, "
                         f"{bool(doc.get('required'))} in DOCUMENTATION")
        if default and entry.get("default") != doc.get("default"):
            drift.append(f"{path}: default {entry.get('default')!r} in the spec, {doc.get('default')!r} in DOCUMENTATION")
        if "options" in entry or "suboptions" in doc:
            inner = f"{path}[]" if entry.get("type") == "list" else path
            drift += option_drift(entry.get("options") or {}, doc.get("suboptions") or {}, inner,
                                  required=True, default=default)
    return drift


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_docs_are_complete(name):
    docs = load_docs(name)
    documentation = docs["DOCUMENTATION"]
    assert documentation["module"] == name
    assert documentation.get("short_description") and documentation.get("description")
    assert documentation.get("version_added")
    assert documentation.get("attributes", {}).get("check_mode"), "document check mode support"
    examples = yaml.safe_load(docs["EXAMPLES"])
    assert examples, "EXAMPLES must hold at least one task"
    for task in examples:
        assert task.get("name"), "every example task is named"
        assert f"winfleet.updates.{name}" in task, "examples use the FQCN"
        unknown = set(task[f"winfleet.updates.{name}"] or {}) - set(documentation.get("options") or {})
        assert not unknown, f"example uses undocumented options {unknown}"
    assert docs["RETURN"] is not None


@pytest.mark.parametrize("name", ACTION_MODULES)
def test_action_plugin_options_match_documentation(name):
    action = action_class(name)
    documented = load_docs(name)["DOCUMENTATION"].get("options") or {}
    assert set(action.ARGUMENT_SPEC) == set(documented)
    for option, spec in action.ARGUMENT_SPEC.items():
        assert _shape(spec) == _shape(documented[option]), option
        assert bool(spec.get("required")) == bool(documented[option].get("required")), option
    # with the suboptions, at any depth, and the defaults the user reads
    assert option_drift(action.ARGUMENT_SPEC, documented, default=True) == []


@pytest.mark.parametrize("name", PS_MODULES)
def test_powershell_spec_matches_documentation(name):
    spec_options = module_spec(MODULES_DIR / f"{name}.ps1").get("options", {})
    documented = load_docs(name)["DOCUMENTATION"].get("options") or {}
    action = action_class(name)
    controller_only = set(action.CONTROLLER_OPTIONS) if action else set()
    assert controller_only <= set(documented), "CONTROLLER_OPTIONS must be documented options"
    public = {key: value for key, value in spec_options.items() if not key.startswith("_")}
    assert set(public) == set(documented) - controller_only
    for option, spec in public.items():
        assert _shape(spec) == _shape(documented[option]), option
    # suboptions: the host validates them as the spec says, so they must be what the user reads
    for option, spec in public.items():
        assert option_drift({option: spec}, {option: documented[option]}, required=False) == []


def test_the_contract_check_sees_a_drift(tmp_path):
    script = tmp_path / "drift.ps1"
    script.write_text("$spec = @{ options = @{ a = @{ type = 'int' }; b = @{ type = 'list'; elements = 'str' } } }\n")
    assert module_spec(script)["options"] == {"a": {"type": "int"}, "b": {"type": "list", "elements": "str"}}


@pytest.mark.parametrize("name", PY_MODULES)
def test_python_module_spec_matches_documentation(name):
    """Controller-side Python modules: ARGUMENT_SPEC and DOCUMENTATION (with fragments) agree."""
    spec = importlib.import_module(f"ansible_collections.winfleet.updates.plugins.modules.{name}").ARGUMENT_SPEC
    documented = load_docs(name)["DOCUMENTATION"]["options"]
    assert set(spec) == set(documented)
    for option, entry in spec.items():
        doc = documented[option]
        assert _shape(entry) == _shape(doc), option
        assert bool(entry.get("required")) == bool(doc.get("required")), option
        assert entry.get("default") == doc.get("default"), option
    assert option_drift(spec, documented, default=True) == []
    secrets = {option for option in spec if any(word in option for word in ("secret", "token", "password"))}
    assert all(spec[option].get("no_log") for option in secrets), "credentials must be no_log"


def test_the_contract_check_sees_a_suboption_drift_at_any_depth(tmp_path):
    script = tmp_path / "drift.ps1"
    script.write_text(
        "$spec = @{ options = @{ rules = @{ type = 'list'; elements = 'dict'; options = @{\n"
        "    name = @{ type = 'str'; required = $true }\n"
        "    code = @{ type = 'int' }\n"
        "    template = @{ type = 'dict'; options = @{ path = @{ type = 'str' } } }\n"
        "} } } }\n"
    )
    documented = yaml.safe_load(
        "rules:\n"
        "  type: list\n"
        "  elements: dict\n"
        "  suboptions:\n"
        "    name: {type: str}\n"
        "    code: {type: str}\n"
        "    template: {type: dict, suboptions: {path: {type: str, required: true}}}\n"
        "    extra: {type: bool}\n"
    )
    assert option_drift(module_spec(script)["options"], documented) == [
        "rules[].extra: only in the DOCUMENTATION",
        "rules[].code: spec {'type': 'int', 'elements': None, 'choices': None} != "
        "DOCUMENTATION {'type': 'str', 'elements': None, 'choices': None}",
        "rules[].name: required True in the spec, False in DOCUMENTATION",
        "rules[].template.path: required False in the spec, True in DOCUMENTATION",
    ]
    # a documented suboption list the spec does not validate at all is a drift too
    assert option_drift({"rules": {"type": "list", "elements": "dict"}}, documented)[0] == (
        "rules[].code: only in the DOCUMENTATION")
