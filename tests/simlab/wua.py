"""The Windows Update Agent's search, as the simulated nodes answer it (test code only).

Written from Microsoft's documentation, not from the collection's code (tests/simlab never imports
``plugins/``), so a criterion the product accepts or refuses is checked against an independent
reading of the same pages:

* the grammar: MS-UAMG 3.38.4.11 IUpdateSearcher::Search (Opnum 20),
  https://learn.microsoft.com/openspecs/windows_protocols/ms-uamg/8bc81f1d-0491-463c-a347-a4486b7d83ab ::

      criteria  = andgroup *(1*WSP "or" 1*WSP andgroup)
      andgroup  = andgroup *(1*WSP "and" 1*WSP andgroup) / "(" *WSP andgroup *WSP ")" / criterion
      criterion = propertyname *WSP operator *WSP value / "(" *WSP criterion *WSP ")"
      operator  = "=" / "!=" / "contains";  value = string / integer
      string    = "'" *CHAR "'";  integer = ["-"] 1*DIGIT

* the properties, their operators and value types: the table of the same section and the
  remarks of https://learn.microsoft.com/windows/win32/api/wuapi/nf-wuapi-iupdatesearcher-search
  ("OR can be used only at the top level", "!= can be used only with the Type criterion" for WUA
  itself, MS-UAMG also lists it for UpdateID; string comparisons are case-insensitive;
  RevisionNumber only together with UpdateID; DeploymentAction defaults to 'Installation' in each
  and-group that does not name it).

An invalid criterion raises :class:`WuaError` with WUA's HRESULT 0x80240032 WU_E_INVALID_CRITERIA
(https://learn.microsoft.com/windows/deployment/update/windows-update-error-reference).
"""

from __future__ import annotations

import re
from typing import Any

INVALID_CRITERIA = "0x80240032 WU_E_INVALID_CRITERIA"

# Property -> (operators, value type). MS-UAMG 3.38.4.11, table of supported properties.
_PROPERTIES: dict[str, tuple[tuple[str, ...], str]] = {
    "type": (("=", "!="), "string"),
    "deploymentaction": (("=",), "string"),
    "isassigned": (("=",), "bool"),
    "autoselectonwebsites": (("=",), "bool"),
    "browseonly": (("=",), "bool"),
    "updateid": (("=", "!="), "string"),
    "revisionnumber": (("=",), "int"),
    "categoryids": (("contains",), "string"),
    "isinstalled": (("=",), "bool"),
    "ishidden": (("=",), "bool"),
    "ispresent": (("=",), "bool"),
    "rebootrequired": (("=",), "bool"),
}
_TOKEN = re.compile(r"\s*(?:(?P<paren>[()])|(?P<op>!=|=)|(?P<string>'[^']*')|(?P<int>-?\d+)|(?P<word>[A-Za-z]+))")


class WuaError(ValueError):
    """What IUpdateSearcher::Search returns for a criterion outside its grammar."""

    def __init__(self, why: str) -> None:
        super().__init__(f"{INVALID_CRITERIA}: {why}")


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None:
            raise WuaError(f"unexpected text at offset {pos}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    """criteria -> list of and-groups, each a list of (property, operator, value)."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _next(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise WuaError("the criteria end too early")
        self.pos += 1
        return token

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        return token is not None and token[0] == "word" and token[1].lower() == word

    def criteria(self) -> list[list[tuple[str, str, Any]]]:
        groups = [self.andgroup()]
        while self._keyword("or"):
            self.pos += 1
            groups.append(self.andgroup())
        if self._peek() is not None:
            raise WuaError(f"unexpected {self._peek()[1]!r}")
        for group in groups:
            names = [name for name, _, _ in group]
            if "revisionnumber" in names and "updateid" not in names:
                raise WuaError("RevisionNumber needs UpdateID in the same and-group")
        return groups

    def andgroup(self) -> list[tuple[str, str, Any]]:
        terms = self.term()
        while self._keyword("and"):
            self.pos += 1
            terms += self.term()
        return terms

    def term(self) -> list[tuple[str, str, Any]]:
        if self._peek() == ("paren", "("):
            self.pos += 1
            inner = self.andgroup()  # "(" andgroup ")": no "or" inside parentheses
            if self._next() != ("paren", ")"):
                raise WuaError("'(' without ')' (or 'or' inside parentheses)")
            return inner
        return [self.criterion()]

    def criterion(self) -> tuple[str, str, Any]:
        kind, name = self._next()
        if kind != "word" or name.lower() not in _PROPERTIES:
            raise WuaError(f"{name!r} is not a search property")
        operators, value_type = _PROPERTIES[name.lower()]
        kind, operator = self._next()
        operator = operator.lower()
        if operator not in operators:
            raise WuaError(f"{name} does not take {operator}")
        kind, raw = self._next()
        if value_type == "string":
            if kind != "string":
                raise WuaError(f"{name} takes a quoted string")
            value: Any = raw[1:-1].lower()
            if name.lower() in ("updateid", "categoryids") and not re.fullmatch(
                    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", value):
                raise WuaError(f"{name} takes a GUID, got {raw}")
        else:
            if kind != "int":
                raise WuaError(f"{name} takes an integer")
            value = int(raw)
            if value_type == "bool" and value not in (0, 1):
                raise WuaError(f"{name} takes 0 or 1")
        return name.lower(), operator, value


def _value(update: dict[str, Any], name: str) -> Any:
    """A simulated update's value of a search property (strings lower case: comparisons ignore case)."""
    return {
        "type": update["type"].lower(),
        "deploymentaction": update.get("deployment_action", "Installation").lower(),
        "isassigned": int(update["assigned"]),
        "autoselectonwebsites": int(not update["recommended"]),
        "browseonly": int(update["browse_only"]),
        "updateid": update["id"].lower(),
        "revisionnumber": update["revision"],
        "isinstalled": int(update["installed"]),
        "ishidden": int(update["hidden"]),
        "ispresent": int(update["installed"]),
        "rebootrequired": 0,
    }[name]


def _matches(group: list[tuple[str, str, Any]], update: dict[str, Any]) -> bool:
    # Each and-group without a DeploymentAction criterion means DeploymentAction='Installation'
    # (IUpdateSearcher::Search remarks).
    if not any(name == "deploymentaction" for name, _, _ in group):
        group = [*group, ("deploymentaction", "=", "installation")]
    for name, operator, expected in group:
        if name == "categoryids":
            if expected not in [c.lower() for c in update["categories"]]:
                return False
            continue
        actual = _value(update, name)
        if (actual != expected) if operator == "=" else (actual == expected):
            return False
    return True


def search(updates: list[dict[str, Any]], criteria: str) -> list[dict[str, Any]]:
    """The updates IUpdateSearcher::Search(criteria) returns, in the order the node lists them."""
    groups = _Parser(criteria).criteria()
    return [update for update in updates if any(_matches(group, update) for group in groups)]
