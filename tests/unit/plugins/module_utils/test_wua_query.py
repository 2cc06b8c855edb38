# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the Windows Update Agent criterion builder, parser and cluster-role quoting."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._wua_query import (
    DEFAULT_QUERY,
    DRIVERS_ONLY_QUERY,
    Criterion,
    WuaQuery,
    build_query,
    double_quotes_for_cluster_role,
    format_query,
    parse_query,
    validate_query,
)

GUID_A = "f6ce46c1-971c-43f9-a2aa-783df125f003"  # the seed's example update
GUID_B = "0fa1201d-4330-4fa8-8ae9-b877473b6441"
CAT_1 = "28bc880e-0592-4cbf-8f95-c79b17911d5f"
CAT_2 = "e6cf1350-c01b-414d-a61f-263d14d133b4"

# --------------------------------------------------------------------------------------------
# Builder


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(None, DEFAULT_QUERY, id="nothing-is-the-seed-default"),
        pytest.param({}, "IsInstalled=0 and Type='Software' and IsHidden=0 and IsAssigned=1", id="empty"),
        pytest.param(
            {"type": "Driver"}, "IsInstalled=0 and Type='Driver' and IsHidden=0", id="seed-drivers-only"
        ),
        pytest.param({"type": "driver"}, DRIVERS_ONLY_QUERY, id="type-any-case"),
        pytest.param({"type": "Software"}, DEFAULT_QUERY, id="software-explicit"),
        pytest.param(
            {"type": "Driver", "assigned": True},
            "IsInstalled=0 and Type='Driver' and IsHidden=0 and IsAssigned=1",
            id="driver-assigned-explicit",
        ),
        pytest.param(
            {"update_ids": [GUID_A]},
            f"UpdateID='{GUID_A}' and IsInstalled=0",
            id="seed-one-update",
        ),
        pytest.param(
            {"update_ids": [GUID_A.upper()]},
            f"UpdateID='{GUID_A}' and IsInstalled=0",
            id="guid-lowercased",
        ),
        pytest.param(
            {"update_ids": [GUID_A, {"id": GUID_B, "revision": 201}]},
            f"(UpdateID='{GUID_A}' and IsInstalled=0) or "
            f"(UpdateID='{GUID_B}' and RevisionNumber=201 and IsInstalled=0)",
            id="several-updates-or-of-and-groups",
        ),
        pytest.param(
            {"update_ids": [{"id": GUID_A}], "type": "Software", "hidden": False},
            f"UpdateID='{GUID_A}' and IsInstalled=0 and Type='Software' and IsHidden=0",
            id="update-ids-add-only-what-is-set",
        ),
        pytest.param(
            {"category_ids": [CAT_1]},
            f"IsInstalled=0 and Type='Software' and IsHidden=0 and IsAssigned=1 and CategoryIDs contains '{CAT_1}'",
            id="one-category",
        ),
        pytest.param(
            {"category_ids": [CAT_1, CAT_2], "type": None, "assigned": None, "hidden": None},
            f"(IsInstalled=0 and CategoryIDs contains '{CAT_1}') or (IsInstalled=0 and CategoryIDs contains '{CAT_2}')",
            id="categories-are-any-of",
        ),
        pytest.param(
            {"installed": True, "type": None, "hidden": None},
            "IsInstalled=1",
            id="nulls-drop-criteria",
        ),
        pytest.param(
            {
                "installed": False,
                "type": "Software",
                "hidden": True,
                "assigned": False,
                "browse_only": True,
                "auto_select_on_web_sites": True,
                "reboot_required": False,
                "is_present": True,
                "deployment_action": "uninstallation",
            },
            "IsInstalled=0 and Type='Software' and IsHidden=1 and IsAssigned=0 and BrowseOnly=1 and "
            "AutoSelectOnWebSites=1 and RebootRequired=0 and IsPresent=1 and DeploymentAction='Uninstallation'",
            id="every-field",
        ),
        pytest.param(
            {"installed": "false", "type": None, "hidden": None}, "IsInstalled=0", id="survey-strings"
        ),
    ],
)
def test_build_query(spec: dict[str, object] | None, expected: str) -> None:
    assert build_query(spec) == expected


