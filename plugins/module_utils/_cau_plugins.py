# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CAU plug-in selection and argument rendering (for internal collection use only).

Users write the plug-ins of a Cluster-Aware Updating run as YAML::

    - name: Microsoft.WindowsUpdatePlugin
      arguments: {IncludeRecommendedUpdates: true, query: {type: Driver}}
    - name: Microsoft.HotfixPlugin
      arguments: {HotfixRootFolderPath: '\\\\fs01\\hotfix', RequireSMBEncryption: true}

:func:`parse_plugins` validates that list once, on the controller, before anything runs on a
host, and normalises every value to the string CAU expects. The result can then be rendered as

* :func:`to_structured` - an ordered list of ``{name, arguments}`` that a PowerShell module turns
  into ``-CauPluginName`` / ``-CauPluginArguments`` natively (what modules really use);
* :func:`render_powershell_parameters` - the same as PowerShell source text, every value
  single-quoted so that nothing in it can run (for check mode, diff and reports);
* :func:`render_gui_arguments` - the CAU UI's ``Name1=Value1;Name2=Value2`` form for one plug-in.

Every renderer takes ``for_cluster_role``: only ``Add-CauClusterRole`` / ``Set-CauClusterRole``
need the doubled single quotes inside the WindowsUpdatePlugin ``QueryString``
(:func:`uses_cluster_role_quoting` maps a cmdlet name to the flag).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field as dataclass_field
from typing import Final, Literal

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError, kind_of
from ansible_collections.winfleet.updates.plugins.module_utils._wua_query import (
    build_query,
    double_quotes_for_cluster_role,
    validate_query,
)

__all__ = [
    "WINDOWS_UPDATE_PLUGIN",
    "HOTFIX_PLUGIN",
    "BUILTIN_PLUGINS",
    "CLUSTER_ROLE_CMDLETS",
    "POWERSHELL_SINGLE_QUOTES",
    "CauPlugin",
    "CauPluginSet",
    "parse_plugins",
    "validate_plugin_name",
    "builtin_plugin",
    "plugin_arguments",
    "to_structured",
    "render_powershell_parameters",
    "render_gui_arguments",
    "quote_powershell_string",
    "uses_cluster_role_quoting",
]

WINDOWS_UPDATE_PLUGIN: Final = "Microsoft.WindowsUpdatePlugin"
HOTFIX_PLUGIN: Final = "Microsoft.HotfixPlugin"

_ArgKind = Literal["bool", "positive_int", "text", "file_name", "query_string", "query"]

# Built-in plug-ins and the arguments "How Cluster-Aware Updating plug-ins work" documents for
# them (https://learn.microsoft.com/windows-server/failover-clustering/cluster-aware-updating-plug-ins). ``query`` is this
# collection's structured form of QueryString (see _wua_query.build_query).
_BUILTIN_ARGUMENTS: Final[dict[str, dict[str, _ArgKind]]] = {
    WINDOWS_UPDATE_PLUGIN: {
        "IncludeRecommendedUpdates": "bool",
        "QueryString": "query_string",
        "query": "query",
    },
    HOTFIX_PLUGIN: {
        "HotfixRootFolderPath": "text",
        "RequireSMBEncryption": "bool",
        "DisableAclChecks": "bool",
        "HotfixInstallerTimeoutMinutes": "positive_int",
        "HotfixConfigFileName": "file_name",
    },
}
BUILTIN_PLUGINS: Final = tuple(_BUILTIN_ARGUMENTS)
"""The plug-ins installed with CAU; they are always known and cannot be unregistered."""

CLUSTER_ROLE_CMDLETS: Final = frozenset({"Add-CauClusterRole", "Set-CauClusterRole"})
# Every cmdlet that takes -CauPluginName/-CauPluginArguments, and whether it needs the doubling.
_CMDLETS: Final = {
    name.lower(): (name, name in CLUSTER_ROLE_CMDLETS)
    for name in ("Add-CauClusterRole", "Invoke-CauRun", "Invoke-CauScan", "Set-CauClusterRole")
}

