# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for CAU plug-in validation and argument rendering.

No PowerShell exists on these machines, so the injection tests parse the rendered text back with
a small reference reader that follows PowerShell's own rules for the few constructs the renderer
emits (``Tokenizer.ScanStringLiteral``: inside ``'...'`` nothing is special except the five
single-quote characters, and two of them in a row stand for the second one). If any value could
break out of its string, the text would not read back as exactly the intended names, hashtables
and switches.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.winfleet.updates.plugins.module_utils._cau_plugins import (
    HOTFIX_PLUGIN,
    POWERSHELL_SINGLE_QUOTES,
    WINDOWS_UPDATE_PLUGIN,
    CauPlugin,
    CauPluginSet,
    parse_plugins,
    plugin_arguments,
    quote_powershell_string,
    render_gui_arguments,
    render_powershell_parameters,
    to_structured,
    uses_cluster_role_quoting,
)
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError

GUID_A = "f6ce46c1-971c-43f9-a2aa-783df125f003"
SEED_UPDATE_QUERY = f"UpdateID='{GUID_A}' and IsInstalled=0"

# The example from issue 6, as the YAML loader hands it over.
ISSUE_PLUGINS: list[dict[str, Any]] = [
    {
        "name": "Microsoft.WindowsUpdatePlugin",
        "arguments": {"IncludeRecommendedUpdates": True, "query": {"type": "Driver"}},
    },
    {
        "name": "Microsoft.HotfixPlugin",
        "arguments": {"HotfixRootFolderPath": "\\\\fs01\\hotfix", "RequireSMBEncryption": True},
    },
]


# --------------------------------------------------------------------------------------------
# Reference readers (test code only)


def ps_read_string(text: str, pos: int) -> tuple[str, int]:
    """Read a PowerShell single-quoted string starting at ``pos``; return (value, end).

    Mirrors ``Tokenizer.ScanStringLiteral``: any of the five single-quote characters opens or
    closes the string; a quote character followed by another one appends the second.
    """
    if pos >= len(text) or text[pos] not in POWERSHELL_SINGLE_QUOTES:
        raise ValueError(f"expected a single-quoted string at {pos}")
    value: list[str] = []
    i = pos + 1
    while i < len(text):
        char = text[i]
        if char in POWERSHELL_SINGLE_QUOTES:
            if i + 1 < len(text) and text[i + 1] in POWERSHELL_SINGLE_QUOTES:
                value.append(text[i + 1])
                i += 2
                continue
            return "".join(value), i + 1
        value.append(char)
        i += 1
    raise ValueError("unterminated string")


def ps_unquote(literal: str) -> str:
    """Un-quote one complete literal, insisting that the literal is the whole text."""
    value, end = ps_read_string(literal, 0)
    if end != len(literal):
        raise ValueError(f"text continues after the string at {end}: {literal[end:]!r}")
    return value


def ps_read_parameters(text: str) -> dict[str, Any]:
    """Read the renderer's output back into names, hashtables and switches, or fail."""
    result: dict[str, Any] = {"names": None, "arguments": None, "switches": []}
    pos = 0

    def expect(literal: str) -> None:
        nonlocal pos
        if not text.startswith(literal, pos):
            raise ValueError(f"expected {literal!r} at {pos}: {text[pos : pos + 20]!r}")
        pos += len(literal)

    def string() -> str:
        nonlocal pos
        value, pos = ps_read_string(text, pos)
        return value

    def hashtable() -> dict[str, str]:
        nonlocal pos
        expect("@{")
        table: dict[str, str] = {}
        if text.startswith("}", pos):
            pos += 1
            return table
        while True:
            key = string()
            expect("=")
            if key.lower() in (k.lower() for k in table):
                raise ValueError(f"duplicate key {key!r}")  # PowerShell refuses these too
            table[key] = string()
            if text.startswith(";", pos):
                pos += 1
                continue
            expect("}")
            return table

    while pos < len(text):
        if pos:
            expect(" ")
        match = re.compile(r"-([A-Za-z]+)").match(text, pos)
        if match is None:
            raise ValueError(f"expected a parameter at {pos}")
        pos = match.end()
        name = match.group(1)
        if name == "CauPluginName":
            expect(" ")
            names = [string()]
            while text.startswith(",", pos):
                pos += 1
                names.append(string())
            result["names"] = names
        elif name == "CauPluginArguments":
            expect(" ")
            tables = [hashtable()]
            while text.startswith(",", pos):
                pos += 1
                tables.append(hashtable())
            result["arguments"] = tables
        elif name in ("RunPluginsSerially", "StopOnPluginFailure", "SeparateReboots"):
            result["switches"].append(name)
        else:
            raise ValueError(f"unexpected parameter -{name}")
    return result


def gui_read(text: str) -> dict[str, str]:
    """Read the CAU UI form back: pairs split at ';', name up to the first '=', quotes removed."""
    result: dict[str, str] = {}
    for pair in text.split(";"):
        key, _, value = pair.partition("=")
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        result[key] = value
    return result


