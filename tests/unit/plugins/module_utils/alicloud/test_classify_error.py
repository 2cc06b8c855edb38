"""Error codes are classified once; the class decides retrying and the advice in the message."""

from __future__ import annotations

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils import _alicloud as a


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("Throttling", 400, a.THROTTLING),
        ("Throttling.User", 400, a.THROTTLING),
        ("Throttling.Api", 503, a.THROTTLING),
        ("Forbidden.RAM", 403, a.PERMISSION),
        ("NoPermission", 403, a.PERMISSION),
        ("Forbidden", 403, a.PERMISSION),
        ("InvalidAccessKeyId.NotFound", 404, a.AUTHENTICATION),
        ("SignatureDoesNotMatch", 400, a.AUTHENTICATION),
        ("InvalidSecurityToken.Expired", 400, a.AUTHENTICATION),
        ("InvalidInstanceId.NotFound", 404, a.NOT_FOUND),
        ("InvalidDiskId.NotFound", 404, a.NOT_FOUND),
        ("QuotaExceed.Snapshot", 403, a.QUOTA),
        ("IncorrectDiskStatus.CreatingSnapshot", 403, a.BUSY),
        ("IncorrectInstanceStatus", 403, a.BUSY),
        ("ServiceUnavailable", 503, a.TRANSIENT),
        ("InternalError", 500, a.TRANSIENT),
        ("SomethingNew", 502, a.TRANSIENT),
        ("InvalidParameter", 400, a.INVALID),
        (None, None, a.INVALID),
    ],
)
def test_classify(code, status, kind):
    assert a.classify_error(code, status) == kind


@pytest.mark.parametrize(
    ("kind", "idempotent", "retry"),
    [
        (a.THROTTLING, False, True),
        (a.THROTTLING, True, True),
        (a.TRANSIENT, True, True),
        (a.TRANSIENT, False, False),
        (a.CONNECTION, True, True),
        (a.CONNECTION, False, False),
        (a.PERMISSION, True, False),
        (a.NOT_FOUND, True, False),
        (a.QUOTA, True, False),
    ],
)
def test_what_is_retried(kind, idempotent, retry):
    assert a.should_retry(kind, idempotent) is retry


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            a.AlicloudError(
                "CreateSnapshotGroup",
                a.PERMISSION,
                "Forbidden.RAM",
                "User not authorized",
                "RID1",
                "instance i-1",
                1,
                "ecs:CreateSnapshotGroup",
            ),
            "CreateSnapshotGroup (instance i-1) failed: the RAM identity is not allowed to call ecs:CreateSnapshotGroup; "
            "grant ecs:CreateSnapshotGroup (docs/alicloud.md lists the complete policy) (Alibaba Cloud error "
            "Forbidden.RAM, request id RID1: User not authorized)",
        ),
        (
            a.AlicloudError("RunCommand", a.PERMISSION, "NoPermission", "", None),
            "RunCommand failed: the RAM identity is not allowed to call ecs:RunCommand; grant ecs:RunCommand",
        ),
        (
            a.AlicloudError(
                "DescribeDisks", a.THROTTLING, "Throttling.User", "flow control", "R2", "instance i-1", 6
            ),
            "DescribeDisks (instance i-1) failed: the API kept throttling the request after 6 attempts; lower the "
            "rollout's batch size (serial) or raise api_retries / api_retry_delay (Alibaba Cloud error Throttling.User, "
            "request id R2: flow control)",
        ),
        (
            a.AlicloudError("DescribeInstances", a.NOT_FOUND, "InvalidInstanceId.NotFound", "gone"),
            "check the ecs_instance_id and alicloud_region host variables",
        ),
        (
            a.AlicloudError("CreateSnapshot", a.QUOTA, "QuotaExceed.Snapshot", ""),
            "the snapshot quota is reached; delete snapshots no longer needed (ecs_snapshot state=absent",
        ),
        (
            a.AlicloudError("CreateSnapshot", a.BUSY, "IncorrectDiskStatus.CreatingSnapshot", ""),
            "a snapshot of this disk is already being created; wait until it finishes and run again",
        ),
        (
            a.AlicloudError("DescribeInstances", a.CONNECTION, "", "ConnectionError: refused"),
            "DescribeInstances failed: the endpoint could not be reached; check the network, proxy settings and the "
            "endpoint option (no response: ConnectionError: refused)",
        ),
        (
            a.AlicloudError("DescribeInstances", a.AUTHENTICATION, "SignatureDoesNotMatch", "nope"),
            "the credentials were not accepted; check access_key_id / access_key_secret",
        ),
    ],
)
def test_messages_say_what_failed_and_what_to_do(error, expected):
    assert expected in str(error)


@pytest.mark.parametrize(
    ("detail", "expected"),
    [
        ({"AuthAction": "ecs:DescribeSnapshotGroups"}, "ecs:DescribeSnapshotGroups"),
        ({}, "ecs:CreateSnapshot"),
        (None, "ecs:CreateSnapshot"),
    ],
)
def test_permission_action_prefers_alibabas_answer(detail, expected):
    assert a.permission_action("CreateSnapshot", detail) == expected
