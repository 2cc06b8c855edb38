"""The shape of a module's result, read statically from its .ps1 and from its lab stand-in (test code only).

A shape is a set of key paths: ``os``, ``os.version``, ``drivers``, ``drivers[].name``. Each reader
also returns the paths whose children it knows completely (a hashtable or dict literal, possibly
grown key by key), so that a nested comparison is only made where both sides can be read.

PowerShell: keys set on ``$module.Result`` (``$module.Result.k = ...``, ``+=``, ``['k']``, and
``$module.Result.$name`` inside ``foreach ($name in @('a', 'b'))``), nested keys of hashtable
literals assigned there, of variables holding hashtable literals, and of the entries of an
``@(foreach (...) { ...; $entry })`` array.

Python: keys of the dicts a stand-in's ``run`` returns, following ``return helper(...)``,
``{**helper(...)}`` and ``{**result}`` into the module's own functions, the same nesting rules for
dict literals, variables (``x = {...}``, ``x["k"] = ...``, ``x.update(k=...)``) and lists built
with ``.append(entry)``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter as ts

from tests.static.powershell import _hash, _text, _unwrap, parse

#: Keys Ansible itself adds to or reads from every result; not part of a module's own contract.
STANDARD_KEYS = frozenset({"changed", "failed", "msg", "skipped", "exception", "warnings", "deprecations",
                           "invocation", "diff"})


@dataclass
class Shape:
    paths: set[str] = field(default_factory=set)
    literal: set[str] = field(default_factory=lambda: {""})  # "" = the top level
    computed: set[str] = field(default_factory=set)  # also assigned something the reader cannot follow

    @property
    def known(self) -> set[str]:
        """Paths whose children are all known: only ever assigned literals (or grown key by key)."""
        return self.literal - self.computed

    def add(self, prefix: str, keys: dict | set | list, known: bool = True) -> None:
        if known:
            self.literal.add(prefix)
        for key in keys:
            path = f"{prefix}.{key}" if prefix else key
            self.paths.add(path)
            if isinstance(keys, dict) and isinstance(keys[key], dict):
                self.add(path, keys[key])

    def children(self, prefix: str) -> set[str]:
        depth = prefix.count(".") + 1 if prefix else 0
        return {p for p in self.paths if p.startswith(prefix + "." if prefix else "") and p.count(".") == depth
                and (prefix or "." not in p)}

    def top_level(self) -> set[str]:
        return {p for p in self.paths if "." not in p} - STANDARD_KEYS


def compare(ps1: Shape, stand_in: Shape) -> list[str]:
    """Human-readable differences, one per key path; empty when the shapes agree."""
    problems = []
    for prefix in sorted(ps1.known & stand_in.known):
        left, right = ps1.children(prefix), stand_in.children(prefix)
        if not prefix:
            left, right = left - STANDARD_KEYS, right - STANDARD_KEYS
        where = f"under '{prefix}'" if prefix else "at the top level"
        for key in sorted(left - right):
            problems.append(f"'{key}' is set by the .ps1 but not returned by the lab stand-in ({where})")
        for key in sorted(right - left):
            problems.append(f"'{key}' is returned by the lab stand-in but never set by the .ps1 ({where})")
    return problems


# ---------------------------------------------------------------------------------------------
# PowerShell


_RESULT = re.compile(r"^\$module\.Result((?:\.[\w$]+|\[\s*['\"][\w]+['\"]\s*\])+)$", re.I)


def _walk(node: ts.Node):
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _assignments(root: ts.Node, source: bytes):
    for node in _walk(root):
        if node.type == "assignment_expression":
            left = next(c for c in node.children if c.type == "left_assignment_expression")
            value = next((c for c in node.children if c.type == "pipeline"), None)
            yield node, _text(left, source).strip(), value


def _loop_values(node: ts.Node, variable: str, source: bytes) -> list[str]:
    """Literal values ``$variable`` takes in an enclosing ``foreach ($variable in @('a', 'b'))``."""
    parent = node.parent
    while parent is not None:
        if parent.type == "foreach_statement":
            text = _text(parent, source)
            match = re.match(r"foreach\s*\(\s*\$(\w+)\s+in\s+@\(([^)]*)\)\s*\)", text, re.I)
            if match and match.group(1).lower() == variable.lower():
                return re.findall(r"'(\w+)'", match.group(2))
        parent = parent.parent
    return []


def ps1_shape(path: Path) -> Shape:
    source = path.read_bytes()
    root = parse(source).root_node
    variables: dict[str, Shape] = {}
    for _node, left, value in _assignments(root, source):
        match = re.fullmatch(r"\$(\w+)((?:\.\w+|\[\s*'\w+'\s*\])?)", left)
        if not match or match.group(1).lower() == "module" or value is None:
            continue
        shape = variables.setdefault(match.group(1).lower(), Shape(literal=set()))
        member = match.group(2).strip(".[]'\" ")
        if member:
            shape.paths.add(member)
        elif _unwrap(value).type == "hash_literal_expression":
            shape.add("", _hash(_unwrap(value), source))

    # ``$result = $module.Result`` makes ``$result.key = ...`` a result key too
    aliases = {
        left.lower() for _node, left, value in _assignments(root, source)
        if value is not None and re.fullmatch(r"\$\w+", left) and _text(value, source).strip().lower() == "$module.result"
    }
    result = Shape()
    for node, left, value in _assignments(root, source):
        for alias in aliases:
            if left.lower().startswith(alias) and left[len(alias):len(alias) + 1] in (".", "["):
                left = "$module.Result" + left[len(alias):]
        match = _RESULT.match(left)
        if not match:
            continue
        parts = re.findall(r"\.([\w$]+)|\[\s*['\"](\w+)['\"]\s*\]", match.group(1))
        keys = [a or b for a, b in parts]
        if keys[0].startswith("$"):
            names = _loop_values(node, keys[0][1:], source)
        else:
            names = [keys[0]]
        for name in names:
            path = ".".join([name, *keys[1:]])
            result.paths.add(name)
            result.paths.add(path)
            if value is None:
                continue
            appended = any(c.type == "assignement_operator" and _text(c, source).strip() == "+=" for c in node.children)
            if appended and _unwrap(value).type != "array_expression":
                path += "[]"  # $module.Result.services += $entry: an element of the list
            if not _ps1_value_shape(result, path, value, variables, source):
                result.computed.add(path)
    return result


def _ps1_value_shape(result: Shape, path: str, value: ts.Node, variables: dict[str, Shape], source: bytes) -> bool:
    """Record the keys of ``value`` under ``path``; False when they cannot be read."""
    node = _unwrap(value)
    if node.type == "hash_literal_expression":
        result.add(path, _hash(node, source))
        return True
    if node.type == "variable":
        shape = variables.get(_text(node, source).lstrip("$").lower())
        if shape is not None and "" in shape.known:
            result.add(path, {p: None for p in shape.paths if "." not in p})
            for nested in shape.paths:
                result.paths.add(f"{path}.{nested}")
            return True
        return False
    if node.type == "array_expression":
        statements = [n for n in _walk(node) if n.type == "foreach_statement"]
        for loop in statements[:1]:
            body = next((c for c in loop.children if c.type == "statement_block"), None)
            lines = [ln.strip() for ln in _text(body, source).strip("{} \n").splitlines() if ln.strip()] if body else []
            if lines and re.fullmatch(r"\$\w+", lines[-1]):
                shape = variables.get(lines[-1][1:].lower())
                if shape is not None and "" in shape.known:
                    result.add(f"{path}[]", {p: None for p in shape.paths if "." not in p})
                    result.paths.discard(f"{path}[]")
                    result.paths.update(f"{path}[].{p}" for p in shape.paths if "." not in p)
        return True
    return False


# ---------------------------------------------------------------------------------------------
# Python stand-ins


def _dict_keys(node: ast.Dict) -> dict[str, ast.AST]:
    return {k.value: v for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant) and isinstance(k.value, str)}


class _StandIn:
    def __init__(self, path: Path) -> None:
        self.tree = ast.parse(path.read_text(encoding="utf-8"))
        self.functions = {n.name: n for n in self.tree.body if isinstance(n, ast.FunctionDef)}
        self.result = Shape()
        self.seen: set[str] = set()

    def variable_keys(self, function: ast.FunctionDef, name: str) -> tuple[dict[str, list[ast.AST]], bool]:
        """Keys a local dict variable gets in ``function`` (with every value assigned to each), and
        whether it starts as a dict literal."""
        keys: dict[str, list[ast.AST]] = {}
        literal = False
        for node in ast.walk(function):
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name) and target.id == name and isinstance(node.value, ast.Dict):
                        literal = True
                        for key, value in _dict_keys(node.value).items():
                            keys.setdefault(key, []).append(value)
                    if (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                            and target.value.id == name):
                        for key in self._subscript_keys(function, target):
                            keys.setdefault(key, []).append(node.value)
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "update"
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == name):
                for kw in node.keywords:
                    if kw.arg:
                        keys.setdefault(kw.arg, []).append(kw.value)
        return keys, literal

    def _subscript_keys(self, function: ast.FunctionDef, target: ast.Subscript) -> list[str]:
        index = target.slice
        if isinstance(index, ast.Constant) and isinstance(index.value, str):
            return [index.value]
        if isinstance(index, ast.Name):  # for name in ("a", "b"): result[name] = ...
            for loop in ast.walk(function):
                if (isinstance(loop, ast.For) and isinstance(loop.target, ast.Name) and loop.target.id == index.id
                        and isinstance(loop.iter, (ast.Tuple, ast.List))):
                    return [e.value for e in loop.iter.elts if isinstance(e, ast.Constant)]
        return []

    def returned(self, name: str) -> None:
        if name in self.seen or name not in self.functions:
            return
        self.seen.add(name)
        function = self.functions[name]
        for node in ast.walk(function):
            if isinstance(node, ast.Return) and node.value is not None:
                self.expression(function, node.value)

    def expression(self, function: ast.FunctionDef, node: ast.AST) -> None:
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if key is None:
                    self.expression(function, value)  # {**other}
                elif isinstance(key, ast.Constant) and isinstance(key.value, str):
                    self.result.paths.add(key.value)
                    self.value(function, key.value, value)
        elif isinstance(node, ast.Name):
            keys, _literal = self.variable_keys(function, node.id)
            for key, values in keys.items():
                self.result.paths.add(key)
                for value in values:
                    self.value(function, key, value)
            for key, entry in self._appended_to_key(function, node.id):  # result["services"].append(entry)
                self.value_of_entry(function, f"{key}[]", entry)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            self.returned(node.func.id)

    def value(self, function: ast.FunctionDef, path: str, node: ast.AST) -> None:
        if isinstance(node, ast.Dict):
            keys = _dict_keys(node)
            if len(keys) != len(node.keys) or not all(k.isidentifier() for k in keys):
                self.result.computed.add(path)  # {**other} or data keys such as paths
                return
            self.result.add(path, {k: None for k in keys})
            for key, value in keys.items():
                self.value(function, f"{path}.{key}", value)
        elif isinstance(node, ast.Name):
            keys, literal = self.variable_keys(function, node.id)
            if literal:
                self.result.add(path, {k: None for k in keys})
                return
            items = self._appended(function, node.id)  # drivers.append(entry)
            for item in items:
                self.value_of_entry(function, f"{path}[]", item)
            if not items:
                self.result.computed.add(path)
        elif isinstance(node, (ast.List, ast.ListComp, ast.Constant, ast.JoinedStr, ast.Compare, ast.BoolOp,
                               ast.UnaryOp)):
            return  # a scalar or a list: no keys
        else:
            self.result.computed.add(path)

    def value_of_entry(self, function: ast.FunctionDef, path: str, name: str) -> None:
        keys, literal = self.variable_keys(function, name)
        if literal:
            self.result.literal.add(path)
            self.result.paths.update(f"{path}.{k}" for k in keys)
        else:
            self.result.computed.add(path)

    @staticmethod
    def _appended_to_key(function: ast.FunctionDef, name: str) -> list[tuple[str, str]]:
        return [(node.func.value.slice.value, node.args[0].id) for node in ast.walk(function)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "append"
                and isinstance(node.func.value, ast.Subscript) and isinstance(node.func.value.value, ast.Name)
                and node.func.value.value.id == name and isinstance(node.func.value.slice, ast.Constant)
                and node.args and isinstance(node.args[0], ast.Name)]

    @staticmethod
    def _appended(function: ast.FunctionDef, name: str) -> list[str]:
        return [node.args[0].id for node in ast.walk(function)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "append"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == name
                and node.args and isinstance(node.args[0], ast.Name)]


def stand_in_shape(path: Path) -> Shape:
    reader = _StandIn(path)
    reader.returned("run")
    return reader.result