# --------------------------------------------------------------------------------------------
# The issue's and the seed's examples, exactly


def test_issue_example_structured() -> None:
    plugin_set = parse_plugins(ISSUE_PLUGINS, run_plugins_serially=True, stop_on_plugin_failure=True)
    assert to_structured(plugin_set) == [
        {
            "name": "Microsoft.WindowsUpdatePlugin",
            "arguments": {
                "IncludeRecommendedUpdates": "True",
                "QueryString": "IsInstalled=0 and Type='Driver' and IsHidden=0",
            },
        },
        {
            "name": "Microsoft.HotfixPlugin",
            "arguments": {"HotfixRootFolderPath": "\\\\fs01\\hotfix", "RequireSMBEncryption": "True"},
        },
    ]
    assert plugin_set.names == ["Microsoft.WindowsUpdatePlugin", "Microsoft.HotfixPlugin"]
    assert plugin_set.switches == ["RunPluginsSerially", "StopOnPluginFailure"]


def test_issue_example_powershell() -> None:
    plugin_set = parse_plugins(ISSUE_PLUGINS, run_plugins_serially=True, stop_on_plugin_failure=True)
    assert render_powershell_parameters(plugin_set) == (
        "-CauPluginName 'Microsoft.WindowsUpdatePlugin','Microsoft.HotfixPlugin' "
        "-CauPluginArguments @{'IncludeRecommendedUpdates'='True';"
        "'QueryString'='IsInstalled=0 and Type=''Driver'' and IsHidden=0'},"
        "@{'HotfixRootFolderPath'='\\\\fs01\\hotfix';'RequireSMBEncryption'='True'} "
        "-RunPluginsSerially -StopOnPluginFailure"
    )


def test_issue_example_gui() -> None:
    wu, hotfix = parse_plugins(ISSUE_PLUGINS).plugins
    assert render_gui_arguments(wu) == (
        "IncludeRecommendedUpdates=True;QueryString=\"IsInstalled=0 and Type='Driver' and IsHidden=0\""
    )
    assert render_gui_arguments(hotfix) == "HotfixRootFolderPath=\\\\fs01\\hotfix;RequireSMBEncryption=True"


@pytest.mark.parametrize(
    ("arguments", "for_cluster_role", "gui"),
    [
        pytest.param(
            {"query": {}},
            False,
            "QueryString=\"IsInstalled=0 and Type='Software' and IsHidden=0 and IsAssigned=1\"",
            id="seed-default-query",
        ),
        pytest.param(
            {"QueryString": SEED_UPDATE_QUERY},
            False,
            f"QueryString=\"UpdateID='{GUID_A}' and IsInstalled=0\"",
            id="seed-example-1",
        ),
        pytest.param(
            {"query": {"update_ids": [GUID_A]}},
            True,
            f"QueryString=\"UpdateID=''{GUID_A}'' and IsInstalled=0\"",
            id="seed-example-1-self-updating",
        ),
        pytest.param(
            {"query": {"type": "Driver"}},
            False,
            "QueryString=\"IsInstalled=0 and Type='Driver' and IsHidden=0\"",
            id="seed-example-2",
        ),
        pytest.param(
            {"IncludeRecommendedUpdates": "True"}, False, "IncludeRecommendedUpdates=True", id="recommended"
        ),
    ],
)
def test_seed_gui_examples(arguments: dict[str, Any], for_cluster_role: bool, gui: str) -> None:
    plugin_set = parse_plugins([{"name": WINDOWS_UPDATE_PLUGIN, "arguments": arguments}])
    assert render_gui_arguments(plugin_set.plugins[0], for_cluster_role=for_cluster_role) == gui


@pytest.mark.parametrize(
    ("arguments", "gui"),
    [
        ({"HotfixInstallerTimeoutMinutes": 120}, "HotfixInstallerTimeoutMinutes=120"),
        (
            {"HotfixRootFolderPath": "\\\\MyFileServer\\Hotfixes\\Root\\"},
            "HotfixRootFolderPath=\\\\MyFileServer\\Hotfixes\\Root\\",
        ),
        ({"DisableAclChecks": True}, "DisableAclChecks=True"),
        ({"HotfixConfigFileName": "DefaultHotfixConfig.xml"}, "HotfixConfigFileName=DefaultHotfixConfig.xml"),
        ({"HotfixRootFolderPath": "D:\\Hot Fixes"}, 'HotfixRootFolderPath="D:\\Hot Fixes"'),
    ],
)
def test_seed_hotfix_gui_examples(arguments: dict[str, Any], gui: str) -> None:
    plugin = parse_plugins([{"name": HOTFIX_PLUGIN, "arguments": arguments}]).plugins[0]
    assert render_gui_arguments(plugin) == gui


# --------------------------------------------------------------------------------------------
# Normalisation