# Third-party plug-in names as Register-CauPlugin shows them (Vendor.Product.Plugin); the
# pattern keeps them printable and free of anything a shell or a report could misread.
_PLUGIN_NAME_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*")
_PLUGIN_NAME_MAX: Final = 128
# Argument names become hashtable keys; identifiers only, so they need no escaping anywhere.
_ARGUMENT_NAME_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_INT32_MAX: Final = 2**31 - 1

# PowerShell ends a single-quoted string at any of these (SpecialCharacters.IsSingleQuote);
# doubling the same character inside the string yields that character literally.
POWERSHELL_SINGLE_QUOTES: Final = frozenset("'\u2018\u2019\u201a\u201b")
# Anything str.splitlines() breaks on counts as a line break for the GUI form.
_LINE_BREAKS: Final = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")


@dataclass(frozen=True)
class CauPlugin:
    """One validated plug-in: canonical name and ``(argument, value)`` pairs in user order.

    Values are already the strings CAU expects ('True'/'False', base-10 integers); a structured
    ``query`` has become ``QueryString``. ``field`` is where the user wrote it (``plugins[1]``), so
    errors raised while rendering still point there; without it they name the plug-in.
    """

    name: str
    arguments: tuple[tuple[str, str], ...] = ()
    field: str = dataclass_field(default="", compare=False)


@dataclass(frozen=True)
class CauPluginSet:
    """The validated plug-ins of one CAU call, in ``-CauPluginName`` order, plus its switches."""

    plugins: tuple[CauPlugin, ...]
    run_plugins_serially: bool = False
    stop_on_plugin_failure: bool = False
    separate_reboots: bool = False

    @property
    def names(self) -> list[str]:
        """Plug-in names in order, as ``-CauPluginName`` takes them."""
        return [plugin.name for plugin in self.plugins]

    @property
    def switches(self) -> list[str]:
        """Names of the multi-plug-in switch parameters to pass (without the leading dash)."""
        wanted = (
            ("RunPluginsSerially", self.run_plugins_serially),
            ("StopOnPluginFailure", self.stop_on_plugin_failure),
            ("SeparateReboots", self.separate_reboots),
        )
        return [name for name, on in wanted if on]


# --------------------------------------------------------------------------------------------
# Validation and normalisation


def _as_cau_bool(value: object, field: str) -> str:
    """CAU reads booleans as the strings 'True'/'False'; accept YAML booleans or those strings."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return "True" if value.lower() == "true" else "False"
    raise InputError(field, f"expected true or false (sent to CAU as 'True'/'False'), got {value!r}")


def _as_positive_int(value: object, field: str) -> str:
    """Accept a positive integer (or its base-10 digits) and return it as base-10 digits."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value, 10)
    if number is None or not 1 <= number <= _INT32_MAX:
        raise InputError(field, f"expected a whole number of minutes from 1 to {_INT32_MAX}, got {value!r}")
    return str(number)


def _as_scalar(value: object, field: str) -> str:
    """Normalise a plain argument value: booleans 'True'/'False', integers base 10, text as is.

    Nested data has no representation in a CAU argument (a hashtable of strings), and a NUL
    would silently cut the value short once it reaches a Win32 string, so both are refused.
    """
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if "\x00" in value:
            raise InputError(field, "contains a NUL character (U+0000), which Windows would cut the value at")
        return value
    if value is None:
        raise InputError(field, "is null; leave the argument out to use the plug-in's default")
    if isinstance(value, (Mapping, list, tuple, set)):
        raise InputError(
            field,
            "nested values are not allowed: a CAU argument is a string, boolean or integer "
            "(only Microsoft.WindowsUpdatePlugin's 'query' takes a mapping)",
        )
    raise InputError(field, f"expected a string, boolean or integer, got {kind_of(value)}")


def _builtin_value(kind: _ArgKind, value: object, field: str) -> str:
    """Check a built-in plug-in's argument against what Microsoft documents for it."""
    if kind == "bool":
        return _as_cau_bool(value, field)
    if kind == "positive_int":
        return _as_positive_int(value, field)
    if kind == "query":
        if not isinstance(value, Mapping):
            raise InputError(field, "expected a mapping of query criteria, e.g. {type: Driver}")
        return build_query(value, field=field)
    if not isinstance(value, str):
        raise InputError(field, f"expected a string, got {kind_of(value)}")
    text = _as_scalar(value, field)
    if kind == "query_string":
        return validate_query(text, field=field)
    if not text.strip():
        raise InputError(field, "must not be empty")
    if kind == "file_name" and ("\\" in text or "/" in text):
        raise InputError(field, "expected a file name inside the hotfix root folder, not a path")
    return text


