"""Windows PowerShell 5.1's pipeline rules for the few statements the lab runs itself (test code only).

Some defects live in how Windows PowerShell 5.1 moves objects down a pipeline, which a Python
stand-in of a module cannot show. Where the lab needs that, it runs the module's own statement
(read from the ``.ps1``, as Windows would) through this small evaluator, which follows 5.1's
documented rules and refuses any syntax outside its subset instead of guessing:

- ``ConvertFrom-Json`` in Windows PowerShell 5.1 writes a JSON array to the pipeline as ONE object
  (an ``Object[]``); PowerShell 6 changed it to send the elements one by one, and 7.0 added
  ``-NoEnumerate`` to get the old behaviour back.
  https://learn.microsoft.com/powershell/module/microsoft.powershell.utility/convertfrom-json
  https://learn.microsoft.com/powershell/scripting/whats-new/differences-from-windows-powershell
  https://github.com/PowerShell/PowerShell/issues/3424
- ``[string]`` of an array joins its elements with ``$OFS`` (a space by default).
  https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_preference_variables#ofs
- ``(...)`` collects a pipeline's output (one object stays that object), and an array written to a
  pipeline as an expression is enumerated; ``@(...)`` returns an array, and a single array output
  is returned as it is.
  https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_operators#grouping-operator--
  https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_operators#array-subexpression-operator--
- ``Get-Content -Raw`` writes the whole file as one string.
  https://learn.microsoft.com/powershell/module/microsoft.powershell.management/get-content
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["Ps51Error", "evaluate_statement", "convert_from_json", "to_string"]

_TOKEN_RE = re.compile(
    r"\s*(?:(?P<string_cast>\[string\])|(?P<param>-[A-Za-z]+)|(?P<var>\$[A-Za-z_][\w:]*)"
    r"|(?P<punct>@\(|[(){}|,.])|(?P<word>[A-Za-z][\w-]*))"
)


class Ps51Error(ValueError):
    """The statement uses syntax this evaluator does not model."""


def convert_from_json(text: str) -> list[Any]:
    """What ``ConvertFrom-Json`` writes to the pipeline in 5.1: one object, even for a JSON array."""
    return [json.loads(text)]


def to_string(value: Any) -> str:
    """``[string]$value``: an array is joined with ``$OFS`` (a space)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(to_string(item) for item in value)
    return str(value)


def _tokens(statement: str) -> list[str]:
    tokens, position = [], 0
    statement = statement.strip()
    while position < len(statement):
        match = _TOKEN_RE.match(statement, position)
        if match is None or match.end() == position:
            raise Ps51Error(f"simlab ps51: cannot read {statement[position:]!r}")
        tokens.append(match.group(match.lastgroup or 0).strip())
        position = match.end()
    return [t for t in tokens if t]


class _Evaluator:
    def __init__(self, tokens: list[str], files: dict[str, str]) -> None:
        self.tokens = tokens
        self.files = files
        self.position = 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token.lower() != expected.lower()):
            raise Ps51Error(f"simlab ps51: expected {expected!r}, found {token!r}")
        self.position += 1
        return token

    def statement(self) -> Any:
        if (self.peek() or "").lower() == "return":
            self.take()
        if self.peek() == ",":
            self.take(",")  # unary comma: the value is returned as one object
        value = self.pipeline_value()
        if self.peek() is not None:
            raise Ps51Error(f"simlab ps51: unexpected {self.peek()!r}")
        return value

    def pipeline_value(self) -> Any:
        """A pipeline whose output is assigned or returned: one object stays that object."""
        if self.peek() in ("(", "@("):
            start = self.position
            value = self.grouped()
            if self.peek() != "|":
                return value  # an expression, not a pipeline: its value as it is
            self.position = start
        output = self.pipeline()
        if not output:
            return None
        return output[0] if len(output) == 1 else output

    def pipeline(self) -> list[Any]:
        stream = self.first_element()
        while self.peek() == "|":
            self.take("|")
            stream = self.command(stream)
        return stream

    def first_element(self) -> list[Any]:
        token = self.peek()
        if token in ("(", "@("):
            value = self.grouped()
            # an array written to a pipeline as an expression is enumerated
            return list(value) if isinstance(value, list) else ([] if value is None else [value])
        return self.command([])

    def grouped(self) -> Any:
        opener = self.take()
        output = self.pipeline()
        self.take(")")
        if opener == "@(":
            value: Any = output[0] if len(output) == 1 and isinstance(output[0], list) else output
        else:
            value = None if not output else output[0] if len(output) == 1 else output
        while self.peek() == ".":
            self.take(".")
            value = _member(value, self.take())
        return value

    def argument(self) -> Any:
        token = self.take()
        if token.startswith("$"):
            return self.files.get(token.lower(), token)
        if token in ("(", "@("):
            self.position -= 1
            return self.grouped()
        return token

    def command(self, stream: list[Any]) -> list[Any]:
        name = self.take().lower()
        params: dict[str, Any] = {}
        block: str | None = None
        while self.peek() not in (None, "|", ")"):
            token = self.peek() or ""
            if token == "{":
                self.take("{")
                parts = []
                while self.peek() != "}":
                    parts.append(self.take())
                self.take("}")
                block = " ".join(parts)
            elif token.startswith("-"):
                self.take()
                switch = token.lower()
                if switch in ("-raw", "-compress"):
                    params[switch] = True
                else:
                    params[switch] = self.argument()
            else:
                raise Ps51Error(f"simlab ps51: positional argument {token!r} of {name} is not modelled")
        if name == "get-content":
            path = params.get("-literalpath", params.get("-path"))
            text = self.files.get(str(path).lower()) if not isinstance(path, str) or not path.startswith("$") else None
            if text is None:
                text = self.files.get("get-content", "")
            return [text] if params.get("-raw") else text.splitlines()
        if name == "convertfrom-json":
            text = params.get("-inputobject")
            if text is None:
                text = "\n".join(str(item) for item in stream)  # 5.1 joins its input lines
            return convert_from_json(text)
        if name == "foreach-object":
            if block is None or block.replace(" ", "") != "[string]$_":
                raise Ps51Error(f"simlab ps51: ForEach-Object {{ {block} }} is not modelled")
            return [to_string(item) for item in stream]
        if name == "write-output":
            out: list[Any] = []
            for item in stream:  # Write-Output enumerates each input object it writes
                out.extend(item if isinstance(item, list) else [item])
            return out
        raise Ps51Error(f"simlab ps51: the command {name!r} is not modelled")


def _member(value: Any, name: str) -> Any:
    """``.name``: a property, or member enumeration over an array (PowerShell 3.0 and later)."""
    if isinstance(value, list):
        return [_member(item, name) for item in value]
    if isinstance(value, dict):
        return value.get(name)
    return None


def evaluate_statement(statement: str, files: dict[str, str]) -> Any:
    """The value a statement returns under 5.1's rules; ``files`` maps ``Get-Content`` paths to text.

    The key ``get-content`` answers any ``Get-Content`` whose path is a variable.
    """
    return _Evaluator(_tokens(statement), files).statement()