@pytest.mark.parametrize(
    ("plugin", "arguments", "expected"),
    [
        (WINDOWS_UPDATE_PLUGIN, {"IncludeRecommendedUpdates": False}, {"IncludeRecommendedUpdates": "False"}),
        (WINDOWS_UPDATE_PLUGIN, {"includerecommendedupdates": "TRUE"}, {"IncludeRecommendedUpdates": "True"}),
        (WINDOWS_UPDATE_PLUGIN, {"querystring": "isinstalled=0"}, {"QueryString": "isinstalled=0"}),
        (HOTFIX_PLUGIN, {"HotfixInstallerTimeoutMinutes": "120"}, {"HotfixInstallerTimeoutMinutes": "120"}),
        (
            HOTFIX_PLUGIN,
            {"HotfixInstallerTimeoutMinutes": 2**31 - 1},
            {"HotfixInstallerTimeoutMinutes": "2147483647"},
        ),
        (
            HOTFIX_PLUGIN,
            {"requiresmbencryption": True, "DISABLEACLCHECKS": "false"},
            {"RequireSMBEncryption": "True", "DisableAclChecks": "False"},
        ),
        (
            "Contoso.FirmwarePlugin",
            {"Flag": True, "Count": 7, "Offset": -3, "Path": "C:\\fw", "Empty": ""},
            {"Flag": "True", "Count": "7", "Offset": "-3", "Path": "C:\\fw", "Empty": ""},
        ),
        ("Contoso.FirmwarePlugin", None, {}),
        ("Contoso.FirmwarePlugin", {"QueryString": "not a WUA query"}, {"QueryString": "not a WUA query"}),
    ],
)
def test_argument_normalisation(plugin: str, arguments: Any, expected: dict[str, str]) -> None:
    plugin_set = parse_plugins(
        [{"name": plugin, "arguments": arguments}], registered=["Contoso.FirmwarePlugin"]
    )
    assert plugin_arguments(plugin_set.plugins[0]) == expected


def test_argument_order_is_kept() -> None:
    plugin_set = parse_plugins(
        [
            {
                "name": HOTFIX_PLUGIN,
                "arguments": {"RequireSMBEncryption": True, "HotfixRootFolderPath": "\\\\a\\b"},
            }
        ]
    )
    assert list(plugin_arguments(plugin_set.plugins[0])) == ["RequireSMBEncryption", "HotfixRootFolderPath"]


def test_bare_names_and_registered_spelling() -> None:
    plugin_set = parse_plugins(
        ["microsoft.windowsupdateplugin", {"name": "CONTOSO.firmwareplugin"}],
        registered=["Contoso.FirmwarePlugin"],
    )
    assert plugin_set.names == [WINDOWS_UPDATE_PLUGIN, "Contoso.FirmwarePlugin"]
    assert plugin_set.plugins[0] == CauPlugin(WINDOWS_UPDATE_PLUGIN)


# --------------------------------------------------------------------------------------------
# Bad input


def _fail(plugins: Any, **kwargs: Any) -> InputError:
    with pytest.raises(InputError) as caught:
        parse_plugins(plugins, **kwargs)
    return caught.value


