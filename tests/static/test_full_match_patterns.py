"""Patterns that validate a value match it whole: no ``$`` anchor that lets a trailing newline through.

In Python (https://docs.python.org/3/library/re.html#regular-expression-syntax) and in .NET
(https://learn.microsoft.com/dotnet/standard/base-types/anchors-in-regular-expressions), ``$``
also matches before a final ``\\n``: ``'netkvm.sys\\n' -match '^[a-z.]+$'`` is true. Python code uses
``re.fullmatch`` (or ``\\Z``); PowerShell uses ``\\A ... \\z``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PLUGINS = REPO_ROOT / "plugins"

# -match / -notmatch / -imatch / -cnotmatch with a literal pattern that ends in an unescaped $
_PS_DOLLAR_END = re.compile(r"""-[ic]?(?:not)?match\s+(['"])(?P<pattern>(?:(?!\1).)*?)(?<!\\)\$\1""", re.IGNORECASE)
# a Python regex literal ending in an unescaped $ (r"...$" or "...$")
_PY_DOLLAR_END = re.compile(r"""re\.(?:compile|match|search)\(\s*r?(['"])(?:(?!\1).)*(?<!\\)\$\1""")


def _files(*suffixes: str) -> list[Path]:
    return sorted(path for suffix in suffixes for path in PLUGINS.rglob(f"*{suffix}"))


@pytest.mark.parametrize("path", _files(".ps1", ".psm1"), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_powershell_patterns_end_with_z_not_dollar(path):
    found = [f"{path.name}:{number}: {line.strip()}"
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
             if _PS_DOLLAR_END.search(line)]
    assert not found, "use '\\A...\\z' ($ matches before a final newline in .NET): " + "; ".join(found)


@pytest.mark.parametrize("path", _files(".py"), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_python_patterns_do_not_end_with_dollar(path):
    found = [f"{path.name}:{number}: {line.strip()}"
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
             if _PY_DOLLAR_END.search(line)]
    assert not found, "use re.fullmatch without ^...$ ($ matches before a trailing newline): " + "; ".join(found)


@pytest.mark.parametrize(
    ("line", "caught"),
    [
        ("if ($runId -notmatch '^[0-9A-Za-z-]{1,64}$') {", True),
        ("if ($x -match \"^a$\") {", True),
        ("if ($runId -notmatch '\\A[0-9A-Za-z-]{1,64}\\z') {", False),
        ("if ($subject -notmatch '(^|,\\s*)(O|CN)=\"?Alibaba') {", False),
        ("$p -match 'C\\$'", False),
    ],
)
def test_the_powershell_check_catches_a_dollar_anchor(line, caught):
    assert bool(_PS_DOLLAR_END.search(line)) is caught


@pytest.mark.parametrize(
    ("line", "caught"),
    [
        ('_RE = re.compile(r"^i-[A-Za-z0-9]+$")', True),
        ("re.match(r'^x$', value)", True),
        ('_RE = re.compile(r"i-[A-Za-z0-9]+")', False),
        ('UPDATE_PLACEHOLDER = "$update$"', False),
    ],
)
def test_the_python_check_catches_a_dollar_anchor(line, caught):
    assert bool(_PY_DOLLAR_END.search(line)) is caught
