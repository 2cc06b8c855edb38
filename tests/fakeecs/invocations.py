"""DescribeInvocations: a region's Cloud Assistant invocations, filtered and paged (test code only).

Follows https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describeinvocations:

* filters ``InvokeId``, ``CommandId``, ``CommandName``, ``CommandType``, ``InstanceId`` (the
  invocations that include that instance), ``InvokeStatus`` and ``Tag.N.Key`` / ``Tag.N.Value``
  (every tag given must be on the invocation); paged with ``PageNumber`` / ``PageSize`` (at most 50);
* one ``Invocation`` per InvokeId, with ``Tags.Tag[]`` (``TagKey`` / ``TagValue``) and
  ``InvokeInstances.InvokeInstance[]`` per instance (``InvocationStatus``: Pending, Running,
  Success, Failed, Timeout, ...; ``ExitCode``; ``StartTime`` / ``FinishTime``);
* the overall ``InvokeStatus`` of a one-time invocation: ``Running`` while any instance runs,
  ``Finished`` when every instance finished (some may have been stopped), ``Failed`` when it failed
  on every instance, ``PartialFailed`` when on some.

The per-instance records are those the fake's RunCommand / InvokeCommand stored on each lab host
(tests/fakeecs/api.py), read with the same clock as DescribeInvocationResults.
"""

from __future__ import annotations

import base64
from typing import Any, Iterable, Mapping

from tests.fakeecs.api import indexed, iso, page

_FAILED = {"Failed", "Timeout", "Error", "Aborted", "Invalid"}


def _instance_view(record: Mapping[str, Any], now: float) -> dict[str, Any]:
    finished = now >= record["ends"]
    return {
        "InstanceId": record["InstanceId"],
        "InvocationStatus": record["final"] if finished else "Running",
        "InstanceInvokeStatus": "Finished" if finished else "Running",
        "ExitCode": record.get("ExitCode") if finished else None,
        "ErrorCode": record.get("ErrorCode", "") if finished else "",
        "StartTime": record["StartTime"],
        "FinishTime": iso(record["ends"]) if finished else None,
        "CreationTime": record["StartTime"],
        "Repeats": 1,
    }


def _overall(statuses: list[str]) -> str:
    if any(s == "Running" for s in statuses):
        return "Running"
    failed = [s for s in statuses if s in _FAILED]
    if failed and len(failed) == len(statuses):
        return "Failed"
    return "PartialFailed" if failed else "Finished"


def describe(p: Mapping[str, str], hosts: Iterable[tuple[str, dict[str, Any]]], now: float) -> dict[str, Any]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for _name, state in hosts:
        for record in state["ecs"].get("invocations", {}).values():
            grouped.setdefault(record["InvokeId"], []).append(record)
    wanted_tags = indexed(p, "Tag")
    items = []
    for invoke_id, records in grouped.items():
        first = records[0]
        tags = first.get("Tags") or []
        have = {t.get("Key"): t.get("Value", "") for t in tags}
        if p.get("InvokeId") and invoke_id != p["InvokeId"]:
            continue
        if p.get("CommandId") and first["CommandId"] != p["CommandId"]:
            continue
        if p.get("CommandName") and first.get("CommandName") != p["CommandName"]:
            continue
        if p.get("CommandType") and first.get("CommandType") != p["CommandType"]:
            continue
        if p.get("InstanceId") and p["InstanceId"] not in {r["InstanceId"] for r in records}:
            continue
        if any(w.get("Key") not in have or (w.get("Value") and have[w["Key"]] != w["Value"]) for w in wanted_tags):
            continue
        instances = [_instance_view(r, now) for r in records]
        overall = _overall([i["InvocationStatus"] for i in instances])
        if p.get("InvokeStatus") and overall != p["InvokeStatus"]:
            continue
        content = first.get("content", "")
        items.append({
            "InvokeId": invoke_id,
            "CommandId": first["CommandId"],
            "CommandName": first.get("CommandName", ""),
            "CommandType": first.get("CommandType", "RunPowerShellScript"),
            "CommandContent": base64.b64encode(content.encode()).decode() if content else "",
            "InvokeStatus": overall,
            "CreationTime": first["StartTime"],
            "Timed": False,
            "RepeatMode": "Once",
            "Tags": {"Tag": [{"TagKey": k, "TagValue": v} for k, v in have.items()]},
            "InvokeInstances": {"InvokeInstance": instances},
        })
    items.sort(key=lambda item: item["CreationTime"], reverse=True)
    shown, paging = page(p, items, max_size=50)
    return {"Invocations": {"Invocation": shown}, **paging}
