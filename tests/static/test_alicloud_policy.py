"""docs/alicloud.md's RAM policy grants exactly the ECS actions the modules call.

The policy is what users paste into RAM; an action the code calls but the policy lacks fails in
production with Forbidden.RAM, and an action the policy grants but the code never calls is a
needless permission.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CALL_RE = re.compile(r"(?:\.call(?:_paged)?\(|call_tokened\(\s*\w+,)\s*\"([A-Z][A-Za-z]+)\"")


def called_actions() -> set[str]:
    actions: set[str] = set()
    for path in (REPO_ROOT / "plugins" / "module_utils").glob("_ecs_*.py"):
        actions |= set(CALL_RE.findall(path.read_text(encoding="utf-8")))
    return actions


def documented_policy() -> dict:
    text = (REPO_ROOT / "docs" / "alicloud.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```json\n(.*?)```", text, re.S)
    assert len(blocks) == 1, "docs/alicloud.md holds exactly one JSON block: the RAM policy"
    return json.loads(blocks[0])


def test_the_policy_grants_exactly_what_the_modules_call():
    policy = documented_policy()
    assert policy["Version"] == "1"
    granted = [action for statement in policy["Statement"] for action in statement["Action"]]
    assert all(statement["Effect"] == "Allow" for statement in policy["Statement"])
    assert len(granted) == len(set(granted)), "an action is listed twice"
    assert {a.removeprefix("ecs:") for a in granted} == called_actions()


def test_the_code_scan_finds_the_calls():
    assert {
        "CreateSnapshotGroup",
        "RunCommand",
        "RebootInstances",
        "DescribeInvocationResults",
    } <= called_actions()