@pytest.mark.parametrize(
    ("plugins", "kwargs", "field", "fragment"),
    [
        pytest.param("Microsoft.HotfixPlugin", {}, "plugins", "expected a list of plug-ins", id="not-a-list"),
        pytest.param({"name": HOTFIX_PLUGIN}, {}, "plugins", "expected a list of plug-ins", id="mapping"),
        pytest.param([], {}, "plugins", "at least one plug-in is required", id="empty"),
        pytest.param([42], {}, "plugins[0]", "expected a mapping with 'name'", id="item-type"),
        pytest.param([{"arguments": {}}], {}, "plugins[0]", "missing 'name'", id="no-name"),
        pytest.param(
            [{"name": HOTFIX_PLUGIN, "args": {}}],
            {},
            "plugins[0]",
            "valid keys: name, arguments",
            id="unknown-item-key",
        ),
        pytest.param(
            [{"name": "Contoso.FirmwarePlugin"}],
            {},
            "plugins[0].name",
            "unknown plug-in 'Contoso.FirmwarePlugin'; known plug-ins: Microsoft.HotfixPlugin, "
            "Microsoft.WindowsUpdatePlugin. A third-party plug-in must be installed and registered",
            id="unknown-plugin",
        ),
        pytest.param(
            [{"name": "Microsoft.WindowsUpdate"}],
            {"registered": ["Contoso.FirmwarePlugin"]},
            "plugins[0].name",
            "known plug-ins: Contoso.FirmwarePlugin, Microsoft.HotfixPlugin, Microsoft.WindowsUpdatePlugin",
            id="typo-lists-registered-too",
        ),
        pytest.param(
            [{"name": "Evil'; calc; '"}],
            {"registered": []},
            "plugins[0].name",
            "is not a valid plug-in name",
            id="unsafe-name",
        ),
        pytest.param(
            [{"name": "Contoso Plugin"}], {}, "plugins[0].name", "is not a valid plug-in name", id="space"
        ),
        pytest.param([{"name": ""}], {}, "plugins[0].name", "non-empty string", id="empty-name"),
        pytest.param([{"name": None}], {}, "plugins[0].name", "non-empty string", id="null-name"),
        pytest.param([{"name": "A" * 129}], {}, "plugins[0].name", "at most 128 characters", id="long-name"),
        pytest.param(
            [{"name": HOTFIX_PLUGIN}],
            {"registered": ["bad name"]},
            "registered[0]",
            "is not a valid plug-in name",
            id="bad-registered",
        ),
        pytest.param(
            [{"name": HOTFIX_PLUGIN}],
            {"registered": "Contoso.X"},
            "registered",
            "not a single string",
            id="registered-string",
        ),
        pytest.param(
            [{"name": WINDOWS_UPDATE_PLUGIN}, {"name": "microsoft.windowsupdateplugin"}],
            {},
            "plugins[1].name",
            "Microsoft.WindowsUpdatePlugin is already listed at plugins[0]",
            id="duplicate-plugin",
        ),
        pytest.param(
            [{"name": HOTFIX_PLUGIN, "arguments": {"HotfixRoot": "x"}}],
            {},
            "plugins[0].arguments.HotfixRoot",
            "is not an argument of Microsoft.HotfixPlugin; valid arguments: DisableAclChecks, "
            "HotfixConfigFileName, HotfixInstallerTimeoutMinutes, HotfixRootFolderPath, RequireSMBEncryption",
            id="unknown-hotfix-argument",
        ),
        pytest.param(
            [{"name": WINDOWS_UPDATE_PLUGIN, "arguments": {"HotfixRootFolderPath": "x"}}],
            {},
            "plugins[0].arguments.HotfixRootFolderPath",
            "valid arguments: IncludeRecommendedUpdates, query, QueryString",
            id="argument-of-other-plugin",
        ),
        pytest.param(
            [
                {
                    "name": WINDOWS_UPDATE_PLUGIN,
                    "arguments": {"query": {"type": "Driver"}, "QueryString": "IsHidden=0"},
                }
            ],
            {},
            "plugins[0].arguments.QueryString",
            "'query' and 'QueryString' both set the query; give one of them",
            id="query-and-querystring",
        ),
        pytest.param(
            [{"name": "Contoso.X", "arguments": {"Mode": "a", "MODE": "b"}}],
            {"registered": ["Contoso.X"]},
            "plugins[0].arguments.MODE",
            "duplicates 'Mode' (argument names are case-insensitive)",
            id="duplicate-key-case",
        ),
        pytest.param(
            [{"name": HOTFIX_PLUGIN, "arguments": {"DisableAclChecks": True, "disableaclchecks": False}}],
            {},
            "plugins[0].arguments.disableaclchecks",
            "duplicates 'DisableAclChecks'",
            id="duplicate-builtin-key",
        ),
        pytest.param(
            [{"name": "Contoso.X", "arguments": {"Bad-Key": "a"}}],
            {"registered": ["Contoso.X"]},
            "plugins[0].arguments",
            "argument name 'Bad-Key' is not valid",
            id="unsafe-key",
        ),
        pytest.param(
            [{"name": "Contoso.X", "arguments": {"a'}; calc; @{'b": "a"}}],
            {"registered": ["Contoso.X"]},
            "plugins[0].arguments",
            "is not valid: use letters, digits and '_'",
            id="injection-key",
        ),
        pytest.param(
            [{"name": "Contoso.X", "arguments": {1: "a"}}],
            {"registered": ["Contoso.X"]},
            "plugins[0].arguments",
            "argument name 1 is not valid",
            id="int-key",
        ),
        pytest.param(
            [{"name": HOTFIX_PLUGIN, "arguments": ["HotfixRootFolderPath=x"]}],
            {},
            "plugins[0].arguments",
            "expected a mapping of argument names",
            id="arguments-list",
        ),
        pytest.param(
            [{"name": "Contoso.X", "arguments": {"Nested": {"a": 1}}}],
            {"registered": ["Contoso.X"]},
            "plugins[0].arguments.Nested",
            "nested values are not allowed",
            id="nested-mapping",
        ),
        pytest.param(
            [{"name": "Contoso.X", "arguments": {"List": [1, 2]}}],
            {"registered": ["Contoso.X"]},
            "plugins[0].arguments.List",
            "nested values are not allowed",
            id="nested-list",
        ),
        pytest.param(
            [{"name": "Contoso.X", "arguments": {"F": 1.5}}],
            {"registered": ["Contoso.X"]},
            "plugins[0].arguments.F",
            "expected a string, boolean or integer, got float",
            id="float",
        ),
        pytest.param(
            [{"name": "Contoso.X", "arguments": {"N": None}}],
            {"registered": ["Contoso.X"]},
            "plugins[0].arguments.N",
            "is null; leave the argument out",
            id="null",
        ),
        pytest.param(
            [{"name": "Contoso.X", "arguments": {"V": "a\x00b"}}],
            {"registered": ["Contoso.X"]},
            "plugins[0].arguments.V",
            "contains a NUL character (U+0000)",
            id="nul-third-party",
        ),
        pytest.param(
            [{"name": HOTFIX_PLUGIN, "arguments": {"HotfixRootFolderPath": "\\\\fs01\\hot\x00fix"}}],
            {},
            "plugins[0].arguments.HotfixRootFolderPath",
            "contains a NUL character",
            id="nul-builtin",
        ),
        pytest.param(
            [{"name": HOTFIX_PLUGIN, "arguments": {"HotfixInstallerTimeoutMinutes": 0}}],
            {},
            "plugins[0].arguments.HotfixInstallerTimeoutMinutes",
            "expected a whole number of minutes from 1",
            id="timeout-zero",
        ),
        pytest.param(
            [{"name": HOTFIX_PLUGIN, "arguments": {"HotfixInstallerTimeoutMinutes": -5}}],
            {},
            "plugins[0].arguments.HotfixInstallerTimeoutMinutes",
            "from 1 to 2147483647",
            id="timeout-neg",
        ),
        pytest.param(
            [{"name": HOTFIX_PLUGIN, "arguments": {"HotfixInstallerTimeoutMinutes": True}}],
            {},
            "plugins[0].arguments.HotfixInstallerTimeoutMinutes",
            "got True",
            id="timeout-bool",
        ),
        pytest.param(
            [{"name": HOTFIX_PLUGIN, "arguments": {"HotfixInstallerTimeoutMinutes": "2h"}}],
            {},
            "plugins[0].arguments.HotfixInstallerTimeoutMinutes",
            "got '2h'",
            id="timeout-text",
        ),
        pytest.param(
            [{"name": HOTFIX_PLUGIN, "arguments": {"HotfixInstallerTimeoutMinutes": 2**31}}],
            {},
            "plugins[0].arguments.HotfixInstallerTimeoutMinutes",
            "from 1 to 2147483647",
            id="timeout-big",
        ),
        pytest.param(
            [{"name": HOTFIX_PLUGIN, "arguments": {"RequireSMBEncryption": "yes"}}],
            {},
            "plugins[0].arguments.RequireSMBEncryption",
            "expected true or false",
            id="bool-yes",
        ),
        pytest.param(
            [{"name": HOTFIX_PLUGIN, "arguments": {"RequireSMBEncryption": 1}}],
            {},
            "plugins[0].arguments.RequireSMBEncryption",
            "expected true or false",
            id="bool-int",
        ),
        pytest.param(
            [{"name": HOTFIX_PLUGIN, "arguments": {"HotfixRootFolderPath": "  "}}],
            {},
            "plugins[0].arguments.HotfixRootFolderPath",
            "must not be empty",
            id="empty-root",
        ),
        pytest.param(
            [{"name": HOTFIX_PLUGIN, "arguments": {"HotfixRootFolderPath": 5}}],
            {},
            "plugins[0].arguments.HotfixRootFolderPath",
            "expected a string, got int",
            id="root-int",
        ),
        pytest.param(
            [{"name": HOTFIX_PLUGIN, "arguments": {"HotfixConfigFileName": "..\\x.xml"}}],
            {},
            "plugins[0].arguments.HotfixConfigFileName",
            "a file name inside the hotfix root",
            id="cfg-path",
        ),
        pytest.param(
            [{"name": WINDOWS_UPDATE_PLUGIN, "arguments": {"QueryString": "IsInstalled=0 and Type='Driver"}}],
            {},
            "plugins[0].arguments.QueryString",
            "at column 24: unbalanced single quote",
            id="querystring-unbalanced",
        ),
        pytest.param(
            [
                {
                    "name": WINDOWS_UPDATE_PLUGIN,
                    "arguments": {"QueryString": "UpdateID='KB123' and IsInstalled=0"},
                }
            ],
            {},
            "plugins[0].arguments.QueryString",
            "UpdateID takes a GUID",
            id="querystring-not-guid",
        ),
        pytest.param(
            [{"name": WINDOWS_UPDATE_PLUGIN, "arguments": {"query": {"update_ids": ["KB123"]}}}],
            {},
            "plugins[0].arguments.query.update_ids[0]",
            "expected a GUID",
            id="query-not-guid",
        ),
        pytest.param(
            [{"name": WINDOWS_UPDATE_PLUGIN, "arguments": {"query": "IsInstalled=0"}}],
            {},
            "plugins[0].arguments.query",
            "expected a mapping of query criteria",
            id="query-string",
        ),
        pytest.param(
            [{"name": WINDOWS_UPDATE_PLUGIN}],
            {"run_plugins_serially": True},
            "run_plugins_serially",
            "only applies when several plug-ins are given",
            id="serial-single",
        ),
        pytest.param(
            [{"name": WINDOWS_UPDATE_PLUGIN}],
            {"stop_on_plugin_failure": True},
            "stop_on_plugin_failure",
            "only applies when several plug-ins",
            id="stop-single",
        ),
        pytest.param(
            [{"name": WINDOWS_UPDATE_PLUGIN}],
            {"separate_reboots": True},
            "separate_reboots",
            "only applies when several plug-ins",
            id="reboots-single",
        ),
        pytest.param(
            [{"name": WINDOWS_UPDATE_PLUGIN}, {"name": HOTFIX_PLUGIN}],
            {"separate_reboots": "yes"},
            "separate_reboots",
            "expected true or false",
            id="switch-type",
        ),
    ],
)
def test_parse_plugins_rejects(plugins: Any, kwargs: dict[str, Any], field: str, fragment: str) -> None:
    error = _fail(plugins, **kwargs)
    assert error.field == field
    assert fragment in error.message