def _parse_arguments(plugin: str, raw: object, field: str) -> tuple[tuple[str, str], ...]:
    """Validate one plug-in's arguments and return them normalised, in the order given."""
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise InputError(field, f"expected a mapping of argument names to values, got {kind_of(raw)}")
    spec = _BUILTIN_ARGUMENTS.get(plugin)
    canonical = {name.lower(): name for name in spec} if spec is not None else {}
    result: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not _ARGUMENT_NAME_RE.fullmatch(key):
            raise InputError(
                field,
                f"argument name {key!r} is not valid: use letters, digits and '_' (not starting with a digit)",
            )
        name = key
        if spec is not None:
            # Hashtable keys are case-insensitive in PowerShell; accept any case, write the
            # documented spelling.
            if key.lower() not in canonical:
                valid = ", ".join(sorted(spec, key=str.lower))
                raise InputError(
                    f"{field}.{key}", f"is not an argument of {plugin}; valid arguments: {valid}"
                )
            name = canonical[key.lower()]
        # Two spellings of one key would be a duplicate key in the hashtable literal.
        target = "QueryString" if name == "query" and spec is not None else name
        if target.lower() in seen:
            other = seen[target.lower()]
            raise InputError(
                f"{field}.{key}",
                "'query' and 'QueryString' both set the query; give one of them"
                if {other, name} == {"query", "QueryString"}
                else f"duplicates {other!r} (argument names are case-insensitive)",
            )
        seen[target.lower()] = name
        item_field = f"{field}.{name}"
        text = (
            _builtin_value(spec[name], value, item_field)
            if spec is not None
            else _as_scalar(value, item_field)
        )
        result.append((target, text))
    return tuple(result)


def _known_names(registered: Iterable[str]) -> dict[str, str]:
    """Map lower-cased plug-in names the caller knows (built-ins + registered) to their spelling."""
    if isinstance(registered, (str, bytes)):
        raise InputError("registered", "expected a list of plug-in names, not a single string")
    known = {name.lower(): name for name in BUILTIN_PLUGINS}
    for index, name in enumerate(registered):
        if not isinstance(name, str) or len(name) > _PLUGIN_NAME_MAX or not _PLUGIN_NAME_RE.fullmatch(name):
            raise InputError(f"registered[{index}]", f"{name!r} is not a valid plug-in name")
        known.setdefault(name.lower(), name)
    return known


def validate_plugin_name(raw: object, field: str = "name") -> str:
    """Check that ``raw`` is spelled like a CAU plug-in name (not that it is known) and return it.

    Shared by everything that takes a plug-in name from a user (the run's plug-in list, the
    registrar), so a name that could confuse a report or a command line is refused the same way
    everywhere.
    """
    if not isinstance(raw, str) or not raw:
        raise InputError(field, "expected the plug-in name as a non-empty string")
    if len(raw) > _PLUGIN_NAME_MAX or not _PLUGIN_NAME_RE.fullmatch(raw):
        raise InputError(
            field,
            f"{raw!r} is not a valid plug-in name: letters, digits, '_' and '-' in dot-separated parts, "
            f"starting with a letter, at most {_PLUGIN_NAME_MAX} characters",
        )
    return raw


def builtin_plugin(name: str) -> str | None:
    """The documented spelling of ``name`` if it is one of the built-ins (Windows ignores case)."""
    return next((builtin for builtin in BUILTIN_PLUGINS if builtin.lower() == name.lower()), None)


def _plugin_name(raw: object, known: Mapping[str, str], field: str) -> str:
    """Resolve a plug-in name: built-in or registered, matched case-insensitively like Windows."""
    raw = validate_plugin_name(raw, field)
    if raw.lower() not in known:
        listed = ", ".join(sorted(known.values(), key=str.lower))
        raise InputError(
            field,
            f"unknown plug-in {raw!r}; known plug-ins: {listed}. A third-party plug-in must be "
            "installed and registered (Register-CauPlugin) where CAU runs, and listed as registered",
        )
    return known[raw.lower()]


