"""Read PowerShell statically with tree-sitter-powershell (test code only).

No PowerShell binary exists on our machines, so host-side modules are checked by parsing: every
``.ps1`` must parse without error, and a module's ``$spec`` hashtable is read into Python data so
that tests (and the simulated lab, which rejects options the way ``Ansible.Basic`` would) can
compare it with the module's DOCUMENTATION.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import tree_sitter as ts
import tree_sitter_powershell as tsp

_PARSER = ts.Parser(ts.Language(tsp.language()))

# Wrapper nodes the grammar nests every expression in; a value is found by descending them.
_VALUE_TYPES = {
    "hash_literal_expression", "string_literal", "expandable_string_literal", "verbatim_string_characters",
    "integer_literal", "variable", "array_expression", "array_literal_expression", "real_literal",
}


def parse(source: bytes) -> ts.Tree:
    return _PARSER.parse(source)


def syntax_errors(source: bytes) -> list[str]:
    """``line:column: text`` of every ERROR or missing node (empty when the script parses)."""
    errors: list[str] = []

    def visit(node: ts.Node) -> None:
        if node.type == "ERROR" or node.is_missing:
            line, column = node.start_point
            errors.append(f"{line + 1}:{column + 1}: {source[node.start_byte:node.end_byte][:60]!r}")
        for child in node.children:
            visit(child)

    visit(parse(source).root_node)
    return errors


def _text(node: ts.Node, source: bytes) -> str:
    return source[node.start_byte:node.end_byte].decode("utf-8")


def _unwrap(node: ts.Node) -> ts.Node:
    """Descend single-child wrapper nodes to the node that carries the value."""
    while node.type not in _VALUE_TYPES:
        named = [child for child in node.children if child.is_named]
        if len(named) != 1:
            break
        node = named[0]
    # "a, b" parses as array_literal_expression with several children; one child is a wrapper.
    if node.type == "array_literal_expression":
        named = [child for child in node.children if child.is_named]
        if len(named) == 1:
            return _unwrap(named[0])
    return node


def _value(node: ts.Node, source: bytes) -> Any:
    node = _unwrap(node)
    text = _text(node, source)
    if node.type == "hash_literal_expression":
        return _hash(node, source)
    if node.type in ("string_literal", "expandable_string_literal", "verbatim_string_characters"):
        return text[1:-1] if text[:1] in "'\"" else text
    if node.type == "integer_literal":
        return int(text)
    if node.type == "variable":
        return {"$true": True, "$false": False, "$null": None}.get(text.lower(), text)
    if node.type == "array_expression":
        inner = [child for child in node.children if child.is_named]
        return _value(inner[0], source) if inner else []
    if node.type == "array_literal_expression":
        values = [_value(child, source) for child in node.children if child.is_named]
        return [v for item in values for v in (item if isinstance(item, list) else [item])]
    return text


def _hash(node: ts.Node, source: bytes) -> dict[str, Any]:
    result: dict[str, Any] = {}
    body = next((child for child in node.children if child.type == "hash_literal_body"), None)
    for entry in body.children if body else []:
        if entry.type != "hash_entry":
            continue
        key_node = next(child for child in entry.children if child.type == "key_expression")
        value_node = next(child for child in entry.children if child.type == "pipeline")
        key = _text(key_node, source).strip("'\"")
        result[key] = _value(value_node, source)
    return result


def module_spec(path: str | Path) -> dict[str, Any]:
    """The ``$spec = @{...}`` hashtable of a PowerShell module, as Python data."""
    return _module_spec_cached(str(path))


@lru_cache(maxsize=None)
def _module_spec_cached(path: str) -> dict[str, Any]:
    source = Path(path).read_bytes()
    found: list[ts.Node] = []

    def visit(node: ts.Node) -> None:
        if node.type == "assignment_expression" and _text(node, source).lstrip().lower().startswith("$spec"):
            found.append(node)
            return
        for child in node.children:
            visit(child)

    visit(parse(source).root_node)
    if not found:
        raise ValueError(f"{path}: no '$spec = @{{...}}' assignment")
    value_node = next(child for child in found[0].children if child.type == "pipeline")
    spec = _value(value_node, source)
    if not isinstance(spec, dict):
        raise ValueError(f"{path}: $spec is not a hashtable literal")
    return spec