def test_error_field_prefix_is_the_callers() -> None:
    error = _fail([{"name": "Nope.Plugin"}], field="cau_plugins")
    assert error.field == "cau_plugins[0].name"
    assert str(error).startswith("cau_plugins[0].name: unknown plug-in 'Nope.Plugin'")


# --------------------------------------------------------------------------------------------
# Switches and parameter layout


def test_single_plugin_accepts_switches_left_off() -> None:
    plugin_set = parse_plugins(
        [WINDOWS_UPDATE_PLUGIN],
        run_plugins_serially=False,
        stop_on_plugin_failure=None,
        separate_reboots=False,
    )
    assert render_powershell_parameters(plugin_set) == "-CauPluginName 'Microsoft.WindowsUpdatePlugin'"


def test_all_switches_render_in_fixed_order() -> None:
    plugin_set = parse_plugins(
        [WINDOWS_UPDATE_PLUGIN, HOTFIX_PLUGIN],
        separate_reboots=True,
        stop_on_plugin_failure=True,
        run_plugins_serially=True,
    )
    assert render_powershell_parameters(plugin_set) == (
        "-CauPluginName 'Microsoft.WindowsUpdatePlugin','Microsoft.HotfixPlugin' "
        "-RunPluginsSerially -StopOnPluginFailure -SeparateReboots"
    )