def _switch(value: object, field: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InputError(field, f"expected true or false, got {value!r}")
    return value


def parse_plugins(
    plugins: object,
    *,
    registered: Iterable[str] = (),
    run_plugins_serially: bool | None = False,
    stop_on_plugin_failure: bool | None = False,
    separate_reboots: bool | None = False,
    field: str = "plugins",
) -> CauPluginSet:
    """Validate the YAML list of plug-ins for one CAU call and normalise its arguments.

    ``plugins`` is a list whose items are ``{name, arguments}`` mappings (or a bare name).
    ``registered`` lists the third-party plug-ins the caller knows to be registered where CAU
    runs (e.g. from ``Get-CauPlugin``); the two built-ins are always known. A name outside both
    is an error that lists the known ones, so a typo never reaches a cluster.

    The multi-plug-in switches only mean something with several plug-ins; setting one to true
    with a single plug-in is an error rather than silently ignored. ``field`` prefixes every
    error (``plugins[1].arguments.HotfixInstallerTimeoutMinutes``).
    """
    if isinstance(plugins, (str, bytes, Mapping)) or not isinstance(plugins, Sequence):
        raise InputError(field, "expected a list of plug-ins, each {name: ..., arguments: {...}}")
    if not plugins:
        raise InputError(
            field,
            f"at least one plug-in is required; CAU's default is '- name: {WINDOWS_UPDATE_PLUGIN}'",
        )
    known = _known_names(registered)
    parsed: list[CauPlugin] = []
    first_index: dict[str, int] = {}
    for index, item in enumerate(plugins):
        item_field = f"{field}[{index}]"
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, Mapping):
            raise InputError(item_field, "expected a mapping with 'name' and optional 'arguments'")
        unknown = sorted(str(k) for k in item if k not in ("name", "arguments"))
        if unknown:
            raise InputError(item_field, f"unknown key(s) {', '.join(unknown)}; valid keys: name, arguments")
        if "name" not in item:
            raise InputError(item_field, "missing 'name'")
        name = _plugin_name(item["name"], known, f"{item_field}.name")
        if name.lower() in first_index:
            raise InputError(
                f"{item_field}.name",
                f"{name} is already listed at {field}[{first_index[name.lower()]}]; list each plug-in "
                "once and put all its arguments there",
            )
        first_index[name.lower()] = index
        arguments = _parse_arguments(name, item.get("arguments"), f"{item_field}.arguments")
        parsed.append(CauPlugin(name, arguments, item_field))

    switches = {
        "run_plugins_serially": _switch(run_plugins_serially, "run_plugins_serially"),
        "stop_on_plugin_failure": _switch(stop_on_plugin_failure, "stop_on_plugin_failure"),
        "separate_reboots": _switch(separate_reboots, "separate_reboots"),
    }
    if len(parsed) < 2:
        for switch_name, on in switches.items():
            if on:
                raise InputError(
                    switch_name,
                    "only applies when several plug-ins are given; with one plug-in leave it false",
                )
    return CauPluginSet(tuple(parsed), **switches)


# --------------------------------------------------------------------------------------------
# Rendering


def uses_cluster_role_quoting(cmdlet: str) -> bool:
    """Tell whether a CAU cmdlet needs the doubled QueryString quotes (the cluster-role ones)."""
    entry = _CMDLETS.get(cmdlet.lower()) if isinstance(cmdlet, str) else None
    if entry is None:
        valid = ", ".join(name for name, _doubled in _CMDLETS.values())
        raise InputError("cmdlet", f"unknown CAU cmdlet {cmdlet!r}; expected one of {valid}")
    return entry[1]


def plugin_arguments(plugin: CauPlugin, *, for_cluster_role: bool = False) -> dict[str, str]:
    """Return a plug-in's arguments as CAU gets them; the one place cluster-role quoting happens.

    Only ``QueryString`` of ``Microsoft.WindowsUpdatePlugin`` changes, and only for the
    cluster-role cmdlets; third-party plug-ins and every other argument pass through untouched.
    """
    result = dict(plugin.arguments)
    if for_cluster_role and plugin.name == WINDOWS_UPDATE_PLUGIN and "QueryString" in result:
        result["QueryString"] = double_quotes_for_cluster_role(
            result["QueryString"], field=f"{plugin.field or plugin.name}.arguments.QueryString"
        )
    return result


