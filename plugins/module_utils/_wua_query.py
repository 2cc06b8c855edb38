# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows Update Agent search criteria for CAU (for internal collection use only).

``Microsoft.WindowsUpdatePlugin`` takes a ``QueryString`` argument that is handed to
``IUpdateSearcher::Search`` on every node. A bad criterion is only noticed on the nodes, in the
middle of an updating run, so this module checks it on the controller first:

* :func:`build_query` turns structured YAML fields into a criterion whose defaults reproduce the
  queries Microsoft documents for the plug-in in "How Cluster-Aware Updating plug-ins work"
  (https://learn.microsoft.com/windows-server/failover-clustering/cluster-aware-updating-plug-ins):
  ``IsInstalled=0 and Type='Software' and IsHidden=0 and IsAssigned=1``; drivers only:
  ``IsInstalled=0 and Type='Driver' and IsHidden=0``.
* :func:`parse_query` / :func:`validate_query` check a raw ``QueryString`` against the grammar
  MS-UAMG gives for ``IUpdateSearcher::Search``
  (https://learn.microsoft.com/openspecs/windows_protocols/ms-uamg/8bc81f1d-0491-463c-a347-a4486b7d83ab)::

      criteria  = andgroup *(1*WSP "or" 1*WSP andgroup)
      andgroup  = andgroup *(1*WSP "and" 1*WSP andgroup) / "(" *WSP andgroup *WSP ")" / criterion
      criterion = propertyname *WSP operator *WSP value / "(" *WSP criterion *WSP ")"
      value     = string / integer;  integer = ["-"] 1*DIGIT

  with the operators and value types of its property table and the remarks of
  https://learn.microsoft.com/windows/win32/api/wuapi/nf-wuapi-iupdatesearcher-search
  (``or`` only at the top level, ``and`` binds tighter, string comparisons case-insensitive,
  ``RevisionNumber`` only next to ``UpdateID``). Nothing stricter than that is enforced.
* :func:`double_quotes_for_cluster_role` applies the doubled single quotes that
  ``Add-CauClusterRole`` / ``Set-CauClusterRole`` (and the CAU UI's self-updating options) need.

Pure standard library: controller-side action plugins import it, and the unit tests run it
without Ansible.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field as dataclass_field
from typing import Final, Literal

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError, kind_of

__all__ = [
    "DEFAULT_QUERY",
    "DEPLOYMENT_ACTIONS",
    "DRIVERS_ONLY_QUERY",
    "PROPERTY_NAMES",
    "BUILDER_FIELDS",
    "Criterion",
    "WuaQuery",
    "build_query",
    "format_query",
    "parse_query",
    "validate_query",
    "double_quotes_for_cluster_role",
]

DEFAULT_QUERY: Final = "IsInstalled=0 and Type='Software' and IsHidden=0 and IsAssigned=1"
"""The plug-in's own default criterion, as "How Cluster-Aware Updating plug-ins work" documents it."""

DRIVERS_ONLY_QUERY: Final = "IsInstalled=0 and Type='Driver' and IsHidden=0"
"""The "drivers only" example of the same page; ``build_query({'type': 'Driver'})`` produces it."""

_GUID_RE: Final = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_GUID_FORMAT: Final = "a GUID like 'f6ce46c1-971c-43f9-a2aa-783df125f003' (no braces)"

_Kind = Literal["bool", "int", "guid", "enum"]

DEPLOYMENT_ACTIONS: Final = ("Installation", "Uninstallation", "OptionalInstallation")
"""Every DeploymentAction value a search may name."""


@dataclass(frozen=True)
class _Property:
    """What WUA accepts for one search property: value kind, operators, allowed strings."""

    name: str
    kind: _Kind
    operators: tuple[str, ...] = ("=",)
    choices: tuple[str, ...] = ()


_PROPERTY_LIST: Final = (
    _Property("AutoSelectOnWebSites", "bool"),
    _Property("BrowseOnly", "bool"),
    _Property("CategoryIDs", "guid", ("contains",)),
    # The search values the IUpdateSearcher::Search remarks document for DeploymentAction
    # (https://learn.microsoft.com/windows/win32/api/wuapi/nf-wuapi-iupdatesearcher-search).
    _Property("DeploymentAction", "enum", choices=DEPLOYMENT_ACTIONS),
    _Property("IsAssigned", "bool"),
    _Property("IsHidden", "bool"),
    _Property("IsInstalled", "bool"),
    _Property("IsPresent", "bool"),
    _Property("RebootRequired", "bool"),
    _Property("RevisionNumber", "int"),
    _Property("Type", "enum", ("=", "!="), ("Software", "Driver")),
    _Property("UpdateID", "guid", ("=", "!=")),
)
# WUA matches property names case-insensitively; we look them up the same way and always
# report the documented spelling.
_PROPERTIES: Final = {prop.name.lower(): prop for prop in _PROPERTY_LIST}
PROPERTY_NAMES: Final = tuple(prop.name for prop in _PROPERTY_LIST)
"""Every search property the validator knows, in the documented spelling."""

_KEYWORDS: Final = frozenset({"and", "or", "contains"})
_NOT_EQUAL_PROPERTIES: Final = " and ".join(p.name for p in _PROPERTY_LIST if "!=" in p.operators)


@dataclass(frozen=True)
class Criterion:
    """One ``Property op value`` term, with the property in its documented spelling."""

    property: str
    operator: str
    value: str | int

    def __str__(self) -> str:
        """Render the term as WUA expects it: strings single-quoted, integers bare."""
        value = f"'{self.value}'" if isinstance(self.value, str) else str(self.value)
        if self.operator == "contains":
            return f"{self.property} contains {value}"
        return f"{self.property}{self.operator}{value}"


@dataclass(frozen=True)
class WuaQuery:
    """A parsed criterion: ``or`` of ``and`` groups (WUA allows ``or`` only at the top level)."""

    groups: tuple[tuple[Criterion, ...], ...]

    def __str__(self) -> str:
        return format_query(self)


def format_query(query: WuaQuery) -> str:
    """Render a parsed or built criterion in canonical form.

    One group is written bare (``a and b``), as in Microsoft's examples; several groups are each
    parenthesised (``(a and b) or (c)``) so that no reader, and no WUA version, has to guess
    whether ``and`` binds tighter than ``or``.
    """
    texts = [" and ".join(str(c) for c in group) for group in query.groups]
    if len(texts) == 1:
        return texts[0]
    return " or ".join(f"({text})" for text in texts)


# --------------------------------------------------------------------------------------------
# Tokenizer


@dataclass(frozen=True)
class _Token:
    """A lexical token; ``start`` is the 0-based offset of its first character in the query."""

    kind: Literal["lparen", "rparen", "op", "word", "string", "int", "end"]
    text: str
    start: int

    @property
    def where(self) -> str:
        """Human position: 1-based column and the token text, for error messages."""
        if self.kind == "end":
            return f"at column {self.start + 1} (end of query)"
        return f"at column {self.start + 1} ({self.text!r})"


# Characters people paste from documents or other languages, with what to write instead.
_LOOKALIKES: Final = {
    "\u2018": "a typographic quote (U+2018); write the ASCII apostrophe '",
    "\u2019": "a typographic quote (U+2019); write the ASCII apostrophe '",
    "\u201a": "a typographic quote (U+201A); write the ASCII apostrophe '",
    "\u201b": "a typographic quote (U+201B); write the ASCII apostrophe '",
    '"': "a double quote; WUA strings are in single quotes: Type='Driver'",
    "\u201c": "a typographic double quote (U+201C); WUA strings are in single quotes",
    "\u201d": "a typographic double quote (U+201D); WUA strings are in single quotes",
    "<": "an unsupported operator; WUA accepts only =, != and contains",
    ">": "an unsupported operator; WUA accepts only =, != and contains",
    "\n": "a line break; write the criterion on one line (YAML '>-' folds lines)",
    "\r": "a line break; write the criterion on one line (YAML '>-' folds lines)",
}


def _tokenize(text: str, field: str) -> list[_Token]:
    """Split a criterion into tokens, rejecting anything WUA's grammar has no use for.

    Strings run from one apostrophe to the next: WUA values (GUIDs and a few keywords) never
    contain an apostrophe, so there is no escape syntax to honour, and an empty ``''`` is almost
    always a cluster-role query pasted with its quotes already doubled.
    """
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char in " \t":
            pos += 1
        elif char in "()":
            tokens.append(_Token("lparen" if char == "(" else "rparen", char, pos))
            pos += 1
        elif char == "=":
            tokens.append(_Token("op", "=", pos))
            pos += 1
        elif char == "!":
            if text.startswith("!=", pos):
                tokens.append(_Token("op", "!=", pos))
                pos += 2
            else:
                raise InputError(
                    field, f"at column {pos + 1} ('!'): expected '!=' (WUA operators: =, !=, contains)"
                )
        elif char == "'":
            end = text.find("'", pos + 1)
            if end < 0:
                raise InputError(
                    field,
                    f"at column {pos + 1}: unbalanced single quote, the string opened here is never closed",
                )
            if end == pos + 1:
                raise InputError(
                    field,
                    f"at column {pos + 1}: empty string ''. If this query was copied from a cluster-role "
                    "example with doubled quotes (UpdateID=''...''), write single quotes: the doubling "
                    "is applied for Add-CauClusterRole / Set-CauClusterRole automatically",
                )
            tokens.append(_Token("string", text[pos : end + 1], pos))
            pos = end + 1
        elif (char.isascii() and char.isdigit()) or (
            char == "-" and pos + 1 < len(text) and text[pos + 1].isascii() and text[pos + 1].isdigit()
        ):
            # integer = ["-"] 1*DIGIT (MS-UAMG 3.38.4.11)
            end = pos + 1
            while end < len(text) and text[end].isascii() and text[end].isdigit():
                end += 1
            if end < len(text) and (text[end].isalnum() or text[end] == "_"):
                while end < len(text) and (text[end].isalnum() or text[end] == "_"):
                    end += 1
                raise InputError(
                    field,
                    f"at column {pos + 1} ({text[pos:end]!r}): integers are written in base 10 with digits only",
                )
            tokens.append(_Token("int", text[pos:end], pos))
            pos = end
        elif char.isascii() and (char.isalpha() or char == "_"):
            end = pos
            while end < len(text) and text[end].isascii() and (text[end].isalnum() or text[end] == "_"):
                end += 1
            tokens.append(_Token("word", text[pos:end], pos))
            pos = end
        else:
            hint = _LOOKALIKES.get(char, "a character WUA criteria cannot contain")
            raise InputError(field, f"at column {pos + 1} ({char!r}): unexpected character, {hint}")
    tokens.append(_Token("end", "", len(text)))
    return tokens


# --------------------------------------------------------------------------------------------
# Parser


@dataclass
class _Group:
    """An ``and`` group as parsed: its criteria and the tokens behind them."""

    criteria: list[Criterion] = dataclass_field(default_factory=list)
    names: list[_Token] = dataclass_field(default_factory=list)
    literals: list[tuple[str, _Token]] = dataclass_field(default_factory=list)


class _Parser:
    """Recursive-descent parser for MS-UAMG's criteria grammar (see the module docstring)::

        query     := group ('or' group)* END
        group     := term ('and' term)*
        term      := '(' inner ')' | criterion
        inner     := term ('and' term)*            -- 'or' here is an error
        criterion := PROPERTY ('=' | '!=') value | 'CategoryIDs' 'contains' STRING

    ``and`` binds tighter than ``or``, so ``a and b or c and d`` is two and-groups, exactly as
    ``(a and b) or (c and d)``: the grammar allows both spellings.
    """

    def __init__(self, text: str, field: str) -> None:
        self.field = field
        self.tokens = _tokenize(text, field)
        self.index = 0

    def error(self, token: _Token, message: str) -> InputError:
        """Build the error for ``token``: position first, then what is wrong and what is valid."""
        return InputError(self.field, f"{token.where}: {message}")

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def at_keyword(self, keyword: str) -> bool:
        token = self.peek()
        return token.kind == "word" and token.text.lower() == keyword

    def parse(self) -> tuple[WuaQuery, list[tuple[str, _Token]]]:
        """Parse the whole criterion; return it and every string literal with its property."""
        if self.peek().kind == "end":
            raise InputError(self.field, "the criterion is empty; for example " + DEFAULT_QUERY)
        groups = [self.group()]
        while self.at_keyword("or"):
            self.take()
            groups.append(self.group())
        token = self.peek()
        if token.kind != "end":
            if token.kind == "rparen":
                raise self.error(token, "')' without a matching '('")
            raise self.error(token, "expected 'and', 'or' or the end of the criterion")
        literals: list[tuple[str, _Token]] = []
        for group in groups:
            self.check_revision_number(group)
            literals.extend(group.literals)
        return WuaQuery(tuple(tuple(g.criteria) for g in groups)), literals

    def group(self) -> _Group:
        group = _Group()
        self.term(group)
        while self.at_keyword("and"):
            self.take()
            self.term(group)
        return group

    def term(self, group: _Group) -> None:
        token = self.peek()
        if token.kind != "lparen":
            self.criterion(group)
            return
        self.take()
        self.term(group)
        while self.at_keyword("and"):
            self.take()
            self.term(group)
        closing = self.peek()
        if closing.kind == "rparen":
            self.take()
            return
        if self.at_keyword("or"):
            raise self.error(
                closing,
                "'or' is only allowed at the top level: write (a and b) or (c), not (a) and (b or c)",
            )
        raise self.error(closing, f"expected 'and' or ')' to close the '(' at column {token.start + 1}")

    def criterion(self, group: _Group) -> None:
        name = self.take()
        if name.kind != "word" or name.text.lower() in _KEYWORDS:
            raise self.error(name, "expected a property name: " + ", ".join(PROPERTY_NAMES))
        prop = _PROPERTIES.get(name.text.lower())
        if prop is None:
            raise self.error(
                name, "not a WUA search property; valid properties: " + ", ".join(PROPERTY_NAMES)
            )
        operator = self.take()
        if operator.kind == "word" and operator.text.lower() == "contains":
            op = "contains"
        elif operator.kind == "op":
            op = operator.text
        else:
            raise self.error(
                operator, f"expected an operator after {prop.name}: " + " or ".join(prop.operators)
            )
        if op not in prop.operators:
            raise self.error(operator, _operator_message(prop, op))
        value_token = self.take()
        value = self.value(prop, value_token)
        group.criteria.append(Criterion(prop.name, op, value))
        group.names.append(name)
        if value_token.kind == "string":
            group.literals.append((prop.name, value_token))

    def value(self, prop: _Property, token: _Token) -> str | int:
        """Check the value token against the property's kind and return its Python value."""
        if prop.kind in ("bool", "int"):
            if token.kind != "int":
                expected = "0 or 1" if prop.kind == "bool" else "a base-10 integer"
                raise self.error(token, f"{prop.name} takes {expected}, without quotes")
            number = int(token.text)
            if prop.kind == "bool" and number not in (0, 1):
                raise self.error(token, f"{prop.name} takes 0 or 1")
            return number
        if token.kind != "string":
            example = prop.choices[0] if prop.choices else "f6ce46c1-971c-43f9-a2aa-783df125f003"
            raise self.error(
                token, f"{prop.name} takes a string in single quotes, e.g. {prop.name}='{example}'"
            )
        text = token.text[1:-1]
        if prop.kind == "guid":
            if not _GUID_RE.fullmatch(text):
                raise self.error(token, f"{prop.name} takes {_GUID_FORMAT}")
            return text
        # "String comparisons MUST be case-insensitive" (MS-UAMG 3.38.4.11): 'driver' is 'Driver'.
        match = next((choice for choice in prop.choices if choice.lower() == text.lower()), None)
        if match is None:
            valid = " or ".join(f"'{choice}'" for choice in prop.choices)
            raise self.error(token, f"{prop.name} takes {valid}")
        return match

    def check_revision_number(self, group: _Group) -> None:
        """WUA accepts RevisionNumber only as a refinement of an UpdateID in the same group."""
        properties = [c.property for c in group.criteria]
        if "RevisionNumber" in properties and "UpdateID" not in properties:
            raise self.error(
                group.names[properties.index("RevisionNumber")],
                "RevisionNumber is only valid together with UpdateID in the same and-group, "
                "e.g. UpdateID='f6ce46c1-971c-43f9-a2aa-783df125f003' and RevisionNumber=201",
            )


def _operator_message(prop: _Property, op: str) -> str:
    """Say why an operator does not fit a property, and which one does."""
    if op == "contains":
        return "'contains' is only valid with CategoryIDs"
    if prop.operators == ("contains",):
        return f"{prop.name} takes only 'contains': {prop.name} contains '<guid>'"
    return f"'{op}' is only valid with {_NOT_EQUAL_PROPERTIES}; {prop.name} takes only '='"


def _parse(text: object, field: str) -> tuple[WuaQuery, list[tuple[str, _Token]]]:
    if not isinstance(text, str):
        raise InputError(field, f"expected the criterion as a string, got {kind_of(text)}")
    return _Parser(text, field).parse()


def parse_query(text: str, *, field: str = "QueryString") -> WuaQuery:
    """Parse a raw WUA criterion, raising :class:`InputError` that names the column and token.

    The result keeps the documented property spellings, so callers (and the simulated lab) can
    evaluate or display it without re-parsing.
    """
    return _parse(text, field)[0]


def validate_query(text: str, *, field: str = "QueryString") -> str:
    """Check a raw criterion and return it unchanged (WUA gets exactly what the user wrote)."""
    _parse(text, field)
    return text


def double_quotes_for_cluster_role(
    text: str, *, field: str = "QueryString", all_literals: bool = False
) -> str:
    """Return the criterion as ``Add-CauClusterRole`` / ``Set-CauClusterRole`` need it.

    "How Cluster-Aware Updating plug-ins work"
    (https://learn.microsoft.com/windows-server/failover-clustering/cluster-aware-updating-plug-ins)
    says that when the self-updating options are configured (CAU UI, or those two cmdlets) the
    **UpdateID value** must be written with two single quotes on each side:
    ``UpdateID=''f6ce46c1-...'' and IsInstalled=0``. That is exactly what is doubled here: the
    delimiting quotes of UpdateID string values, nothing else in the query, and no other plug-in
    argument. ``all_literals=True`` doubles the quotes of every string value (``Type=''Driver''``)
    for the day a real cluster shows that the rule is wider than documented.

    The input is validated first; the output is meant for those cmdlets only and deliberately no
    longer passes :func:`validate_query`. Spacing and property spelling are kept as written.
    """
    _query, literals = _parse(text, field)
    positions: set[int] = set()
    for prop_name, token in literals:
        if all_literals or prop_name == "UpdateID":
            positions.add(token.start)
            positions.add(token.start + len(token.text) - 1)
    return "".join(char * 2 if index in positions else char for index, char in enumerate(text))


# --------------------------------------------------------------------------------------------
# Builder

_UNSET: Final = object()

BUILDER_FIELDS: Final = (
    "installed",
    "type",
    "hidden",
    "assigned",
    "browse_only",
    "auto_select_on_web_sites",
    "reboot_required",
    "is_present",
    "deployment_action",
    "update_ids",
    "category_ids",
)
"""Keys accepted by :func:`build_query`, in the order their criteria are written."""

_BOOL_FIELDS: Final = {
    "installed": "IsInstalled",
    "hidden": "IsHidden",
    "assigned": "IsAssigned",
    "browse_only": "BrowseOnly",
    "auto_select_on_web_sites": "AutoSelectOnWebSites",
    "reboot_required": "RebootRequired",
    "is_present": "IsPresent",
}


def _builder_bool(value: object, field: str) -> bool | None:
    """Accept a YAML boolean (or 'true'/'false' from a survey); None leaves the criterion out."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise InputError(field, f"expected true, false or null (null leaves the criterion out), got {value!r}")


def _builder_choice(value: object, field: str, choices: tuple[str, ...]) -> str | None:
    """Accept one of ``choices`` in any letter case and return the documented spelling."""
    if value is None:
        return None
    if isinstance(value, str):
        for choice in choices:
            if value.lower() == choice.lower():
                return choice
    valid = ", ".join(choices)
    raise InputError(field, f"expected one of {valid} (or null to leave the criterion out), got {value!r}")


def _builder_guid(value: object, field: str) -> str:
    """Check a GUID and return it in lower case, the form Microsoft's examples and WUA output use."""
    if not isinstance(value, str) or not _GUID_RE.fullmatch(value):
        raise InputError(field, f"expected {_GUID_FORMAT}, got {value!r}")
    return value.lower()


def _builder_list(value: object, field: str) -> Sequence[object]:
    if value is None:
        return ()
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise InputError(field, f"expected a list, got {kind_of(value)}")
    return value


def _update_id_entry(entry: object, field: str) -> tuple[str, int | None]:
    """An update is a GUID string, or ``{id: <guid>, revision: <int>}`` to pin one revision."""
    if isinstance(entry, Mapping):
        unknown = sorted(str(k) for k in entry if k not in ("id", "revision"))
        if unknown:
            raise InputError(field, f"unknown key(s) {', '.join(unknown)}; valid keys: id, revision")
        if "id" not in entry:
            raise InputError(field, "missing 'id' (the update's GUID)")
        guid = _builder_guid(entry["id"], f"{field}.id")
        revision = entry.get("revision")
        if revision is None:
            return guid, None
        if isinstance(revision, bool) or not isinstance(revision, int) or revision < 0:
            raise InputError(f"{field}.revision", f"expected a non-negative integer, got {revision!r}")
        return guid, revision
    return _builder_guid(entry, field), None


def build_query(spec: Mapping[str, object] | None = None, *, field: str = "query") -> str:
    """Build a WUA criterion from structured fields; the defaults follow Microsoft's plug-in examples.

    Keys (each may be ``null`` to leave its criterion out):

    * ``installed`` (default false), ``hidden``, ``assigned``, ``browse_only``,
      ``auto_select_on_web_sites``, ``reboot_required``, ``is_present``: booleans -> 0/1;
    * ``type``: ``Software`` or ``Driver``; ``deployment_action``: ``Installation``,
      ``Uninstallation`` or ``OptionalInstallation``;
    * ``update_ids``: GUIDs, or ``{id, revision}`` mappings; several ids become a top-level
      ``or`` of ``and`` groups, each carrying the other criteria;
    * ``category_ids``: GUIDs; an update matches if it is in **any** of them (``or`` of
      ``CategoryIDs contains``).

    Defaults reproduce the queries "How Cluster-Aware Updating plug-ins work" documents rather
    than one fixed set, because each
    example drops criteria that would hide what it is after:

    * nothing given -> ``IsInstalled=0 and Type='Software' and IsHidden=0 and IsAssigned=1``;
    * ``type: Driver`` -> ``IsInstalled=0 and Type='Driver' and IsHidden=0`` (drivers are rarely
      "assigned", so ``IsAssigned=1`` is only a default for Software);
    * ``update_ids`` given -> ``UpdateID='<guid>' and IsInstalled=0``: naming an update means
      "this one", so type, hidden and assigned are only added when set explicitly.
    """
    if spec is None:
        spec = {}
    if not isinstance(spec, Mapping):
        raise InputError(field, f"expected a mapping of criteria ({', '.join(BUILDER_FIELDS)})")
    unknown = sorted(str(k) for k in spec if k not in BUILDER_FIELDS)
    if unknown:
        raise InputError(
            field,
            f"unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(BUILDER_FIELDS)} "
            "(write a raw criterion in QueryString instead of query if you need more)",
        )

    def get(key: str) -> object:
        return spec.get(key, _UNSET)

    updates = [
        _update_id_entry(entry, f"{field}.update_ids[{i}]")
        for i, entry in enumerate(_builder_list(spec.get("update_ids"), f"{field}.update_ids"))
    ]
    seen: dict[str, int] = {}
    for i, (guid, revision) in enumerate(updates):
        key = f"{guid}/{revision}"
        if key in seen:
            raise InputError(f"{field}.update_ids[{i}]", f"duplicate of update_ids[{seen[key]}]")
        seen[key] = i
    categories = [
        _builder_guid(entry, f"{field}.category_ids[{i}]")
        for i, entry in enumerate(_builder_list(spec.get("category_ids"), f"{field}.category_ids"))
    ]
    if len(set(categories)) != len(categories):
        raise InputError(f"{field}.category_ids", "lists the same category twice")

    naming_updates = bool(updates)
    raw_type = get("type")
    update_type = (
        (None if naming_updates else "Software")
        if raw_type is _UNSET
        else _builder_choice(raw_type, f"{field}.type", ("Software", "Driver"))
    )
    bools: dict[str, bool | None] = {}
    for key in _BOOL_FIELDS:
        raw = get(key)
        if raw is not _UNSET:
            bools[key] = _builder_bool(raw, f"{field}.{key}")
        elif key == "installed":
            bools[key] = False
        elif key == "hidden" and not naming_updates:
            bools[key] = False
        elif key == "assigned" and not naming_updates and update_type == "Software":
            bools[key] = True
    raw_action = get("deployment_action")
    action = (
        None
        if raw_action is _UNSET
        else _builder_choice(raw_action, f"{field}.deployment_action", DEPLOYMENT_ACTIONS)
    )

    # Same order as Microsoft's examples: IsInstalled, Type, IsHidden, IsAssigned, then the rest.
    common: list[Criterion] = []
    for key in (
        "installed",
        "type",
        "hidden",
        "assigned",
        "browse_only",
        "auto_select_on_web_sites",
        "reboot_required",
        "is_present",
    ):
        if key == "type":
            if update_type is not None:
                common.append(Criterion("Type", "=", update_type))
        elif bools.get(key) is not None:
            common.append(Criterion(_BOOL_FIELDS[key], "=", int(bool(bools[key]))))
    if action is not None:
        common.append(Criterion("DeploymentAction", "=", action))

    # One and-group per (update, category) pair; either axis may be empty.
    heads: list[list[Criterion]] = [
        [Criterion("UpdateID", "=", guid)]
        + ([Criterion("RevisionNumber", "=", rev)] if rev is not None else [])
        for guid, rev in updates
    ] or [[]]
    tails: list[list[Criterion]] = [[Criterion("CategoryIDs", "contains", c)] for c in categories] or [[]]
    groups = [tuple(head + common + tail) for head in heads for tail in tails]
    groups = [group for group in groups if group]
    if not groups:
        raise InputError(
            field,
            "every criterion is null, which would select every update; leave 'query' out to use "
            f"the plug-in default ({DEFAULT_QUERY}) or set at least one criterion",
        )
    return format_query(WuaQuery(tuple(groups)))