def test_plugin_without_arguments_keeps_its_slot() -> None:
    plugin_set = parse_plugins(
        [
            WINDOWS_UPDATE_PLUGIN,
            {"name": HOTFIX_PLUGIN, "arguments": {"HotfixRootFolderPath": "\\\\fs01\\hotfix"}},
        ]
    )
    assert render_powershell_parameters(plugin_set) == (
        "-CauPluginName 'Microsoft.WindowsUpdatePlugin','Microsoft.HotfixPlugin' "
        "-CauPluginArguments @{},@{'HotfixRootFolderPath'='\\\\fs01\\hotfix'}"
    )
    assert render_gui_arguments(plugin_set.plugins[0]) == ""


# --------------------------------------------------------------------------------------------
# Cluster-role quoting: exactly Add-/Set-CauClusterRole, exactly the WindowsUpdatePlugin QueryString


@pytest.mark.parametrize(
    ("cmdlet", "expected"),
    [
        ("Add-CauClusterRole", True),
        ("Set-CauClusterRole", True),
        ("set-cauclusterrole", True),
        ("Invoke-CauRun", False),
        ("Invoke-CauScan", False),
    ],
)
def test_uses_cluster_role_quoting(cmdlet: str, expected: bool) -> None:
    assert uses_cluster_role_quoting(cmdlet) is expected


@pytest.mark.parametrize("cmdlet", ["Get-CauClusterRole", "Invoke-CauRun; calc", "", None])
def test_uses_cluster_role_quoting_rejects(cmdlet: Any) -> None:
    with pytest.raises(InputError) as caught:
        uses_cluster_role_quoting(cmdlet)
    assert caught.value.field == "cmdlet"
    assert "expected one of Add-CauClusterRole, Invoke-CauRun, Invoke-CauScan, Set-CauClusterRole" in str(
        caught.value
    )


def _cluster_role_set() -> CauPluginSet:
    return parse_plugins(
        [
            {"name": WINDOWS_UPDATE_PLUGIN, "arguments": {"QueryString": SEED_UPDATE_QUERY}},
            {"name": HOTFIX_PLUGIN, "arguments": {"HotfixRootFolderPath": "\\\\fs01\\O'Brien's hotfixes"}},
            {"name": "Contoso.X", "arguments": {"QueryString": f"UpdateID='{GUID_A}'"}},
        ],
        registered=["Contoso.X"],
    )


def test_cluster_role_doubles_only_the_update_query() -> None:
    plugin_set = _cluster_role_set()
    plain = to_structured(plugin_set)
    role = to_structured(plugin_set, for_cluster_role=True)
    assert role[0]["arguments"] == {"QueryString": f"UpdateID=''{GUID_A}'' and IsInstalled=0"}
    assert role[1:] == plain[1:]  # the hotfix path and the third-party plug-in are untouched
    assert plain[0]["arguments"] == {"QueryString": SEED_UPDATE_QUERY}


