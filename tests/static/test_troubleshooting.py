"""docs/troubleshooting.md explains every error message the collection's code raises.

The messages are read from the code, so a new error without a troubleshooting entry fails here:
``InputError(field, message)`` calls and ``msg=`` / ``{"msg": ...}`` literals in ``plugins/**/*.py``,
and ``FailJson("...")`` in ``plugins/modules/*.ps1``. An f-string is matched by its first literal
fragment (the text before or between placeholders), which is what a user searches for.

There is no list of exceptions: a message lands with its entry.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PLUGINS = REPO_ROOT / "plugins"
DOC = REPO_ROOT / "docs" / "troubleshooting.md"
_MIN_FRAGMENT = 8


def _fragment(node: ast.expr) -> str | None:
    """The first literal text of at least a few characters in a str constant or f-string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        parts = [node.value]
    elif isinstance(node, ast.JoinedStr):
        parts = [value.value for value in node.values if isinstance(value, ast.Constant) and isinstance(value.value, str)]
    else:
        return None
    return next((part.strip(" :;,") for part in parts if len(part.strip(" :;,")) >= _MIN_FRAGMENT), None)


def _field(node: ast.expr) -> str | None:
    """The literal part of an InputError field: 'driver_files', 'thresholds.' of f'thresholds.{name}'."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return node.values[0].value
    return None


def python_messages() -> list[tuple[str, str]]:
    """``(where, text)`` for every literal error text a user may see from plugins/**/*.py."""
    found = []
    for path in sorted(PLUGINS.rglob("*.py")):
        where = str(path.relative_to(REPO_ROOT))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                if name == "InputError" and len(node.args) == 2:
                    found += [(f"{where}:{node.lineno} field", text) for text in [_field(node.args[0])] if text]
                    found += [(f"{where}:{node.lineno}", text) for text in [_fragment(node.args[1])] if text]
                for keyword in node.keywords:
                    if keyword.arg == "msg":
                        found += [(f"{where}:{node.lineno}", text) for text in [_fragment(keyword.value)] if text]
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values):
                    if isinstance(key, ast.Constant) and key.value == "msg":
                        found += [(f"{where}:{node.lineno}", text) for text in [_fragment(value)] if text]
    return found


def powershell_messages() -> list[tuple[str, str]]:
    found = []
    for path in sorted(PLUGINS.rglob("*.ps1")) + sorted(PLUGINS.rglob("*.psm1")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for match in re.finditer(r"""FailJson\(\s*["']([^"'$]*)""", line):
                text = match.group(1).strip(" :;,")
                if len(text) >= _MIN_FRAGMENT:
                    found.append((f"{path.relative_to(REPO_ROOT)}:{number}", text))
    return found


MESSAGES = python_messages() + powershell_messages()


def test_the_code_raises_messages_to_check():
    assert any("cannot read a version from" in text for _where, text in MESSAGES)
    assert any(text.startswith("Failed to read Win32_OperatingSystem") for _where, text in MESSAGES)


@pytest.mark.parametrize(("where", "text"), MESSAGES, ids=[f"{w}: {t[:40]}" for w, t in MESSAGES])
def test_troubleshooting_explains_the_message(where, text):
    assert text in DOC.read_text(encoding="utf-8"), f"{where} raises {text!r}; explain it in docs/troubleshooting.md"

