"""The same documented WUA criteria, fed to the product's validator and to the lab's own WUA.

The lab (tests/simlab/wua.py) and the product (plugins/module_utils/_wua_query.py) are written
separately from Microsoft's pages; this table is where they must agree, so neither can drift into
a stricter (or looser) grammar than Windows has:

* MS-UAMG 3.38.4.11 IUpdateSearcher::Search,
  https://learn.microsoft.com/openspecs/windows_protocols/ms-uamg/8bc81f1d-0491-463c-a347-a4486b7d83ab
* https://learn.microsoft.com/windows/win32/api/wuapi/nf-wuapi-iupdatesearcher-search
* https://learn.microsoft.com/windows-server/failover-clustering/cluster-aware-updating-plug-ins
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._wua_query import validate_query
from tests.simlab import wua

GUID = "f6ce46c1-971c-43f9-a2aa-783df125f003"
REPO = Path(__file__).resolve().parents[3]

VALID = [
    # the plug-in's default and its drivers-only example (CAU plug-ins page)
    "IsInstalled=0 and Type='Software' and IsHidden=0 and IsAssigned=1",
    "IsInstalled=0 and Type='Driver' and IsHidden=0",
    f"UpdateID='{GUID}' and IsInstalled=0",
    # the wuapi remarks: OR at the top level, with parentheses
    "(IsInstalled=0 and Type='Software') or (IsInstalled=0 and Type='Driver')",
    # MS-UAMG: criteria = andgroup *("or" andgroup); "and" binds tighter
    "IsInstalled=0 and Type='Software' or IsInstalled=0 and Type='Driver'",
    "IsInstalled=1 or IsHidden=1",
    # every documented DeploymentAction search value
    "DeploymentAction='Installation'",
    "DeploymentAction='Uninstallation' and IsInstalled=1",
    "DeploymentAction='OptionalInstallation' and IsInstalled=0",
    # integer = ["-"] 1*DIGIT
    f"UpdateID='{GUID}' and RevisionNumber=-1",
    f"UpdateID='{GUID}' and RevisionNumber=201",
    # string comparisons are case-insensitive
    "Type='driver'",
    "Type != 'Driver'",
    f"CategoryIDs contains '{GUID}'",
    "((IsInstalled=0) and (IsHidden=0))",
]
INVALID = [
    "IsInstalled=0 and (Type='Software' or Type='Driver')",  # OR only at the top level
    "RevisionNumber=201",  # only with UpdateID
    "IsInstalled!=0",  # != only with Type (and UpdateID)
    "Type contains 'Driver'",
    f"CategoryIDs='{GUID}'",
    "IsInstalled=2",
    "Type=Driver",
    "Title='x'",
    f"UpdateID=''{GUID}'' and IsInstalled=0",  # cluster-role quoting in a search
    "",
    "IsInstalled=0 and",
]


@pytest.mark.parametrize("criteria", VALID)
def test_both_accept_the_documented_examples(criteria: str) -> None:
    assert validate_query(criteria) == criteria
    wua.search([], criteria)


@pytest.mark.parametrize("criteria", INVALID)
def test_both_refuse_what_the_grammar_refuses(criteria: str) -> None:
    with pytest.raises(InputError):
        validate_query(criteria)
    with pytest.raises(wua.WuaError, match="WU_E_INVALID_CRITERIA"):
        wua.search([], criteria)


@pytest.mark.parametrize("tree", ["tests/simlab", "tests/fakeecs"])
def test_the_lab_never_imports_product_code(tree: str) -> None:
    """The lab models Windows from its documentation; importing ``plugins/`` would make it agree by construction."""
    offenders = []
    for path in sorted((REPO / tree).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.relative_to(REPO)}: {n}" for n in names if n.startswith("ansible_collections.winfleet")]
    assert offenders == []