def test_cluster_role_powershell_quotes_on_top_of_doubling() -> None:
    """The cmdlet must receive two apostrophes; written in '...', each becomes two more."""
    rendered = render_powershell_parameters(_cluster_role_set(), for_cluster_role=True)
    assert f"@{{'QueryString'='UpdateID=''''{GUID_A}'''' and IsInstalled=0'}}" in rendered
    assert "@{'HotfixRootFolderPath'='\\\\fs01\\O''Brien''s hotfixes'}" in rendered
    assert ps_read_parameters(rendered)["arguments"] == [
        a["arguments"] for a in to_structured(_cluster_role_set(), for_cluster_role=True)
    ]


def test_cluster_role_doubling_is_not_applied_twice() -> None:
    plugin_set = parse_plugins(
        [{"name": WINDOWS_UPDATE_PLUGIN, "arguments": {"query": {"update_ids": [GUID_A]}}}]
    )
    first = to_structured(plugin_set, for_cluster_role=True)
    second = to_structured(plugin_set, for_cluster_role=True)
    assert first == second
    assert plugin_arguments(plugin_set.plugins[0]) == {"QueryString": SEED_UPDATE_QUERY}


# --------------------------------------------------------------------------------------------
# Hostile values


HOSTILE_VALUES = [
    pytest.param("it's", "'it''s'", id="apostrophe"),
    pytest.param(
        "\u2018left\u2019 \u201alow\u201b",
        "'\u2018\u2018left\u2019\u2019 \u201a\u201alow\u201b\u201b'",
        id="unicode-single-quotes",
    ),
    pytest.param(
        "'; Remove-Item -Recurse C:\\ ; '", "'''; Remove-Item -Recurse C:\\ ; '''", id="quote-breakout"
    ),
    pytest.param("\u2019; calc; \u2018", "'\u2019\u2019; calc; \u2018\u2018'", id="curly-breakout"),
    pytest.param("$(Invoke-Expression calc)", "'$(Invoke-Expression calc)'", id="subexpression"),
    pytest.param("${env:PATH} $env:USERNAME", "'${env:PATH} $env:USERNAME'", id="variables"),
    pytest.param("`$x`n`0", "'`$x`n`0'", id="backticks"),
    pytest.param("a;b}; calc; @{c='d", "'a;b}; calc; @{c=''d'", id="semicolon-brace"),
    pytest.param("line1\nline2\r\nline3", "'line1\nline2\r\nline3'", id="newlines"),
    pytest.param("x'@\nWrite-Host pwned\n@'", "'x''@\nWrite-Host pwned\n@'''", id="here-string-terminator"),
    pytest.param("@'\ncalc\n'@", "'@''\ncalc\n''@'", id="here-string"),
    pytest.param(
        '"double" \u201ccurly\u201d \u201elow\u201d',
        "'\"double\" \u201ccurly\u201d \u201elow\u201d'",
        id="double-quotes",
    ),
    pytest.param("'", "''''", id="lone-quote"),
    pytest.param("''''", "''''''''''", id="quotes-only"),
    pytest.param("ends with quote'", "'ends with quote'''", id="trailing-quote"),
    pytest.param("# not a comment <# nor this #>", "'# not a comment <# nor this #>'", id="comments"),
    pytest.param("", "''", id="empty"),
    pytest.param("\\\\fs01\\hot fix\\", "'\\\\fs01\\hot fix\\'", id="unc-trailing-backslash"),
]


@pytest.mark.parametrize(("value", "literal"), HOSTILE_VALUES)
def test_quote_powershell_string_exact(value: str, literal: str) -> None:
    assert quote_powershell_string(value) == literal
    assert ps_unquote(literal) == value


@pytest.mark.parametrize(("value", "literal"), HOSTILE_VALUES)
def test_hostile_values_cannot_break_out_of_the_hashtable(value: str, literal: str) -> None:
    plugin_set = parse_plugins(
        [
            {"name": "Contoso.X", "arguments": {"Value": value, "After": "ok"}},
            {"name": HOTFIX_PLUGIN, "arguments": {"HotfixRootFolderPath": value or "x"}},
        ],
        registered=["Contoso.X"],
        run_plugins_serially=True,
    )
    rendered = render_powershell_parameters(plugin_set)
    assert f"@{{'Value'={literal};'After'='ok'}}" in rendered
    assert ps_read_parameters(rendered) == {
        "names": ["Contoso.X", HOTFIX_PLUGIN],
        "arguments": [{"Value": value, "After": "ok"}, {"HotfixRootFolderPath": value or "x"}],
        "switches": ["RunPluginsSerially"],
    }


def test_quote_powershell_string_refuses_nul() -> None:
    with pytest.raises(ValueError, match="NUL"):
        quote_powershell_string("a\x00b")