@pytest.mark.parametrize(
    ("spec", "field", "fragment"),
    [
        pytest.param([], "query", "expected a mapping", id="not-a-mapping"),
        pytest.param(
            {"typ": "Driver"}, "query", "unknown key(s) typ; valid keys: installed, type", id="unknown-key"
        ),
        pytest.param({"type": "Firmware"}, "query.type", "expected one of Software, Driver", id="bad-type"),
        pytest.param({"installed": 0}, "query.installed", "expected true, false or null", id="int-not-bool"),
        pytest.param(
            {"installed": "yes"}, "query.installed", "expected true, false or null", id="yes-not-bool"
        ),
        pytest.param({"update_ids": GUID_A}, "query.update_ids", "expected a list", id="ids-not-list"),
        pytest.param(
            {"update_ids": ["KB5005565"]}, "query.update_ids[0]", "expected a GUID", id="kb-not-guid"
        ),
        pytest.param(
            {"update_ids": ["{" + GUID_A + "}"]}, "query.update_ids[0]", "no braces", id="braced-guid"
        ),
        pytest.param(
            {"update_ids": [{"id": GUID_A, "revision": -1}]},
            "query.update_ids[0].revision",
            "non-negative",
            id="negative-revision",
        ),
        pytest.param(
            {"update_ids": [{"id": GUID_A, "revision": True}]},
            "query.update_ids[0].revision",
            "non-negative",
            id="bool-revision",
        ),
        pytest.param({"update_ids": [{"revision": 1}]}, "query.update_ids[0]", "missing 'id'", id="no-id"),
        pytest.param(
            {"update_ids": [{"id": GUID_A, "rev": 1}]},
            "query.update_ids[0]",
            "valid keys: id, revision",
            id="bad-id-key",
        ),
        pytest.param(
            {"update_ids": [GUID_A, GUID_A.upper()]},
            "query.update_ids[1]",
            "duplicate of update_ids[0]",
            id="duplicate-id",
        ),
        pytest.param(
            {"category_ids": [CAT_1, CAT_1]}, "query.category_ids", "same category twice", id="dup-cat"
        ),
        pytest.param(
            {"deployment_action": "Install"},
            "query.deployment_action",
            "Installation, Uninstallation, OptionalInstallation",
            id="bad-action",
        ),
        pytest.param(
            {"installed": None, "type": None, "hidden": None},
            "query",
            "every criterion is null",
            id="all-null",
        ),
    ],
)
def test_build_query_rejects(spec: object, field: str, fragment: str) -> None:
    with pytest.raises(InputError) as caught:
        build_query(spec)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert fragment in caught.value.message


def test_build_query_uses_caller_field() -> None:
    with pytest.raises(InputError) as caught:
        build_query({"type": "x"}, field="plugins[0].arguments.query")
    assert caught.value.field == "plugins[0].arguments.query.type"


# --------------------------------------------------------------------------------------------
# Parser / validator


@pytest.mark.parametrize(
    "text",
    [
        DEFAULT_QUERY,
        DRIVERS_ONLY_QUERY,
        f"UpdateID='{GUID_A}' and IsInstalled=0",
        f"UpdateID='{GUID_A}' and RevisionNumber=201",
        f"(UpdateID='{GUID_A}' and RevisionNumber=201) or (UpdateID='{GUID_B}')",
        "(IsInstalled=0 and Type='Software') or (IsInstalled=0 and Type='Driver')",
        "IsInstalled=0 or IsHidden=1",
        "Type!='Driver'",
        f"UpdateID!='{GUID_A}' and IsInstalled=0",
        f"CategoryIDs contains '{CAT_1}'",
        "  isinstalled = 0   AND  TYPE='Driver'\t",
        "((IsInstalled=0) and (IsHidden=0 and IsAssigned=1))",
        "DeploymentAction='Uninstallation' and IsInstalled=1",
        "BrowseOnly=0 and AutoSelectOnWebSites=1 and RebootRequired=0 and IsPresent=1",
        "IsInstalled=00",
        # MS-UAMG 3.38.4.11: criteria = andgroup *("or" andgroup), 'and' binding tighter.
        "IsInstalled=0 and Type='Software' or IsInstalled=0 and Type='Driver'",
        "IsInstalled=0 and Type='Software' or IsHidden=0",
        "DeploymentAction='OptionalInstallation' and IsInstalled=0",
        f"UpdateID='{GUID_A}' and RevisionNumber=-1",
        "Type='driver' and IsInstalled=0",
    ],
)
def test_validate_query_accepts(text: str) -> None:
    assert validate_query(text) == text