def to_structured(plugin_set: CauPluginSet, *, for_cluster_role: bool = False) -> list[dict[str, object]]:
    """Ordered ``[{name, arguments: {str: str}}]`` for a PowerShell module to splat natively.

    This is the form modules should use: the module builds ``[string[]]`` names and
    ``[hashtable[]]`` arguments from it, so no text is ever parsed as PowerShell on the host.
    """
    return [
        {"name": plugin.name, "arguments": plugin_arguments(plugin, for_cluster_role=for_cluster_role)}
        for plugin in plugin_set.plugins
    ]


def quote_powershell_string(value: str) -> str:
    """Quote text as a PowerShell single-quoted string literal.

    Inside ``'...'`` PowerShell expands nothing: ``$``, backticks, ``"``, ``;`` and line breaks are
    literal. The only way out is a single-quote character, and PowerShell accepts five of them
    (' U+2018 U+2019 U+201A U+201B); each is doubled, which the tokenizer reads back as one literal
    character. NUL is refused: a Win32 command line or string ends there, which would leave the
    literal open.
    """
    if "\x00" in value:
        raise ValueError("a PowerShell string literal cannot carry a NUL character")
    return "'" + "".join(char * 2 if char in POWERSHELL_SINGLE_QUOTES else char for char in value) + "'"


def _hashtable(arguments: Mapping[str, str]) -> str:
    pairs = (f"{quote_powershell_string(k)}={quote_powershell_string(v)}" for k, v in arguments.items())
    return "@{" + ";".join(pairs) + "}"


def render_powershell_parameters(plugin_set: CauPluginSet, *, for_cluster_role: bool = False) -> str:
    """Render the plug-in parameters of a CAU cmdlet as PowerShell source text.

    ``-CauPluginName 'A','B' -CauPluginArguments @{'K'='V'},@{} -RunPluginsSerially``: names and
    hashtables in the same order, one hashtable per plug-in (``@{}`` for one without arguments),
    separated by commas because the parameter is a ``Hashtable[]``. ``-CauPluginArguments`` is
    left out when no plug-in has arguments. Every key and value is single-quoted, so the text is
    safe to show and to paste; modules should still use :func:`to_structured`.
    """
    parts = ["-CauPluginName " + ",".join(quote_powershell_string(name) for name in plugin_set.names)]
    tables = [plugin_arguments(p, for_cluster_role=for_cluster_role) for p in plugin_set.plugins]
    if any(tables):
        parts.append("-CauPluginArguments " + ",".join(_hashtable(table) for table in tables))
    parts.extend(f"-{switch}" for switch in plugin_set.switches)
    return " ".join(parts)


def render_gui_arguments(plugin: CauPlugin, *, for_cluster_role: bool = False) -> str:
    """Render one plug-in's arguments in the CAU UI form ``Name1=Value1;Name2="Value 2"``.

    The UI takes one plug-in at a time. Values containing white space are put in double quotes,
    as "How Cluster-Aware Updating plug-ins work" documents (https://learn.microsoft.com/windows-server/failover-clustering/cluster-aware-updating-plug-ins);
    the form has no escape for ``"``, ``;`` or line breaks, so such values
    are refused here (the PowerShell forms carry them safely). The same page requires the doubled
    UpdateID quotes when the UI configures self-updating options: pass ``for_cluster_role=True``.
    """
    pairs = []
    for key, value in plugin_arguments(plugin, for_cluster_role=for_cluster_role).items():
        bad = next((c for c in value if c in '";' or c in _LINE_BREAKS), None)
        if bad is not None:
            raise InputError(
                f"{plugin.field or plugin.name}.arguments.{key}",
                f"contains {bad!r}, which the CAU UI form Name=Value;Name=Value cannot carry; "
                "use the PowerShell cmdlets for this value",
            )
        if value == "" or any(c.isspace() for c in value):
            value = f'"{value}"'
        pairs.append(f"{key}={value}")
    return ";".join(pairs)