@pytest.mark.parametrize(
    ("value", "bad"),
    [
        ('say "hi"', '"'),
        ("a;b", ";"),
        ("a\nb", "\n"),
        ("a\r\nb", "\r"),
        ("a\u2028b", "\u2028"),
    ],
)
def test_gui_form_refuses_what_it_cannot_carry(value: str, bad: str) -> None:
    plugin = parse_plugins(
        [{"name": "Contoso.X", "arguments": {"Value": value}}], registered=["Contoso.X"]
    ).plugins[0]
    with pytest.raises(InputError) as caught:
        render_gui_arguments(plugin)
    assert caught.value.field == "plugins[0].arguments.Value"
    assert (
        f"contains {bad!r}, which the CAU UI form Name=Value;Name=Value cannot carry" in caught.value.message
    )
    # The same value is fine in the PowerShell form.
    assert ps_read_parameters(render_powershell_parameters(CauPluginSet((plugin,))))["arguments"] == [
        {"Value": value}
    ]


@pytest.mark.parametrize(
    ("value", "gui"),
    [
        ("plain", "Value=plain"),
        ("with space", 'Value="with space"'),
        ("tab\there", 'Value="tab\there"'),
        ("", 'Value=""'),
        ("a=b", "Value=a=b"),
        ("$(calc)'`", "Value=$(calc)'`"),
    ],
)
def test_gui_form_quoting(value: str, gui: str) -> None:
    plugin = parse_plugins(
        [{"name": "Contoso.X", "arguments": {"Value": value}}], registered=["Contoso.X"]
    ).plugins[0]
    assert render_gui_arguments(plugin) == gui


# --------------------------------------------------------------------------------------------
# Properties

# Text built from chunks, so that the characters that matter to PowerShell turn up often instead
# of drowning in the rest of Unicode.
_special = st.sampled_from(
    sorted(POWERSHELL_SINGLE_QUOTES)
    + ["$", "$(", "`", ";", "\n", "\r\n", '"', "\u201c", "'@", "@'", "{", "}", "#"]
)
_any_chars = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=4)
_no_nul_text = st.lists(st.one_of(_special, _any_chars), max_size=10).map("".join)
_keys = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
_values = st.one_of(_no_nul_text, st.booleans(), st.integers(-(10**12), 10**12))
_argument_tables = st.dictionaries(_keys, _values, max_size=4).filter(
    lambda d: len({k.lower() for k in d}) == len(d)
)


@settings(max_examples=300, deadline=None)
@given(_no_nul_text)
def test_any_text_round_trips_through_a_powershell_literal(value: str) -> None:
    literal = quote_powershell_string(value)
    assert ps_unquote(literal) == value


@settings(max_examples=150, deadline=None)
@given(st.lists(_argument_tables, min_size=1, max_size=3), st.booleans(), st.booleans(), st.booleans())
def test_rendered_parameters_read_back_as_the_structured_form(
    tables: list[dict[str, Any]], serial: bool, stop: bool, reboots: bool
) -> None:
    names = [f"Vendor.Plugin{i}" for i in range(len(tables))]
    several = len(tables) > 1
    plugin_set = parse_plugins(
        [{"name": n, "arguments": t} for n, t in zip(names, tables)],
        registered=names,
        run_plugins_serially=serial and several,
        stop_on_plugin_failure=stop and several,
        separate_reboots=reboots and several,
    )
    structured = to_structured(plugin_set)
    read = ps_read_parameters(render_powershell_parameters(plugin_set))
    assert read["names"] == names
    expected_tables = [p["arguments"] for p in structured]
    assert read["arguments"] == (expected_tables if any(expected_tables) else None)
    assert read["switches"] == plugin_set.switches


@settings(max_examples=150, deadline=None)
@given(_argument_tables)
def test_gui_form_round_trips_or_refuses(table: dict[str, Any]) -> None:
    plugin = parse_plugins([{"name": "Vendor.P", "arguments": table}], registered=["Vendor.P"]).plugins[0]
    try:
        gui = render_gui_arguments(plugin)
    except InputError as error:
        assert "cannot carry" in error.message
        assert any(
            c in v
            for v in plugin_arguments(plugin).values()
            for c in '";\n\r\x85\u2028\u2029\v\f\x1c\x1d\x1e'
        )
        return
    if table:
        assert gui_read(gui) == plugin_arguments(plugin)
    else:
        assert gui == ""


@pytest.mark.parametrize(
    "value",
    ["\u2019; calc; \u2018", "\u201a) ; calc ; (\u201b", "x\u2019,@{'Evil'='1'},\u2018"],
)
def test_reference_reader_catches_an_ascii_only_quoter(value: str) -> None:
    """The reader has teeth: quoting that forgets the Unicode quotes does not read back intact."""
    naive = "'" + value.replace("'", "''") + "'"
    try:
        read = ps_unquote(naive)
    except ValueError:
        return  # the string ended early: the rest would have run as PowerShell
    assert read != value


def test_render_errors_name_the_plugin_when_built_by_hand() -> None:
    plugin = CauPlugin("Contoso.X", (("Value", "a;b"),))
    with pytest.raises(InputError) as caught:
        render_gui_arguments(plugin)
    assert caught.value.field == "Contoso.X.arguments.Value"