def test_or_without_parentheses_is_two_and_groups() -> None:
    """'a and b or c and d' is (a and b) or (c and d): the grammar's precedence, not an error."""
    parsed = parse_query("IsInstalled=0 and Type='Software' or IsInstalled=0 and type='driver'")
    assert parsed == WuaQuery(
        (
            (Criterion("IsInstalled", "=", 0), Criterion("Type", "=", "Software")),
            (Criterion("IsInstalled", "=", 0), Criterion("Type", "=", "Driver")),
        )
    )


def test_parse_query_reports_canonical_names() -> None:
    parsed = parse_query(f"(isinstalled=0 and TYPE='Driver') or (updateid!='{GUID_A}')")
    assert parsed == WuaQuery(
        (
            (Criterion("IsInstalled", "=", 0), Criterion("Type", "=", "Driver")),
            (Criterion("UpdateID", "!=", GUID_A),),
        )
    )
    assert str(parsed) == f"(IsInstalled=0 and Type='Driver') or (UpdateID!='{GUID_A}')"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "IsInstalled=0 and Type='Software",
            "at column 24: unbalanced single quote, the string opened here is never closed",
            id="unbalanced-quote",
        ),
        pytest.param(
            "IsInstalled=0 and Type=Software'",
            "at column 32: unbalanced single quote, the string opened here is never closed",
            id="unbalanced-quote-trailing",
        ),
        pytest.param(
            "IsInstaled=0",
            "at column 1 ('IsInstaled'): not a WUA search property; valid properties: AutoSelectOnWebSites, "
            "BrowseOnly, CategoryIDs, DeploymentAction, IsAssigned, IsHidden, IsInstalled, IsPresent, "
            "RebootRequired, RevisionNumber, Type, UpdateID",
            id="unknown-property",
        ),
        pytest.param(
            "IsInstalled!=0",
            "at column 12 ('!='): '!=' is only valid with Type and UpdateID; IsInstalled takes only '='",
            id="not-equal-on-bool",
        ),
        pytest.param(
            "Type contains 'Driver'",
            "at column 6 ('contains'): 'contains' is only valid with CategoryIDs",
            id="contains-on-type",
        ),
        pytest.param(
            f"CategoryIDs='{CAT_1}'",
            "at column 12 ('='): CategoryIDs takes only 'contains': CategoryIDs contains '<guid>'",
            id="equals-on-categories",
        ),
        pytest.param(
            "IsInstalled=0 and (Type='Software' or Type='Driver')",
            "at column 36 ('or'): 'or' is only allowed at the top level: write (a and b) or (c), "
            "not (a) and (b or c)",
            id="nested-or",
        ),
        pytest.param(
            "RevisionNumber=201 and IsInstalled=0",
            "at column 1 ('RevisionNumber'): RevisionNumber is only valid together with UpdateID",
            id="revision-alone",
        ),
        pytest.param(
            f"(UpdateID='{GUID_A}') or (RevisionNumber=201)",
            "at column 55 ('RevisionNumber'): RevisionNumber is only valid together with UpdateID",
            id="revision-other-group",
        ),
        pytest.param(
            "UpdateID='KB5005565'",
            "at column 10 (\"'KB5005565'\"): UpdateID takes a GUID like "
            "'f6ce46c1-971c-43f9-a2aa-783df125f003' (no braces)",
            id="update-id-not-guid",
        ),
        pytest.param(
            f"CategoryIDs contains '{{{CAT_1}}}'",
            "CategoryIDs takes a GUID like",
            id="category-braces",
        ),
        pytest.param("Type='Firmware'", "Type takes 'Software' or 'Driver'", id="bad-type"),
        pytest.param(
            "Type=Driver", "Type takes a string in single quotes, e.g. Type='Software'", id="unquoted"
        ),
        pytest.param(
            "DeploymentAction='Install'",
            "'Installation' or 'Uninstallation' or 'OptionalInstallation'",
            id="bad-action",
        ),
        pytest.param("IsInstalled=2", "at column 13 ('2'): IsInstalled takes 0 or 1", id="bool-range"),
        pytest.param("IsInstalled='0'", "IsInstalled takes 0 or 1, without quotes", id="quoted-int"),
        pytest.param("IsInstalled=0x1", "at column 13 ('0x1'): integers are written in base 10", id="hex"),
        pytest.param("IsInstalled=-1", "at column 13 ('-1'): IsInstalled takes 0 or 1", id="negative-bool"),
        pytest.param("IsInstalled=- 1", "at column 13 ('-'): unexpected character", id="lone-minus"),
        pytest.param(
            'Type="Driver"', "at column 6 ('\"'): unexpected character, a double quote", id="dquote"
        ),
        pytest.param("Type=\u2019Driver\u2019", "a typographic quote (U+2019)", id="curly-quote"),
        pytest.param(
            "IsInstalled<1", "an unsupported operator; WUA accepts only =, != and contains", id="lt"
        ),
        pytest.param("IsInstalled!1", "expected '!='", id="bang"),
        pytest.param("", "the criterion is empty", id="empty"),
        pytest.param("   ", "the criterion is empty", id="blank"),
        pytest.param(
            "IsInstalled=0 and", "at column 18 (end of query): expected a property name", id="dangling"
        ),
        pytest.param(
            "IsInstalled", "at column 12 (end of query): expected an operator after IsInstalled", id="no-op"
        ),
        pytest.param("IsInstalled=", "IsInstalled takes 0 or 1, without quotes", id="no-value"),
        pytest.param("(IsInstalled=0", "expected 'and' or ')' to close the '(' at column 1", id="open-paren"),
        pytest.param("IsInstalled=0)", "at column 14 (')'): ')' without a matching '('", id="close-paren"),
        pytest.param("IsInstalled=0 IsHidden=0", "expected 'and', 'or' or the end", id="missing-and"),
        pytest.param("and=1", "at column 1 ('and'): expected a property name", id="keyword-as-name"),
        pytest.param(
            "IsInstalled=0\nand IsHidden=0", "a line break; write the criterion on one line", id="newline"
        ),
        pytest.param(
            "IsInstalled=0; Remove-Item C:\\", "at column 14 (';'): unexpected character", id="semicolon"
        ),
        pytest.param(
            "IsInstalled=0 and $(whoami)=1", "at column 19 ('$'): unexpected character", id="dollar"
        ),
        pytest.param("IsInstalled=0\x00", "at column 14 ('\\x00'): unexpected character", id="nul"),
        pytest.param(
            f"UpdateID=''{GUID_A}'' and IsInstalled=0",
            "at column 10: empty string ''. If this query was copied from a cluster-role example",
            id="already-doubled",
        ),
    ],
)
def test_validate_query_rejects(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        validate_query(text, field="plugins[0].arguments.QueryString")
    assert caught.value.field == "plugins[0].arguments.QueryString"
    assert message in caught.value.message


def test_validate_query_rejects_non_string() -> None:
    with pytest.raises(InputError, match="expected the criterion as a string, got int"):
        validate_query(1)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Cluster-role quoting


@pytest.mark.parametrize(
    ("text", "all_literals", "expected"),
    [
        pytest.param(
            f"UpdateID='{GUID_A}' and IsInstalled=0",
            False,
            f"UpdateID=''{GUID_A}'' and IsInstalled=0",
            id="seed-example",
        ),
        pytest.param(DEFAULT_QUERY, False, DEFAULT_QUERY, id="no-update-id-nothing-doubled"),
        pytest.param(DRIVERS_ONLY_QUERY, False, DRIVERS_ONLY_QUERY, id="drivers-nothing-doubled"),
        pytest.param(
            f"(UpdateID='{GUID_A}' and Type='Software') or (updateid != '{GUID_B}')",
            False,
            f"(UpdateID=''{GUID_A}'' and Type='Software') or (updateid != ''{GUID_B}'')",
            id="every-update-id-spacing-kept",
        ),
        pytest.param(
            DEFAULT_QUERY,
            True,
            "IsInstalled=0 and Type=''Software'' and IsHidden=0 and IsAssigned=1",
            id="all-literals-option",
        ),
        pytest.param(
            f"UpdateID='{GUID_A}' and CategoryIDs contains '{CAT_1}'",
            True,
            f"UpdateID=''{GUID_A}'' and CategoryIDs contains ''{CAT_1}''",
            id="all-literals-categories",
        ),
    ],
)
def test_double_quotes_for_cluster_role(text: str, all_literals: bool, expected: str) -> None:
    assert double_quotes_for_cluster_role(text, all_literals=all_literals) == expected


def test_double_quotes_validates_first() -> None:
    with pytest.raises(InputError, match="unbalanced single quote"):
        double_quotes_for_cluster_role("UpdateID='abc")


# --------------------------------------------------------------------------------------------
# Properties

_guids = st.uuids().map(str)
_bool_or_none = st.one_of(st.none(), st.booleans())
_specs = st.fixed_dictionaries(
    {},
    optional={
        "installed": _bool_or_none,
        "type": st.sampled_from([None, "Software", "Driver", "driver"]),
        "hidden": _bool_or_none,
        "assigned": _bool_or_none,
        "browse_only": _bool_or_none,
        "auto_select_on_web_sites": _bool_or_none,
        "reboot_required": _bool_or_none,
        "is_present": _bool_or_none,
        "deployment_action": st.sampled_from([None, "Installation", "Uninstallation", "OptionalInstallation"]),
        "update_ids": st.lists(
            st.one_of(
                _guids, st.fixed_dictionaries({"id": _guids}, optional={"revision": st.integers(0, 10**6)})
            ),
            max_size=3,
            unique_by=lambda e: e if isinstance(e, str) else e["id"],
        ),
        "category_ids": st.lists(_guids, max_size=2, unique=True),
    },
)


@settings(max_examples=150, deadline=None)
@given(_specs)
def test_builder_output_always_passes_validator(spec: dict[str, Any]) -> None:
    try:
        text = build_query(spec)
    except InputError as error:
        # The only legitimate refusal for well-typed input: everything switched off.
        assert "every criterion is null" in error.message
        return
    parsed = parse_query(text)
    assert format_query(parsed) == text
    ids = spec.get("update_ids") or []
    cats = spec.get("category_ids") or []
    assert len(parsed.groups) == max(1, len(ids)) * max(1, len(cats))


@settings(max_examples=150, deadline=None)
@given(_specs, st.booleans())
def test_cluster_role_doubling_only_adds_quotes(spec: dict[str, object], all_literals: bool) -> None:
    try:
        text = build_query(spec)
    except InputError:
        return
    doubled = double_quotes_for_cluster_role(text, all_literals=all_literals)
    assert doubled.replace("''", "'") == text
    update_ids = sum(c.property == "UpdateID" for g in parse_query(text).groups for c in g)
    literals = text.count("'") // 2
    assert doubled.count("'") - text.count("'") == 2 * (literals if all_literals else update_ids)


_query_alphabet = st.sampled_from(
    list("()='! \t-0123456789abcdefABCDEF\"$;`\n\u2019")
    + ["and", "or", "contains", "IsInstalled", "Type", "UpdateID", "RevisionNumber", "'Driver'", GUID_A]
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40), st.lists(_query_alphabet, max_size=15).map("".join)))
def test_parser_never_fails_with_anything_but_input_error(text: str) -> None:
    try:
        parsed = parse_query(text)
    except InputError as error:
        assert error.field == "QueryString"
        return
    # Whatever it accepts, it can print back, and the print is accepted too.
    assert parse_query(format_query(parsed)) == parsed
