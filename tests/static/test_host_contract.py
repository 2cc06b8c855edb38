"""Each host-side .ps1, its lab stand-in and its docs describe the same result.

No Windows host runs these modules in CI: the lab stand-in in tests/simlab/modules answers for
them. If the two drift (a result key renamed in the .ps1 only, a nested key the stand-in invents),
every integration test keeps passing against a host that does not exist. So, statically:

* the keys the .ps1 sets on ``$module.Result`` (nested too, where both sides build them from
  literals) are exactly the keys the stand-in returns;
* every key of the host result reaches someone: it is documented in RETURN (passed through to
  the user) or the controller reads it (``raw["key"]`` / ``raw.get("key")`` in the action plugin
  or its helpers). RETURN documents what the *action plugin* returns, which for most modules is
  computed on the controller from the host result, so RETURN is not required to equal it.

A mutation check copies virtio_probe.ps1, renames one result key, and asserts the contract fails
on the copy, naming the key.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path

import pytest

from tests.static.result_shapes import compare, ps1_shape, stand_in_shape
from tests.static.test_module_contract import load_docs

REPO_ROOT = Path(__file__).resolve().parents[2]
MODULES_DIR = REPO_ROOT / "plugins" / "modules"
STAND_INS_DIR = REPO_ROOT / "tests" / "simlab" / "modules"
PS_MODULES = sorted(p.stem for p in MODULES_DIR.glob("*.ps1"))
CONTROLLER_DIRS = ("action", "plugin_utils", "module_utils")


@lru_cache(maxsize=1)
def controller_reads() -> frozenset[str]:
    """String keys the controller-side code reads from dicts: ``x["key"]``, ``x.get("key")``, or through a
    helper that takes the key as an argument (``_answer(raw, "key", dict)``)."""
    keys: set[str] = set()
    for directory in CONTROLLER_DIRS:
        for path in (REPO_ROOT / "plugins" / directory).glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
                    keys.add(str(node.slice.value))
                elif isinstance(node, ast.Call):
                    keys.update(str(arg.value) for arg in node.args if isinstance(arg, ast.Constant))
    return frozenset(keys)


def contract_problems(script: Path, stand_in: Path, documented: set[str], consumed: set[str]) -> list[str]:
    host = ps1_shape(script)
    problems = [f"{script.name} vs {stand_in.relative_to(REPO_ROOT)}: {p}" for p in compare(host, stand_in_shape(stand_in))]
    for key in sorted(host.top_level() - documented - consumed):
        problems.append(f"{script.name}: result key '{key}' is neither documented in RETURN nor read by the "
                        "action plugin; the user never sees it")
    return problems


def test_there_are_modules_to_check():
    assert "virtio_probe" in PS_MODULES


@pytest.mark.parametrize("name", PS_MODULES)
def test_module_result_matches_stand_in_and_docs(name):
    stand_in = STAND_INS_DIR / f"{name}.py"
    assert stand_in.is_file(), f"{name}.ps1 has no lab stand-in {stand_in.relative_to(REPO_ROOT)}"
    documented = set(load_docs(name)["RETURN"] or {})
    problems = contract_problems(MODULES_DIR / f"{name}.ps1", stand_in, documented, controller_reads())
    assert not problems, "\n".join(problems)


def test_the_readers_see_nested_keys():
    """Without this, an empty shape on both sides would pass the contract vacuously."""
    host = ps1_shape(MODULES_DIR / "virtio_probe.ps1")
    assert {"os.version", "os.caption", "os.product_type", "drivers[].file_version_parts",
            "drivers[].product_version_parts"} <= host.paths
    assert {"", "os", "drivers[]"} <= host.known
    assert host.paths == stand_in_shape(STAND_INS_DIR / "virtio_probe.py").paths - {"changed"}


@pytest.mark.parametrize(("original", "renamed", "expected"), [
    ("$module.Result.os = @{", "$module.Result.os_info = @{",
     ["'os' is returned by the lab stand-in but never set by the .ps1 (at the top level)",
      "'os_info' is set by the .ps1 but not returned by the lab stand-in (at the top level)",
      "result key 'os_info' is neither documented in RETURN nor read by the action plugin"]),
    ("    caption = [string]$os.Caption", "    name = [string]$os.Caption",
     ["'os.caption' is returned by the lab stand-in but never set by the .ps1 (under 'os')",
      "'os.name' is set by the .ps1 but not returned by the lab stand-in (under 'os')"]),
    ("$entry.product_version_parts = ", "$entry.product_parts = ",
     ["'drivers[].product_parts' is set by the .ps1 but not returned by the lab stand-in (under 'drivers[]')",
      "'drivers[].product_version_parts' is returned by the lab stand-in but never set by the .ps1 "
      "(under 'drivers[]')"]),
], ids=["top-level", "nested", "list-entry"])
def test_mutation_a_renamed_result_key_fails_the_contract(tmp_path, original, renamed, expected):
    source = (MODULES_DIR / "virtio_probe.ps1").read_text(encoding="utf-8")
    assert source.count(original) == 1
    mutant = tmp_path / "virtio_probe.ps1"
    mutant.write_text(source.replace(original, renamed), encoding="utf-8")
    documented = set(load_docs("virtio_probe")["RETURN"])
    problems = contract_problems(mutant, STAND_INS_DIR / "virtio_probe.py", documented, controller_reads())
    for message in expected:
        assert any(message in problem for problem in problems), (message, problems)
    assert not contract_problems(MODULES_DIR / "virtio_probe.ps1", STAND_INS_DIR / "virtio_probe.py", documented,
                                 controller_reads())


# --- which version a key reports ----------------------------------------------------------------
# FileVersionInfo carries two versions, FileVersion/File*Part and ProductVersion/Product*Part, and a
# driver may set them differently (https://learn.microsoft.com/en-us/dotnet/api/system.diagnostics.fileversioninfo).
# A result key named for one of them must be read from that one: the lab cannot see which member a
# .ps1 reads, so a swap would pass every other test.
_KIND_MEMBER = re.compile(r"\b(File|Product)(?:Version|MajorPart|MinorPart|BuildPart|PrivatePart)\b|-Kind\s+'?(File|Product)\b")
_KIND_KEY = re.compile(r"^\s*(?:\$\w+(?:\.Result)?\.)?(file|product)_version\w*\s*=(.*)$", re.I | re.M)


def version_kind_problems(script: Path) -> list[str]:
    problems = []
    text = script.read_text(encoding="utf-8")
    for match in _KIND_KEY.finditer(text):
        kind, value = match.group(1).lower(), match.group(2)
        read = {(a or b).lower() for a, b in _KIND_MEMBER.findall(value)}
        if read - {kind}:
            line = text.count("\n", 0, match.start()) + 1
            problems.append(f"{script.name}:{line}: a {kind}_version key is read from the {'/'.join(sorted(read))} "
                            f"version of FileVersionInfo: {match.group(0).strip()}")
    return problems


@pytest.mark.parametrize("name", PS_MODULES)
def test_each_version_key_reads_its_own_version(name):
    problems = version_kind_problems(MODULES_DIR / f"{name}.ps1")
    assert not problems, "\n".join(problems)


def test_mutation_a_swapped_version_part_is_caught(tmp_path):
    source = (MODULES_DIR / "virtio_probe.ps1").read_text(encoding="utf-8")
    original = "$entry.file_version_parts = Get-VersionPart -Info $info -Kind File"
    assert source.count(original) == 1
    assert len(_KIND_KEY.findall(source)) == 4, "the check must see all four version keys of virtio_probe"
    mutant = tmp_path / "virtio_probe.ps1"
    mutant.write_text(source.replace(original, original.replace("-Kind File", "-Kind Product")), encoding="utf-8")
    assert [p.split(": ", 1)[1] for p in version_kind_problems(mutant)] == [
        "a file_version key is read from the product version of FileVersionInfo: "
        "$entry.file_version_parts = Get-VersionPart -Info $info -Kind Product"]
    swapped = tmp_path / "swapped.ps1"
    swapped.write_text(source.replace("$entry.product_version = $info.ProductVersion",
                                      "$entry.product_version = $info.FileVersion"), encoding="utf-8")
    assert len(version_kind_problems(swapped)) == 1
