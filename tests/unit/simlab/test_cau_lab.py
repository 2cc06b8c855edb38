"""The lab's WUA evaluation answers like Windows Update would (test code checking test code)."""

from __future__ import annotations

import pytest

from tests.simlab.cau import query_updates

BASE = {"hidden": False, "assigned": True, "recommended": False, "installed": False, "browse_only": False,
        "revision": 1, "categories": [], "type": "Software"}
A = {**BASE, "id": "aaaaaaaa-0000-4000-8000-000000000001"}
B = {**BASE, "id": "bbbbbbbb-0000-4000-8000-000000000002", "type": "Driver", "assigned": False}
C = {**BASE, "id": "cccccccc-0000-4000-8000-000000000003", "recommended": True}
D = {**BASE, "id": "dddddddd-0000-4000-8000-000000000004", "installed": True}
E = {**BASE, "id": "eeeeeeee-0000-4000-8000-000000000005", "hidden": True, "categories": ["0fa1201d-4330-4fa8-8ae9-b877473b6441"]}
F = {**BASE, "id": "ffffffff-0000-4000-8000-000000000006", "deployment_action": "OptionalInstallation"}
ALL = [A, B, C, D, E, F]


@pytest.mark.parametrize(
    ("query", "recommended", "expected"),
    [
        ("IsInstalled=0 and Type='Software' and IsHidden=0 and IsAssigned=1", False, [A]),
        ("IsInstalled=0 and Type='Software' and IsHidden=0 and IsAssigned=1", True, [A, C]),
        ("IsInstalled=0 and Type='Driver' and IsHidden=0", False, [B]),
        ("IsInstalled=1", False, [D]),
        (f"UpdateID='{A['id'].upper()}' and IsInstalled=0", False, [A]),
        (f"(UpdateID='{A['id']}') or (UpdateID='{B['id']}')", False, [A, B]),
        ("Type!='Software'", False, [B]),
        ("CategoryIDs contains '0fa1201d-4330-4fa8-8ae9-b877473b6441'", False, [E]),
        # MS-UAMG: 'and' binds tighter than 'or', no parentheses needed
        ("IsInstalled=0 and Type='Software' and IsHidden=0 and IsAssigned=1 or IsInstalled=0 and Type='Driver'",
         False, [A, B]),
        ("DeploymentAction='OptionalInstallation'", False, [F]),
        ("IsInstalled=0 and IsHidden=0", True, [A, B, C]),  # F is OptionalInstallation: not implied
    ],
)
def test_queries_select_what_wua_would(query, recommended, expected):
    assert query_updates(ALL, query, recommended) == expected


def test_a_criterion_wua_rejects_is_a_wua_error():
    with pytest.raises(ValueError, match="WU_E_INVALID_CRITERIA"):
        query_updates(ALL, f"UpdateID=''{A['id']}'' and IsInstalled=0", False)  # cluster-role quoting in a run
