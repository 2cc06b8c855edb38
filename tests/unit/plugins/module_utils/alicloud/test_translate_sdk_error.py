"""Every SDK exception becomes one AlicloudError; only code, message and request id are read."""

from __future__ import annotations

from alibabacloud_tea_openapi.exceptions import ClientException, ServerException, ThrottlingException
from darabonba.exceptions import RetryError, UnretryableException
from darabonba.policy.retry import RetryPolicyContext

from ansible_collections.winfleet.updates.plugins.module_utils import _alicloud as a


def _client_error(code, status=400, **data):
    body = {"RequestId": "RID", "Code": code, "Message": f"message of {code}", **data}
    return ClientException(
        status_code=status,
        code=code,
        message=f"code: {status}, x",
        data=body,
        request_id="RID",
        access_denied_detail=data.get("AccessDeniedDetail"),
    )


def test_client_exception():
    error = a.translate_sdk_error("CreateSnapshot", _client_error("QuotaExceed.Snapshot", 403), "disk d-1")
    assert (error.kind, error.code, error.message, error.request_id, error.context) == (
        a.QUOTA,
        "QuotaExceed.Snapshot",
        "message of QuotaExceed.Snapshot",
        "RID",
        "disk d-1",
    )


def test_permission_reads_the_denied_action():
    err = _client_error("Forbidden.RAM", 403, AccessDeniedDetail={"AuthAction": "ecs:CreateSnapshotGroup"})
    error = a.translate_sdk_error("CreateSnapshotGroup", err)
    assert error.missing_permission == "ecs:CreateSnapshotGroup"
    assert "grant ecs:CreateSnapshotGroup" in str(error)


def test_throttling_and_server_exceptions():
    throttled = ThrottlingException(
        status_code=400,
        code="Throttling.User",
        message="x",
        data={"Message": "slow"},
        retry_after=1000,
        request_id="R",
    )
    assert a.translate_sdk_error("DescribeDisks", throttled).kind == a.THROTTLING
    server = ServerException(
        status_code=503, code="ServiceUnavailable", message="x", data={"Message": "later"}
    )
    assert a.translate_sdk_error("DescribeDisks", server).kind == a.TRANSIENT


def test_connection_failure_wrapped_by_the_sdk():
    context = RetryPolicyContext(
        retries_attempted=1,
        exception=RetryError("HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded\nmore"),
    )
    error = a.translate_sdk_error("DescribeInstances", UnretryableException(context))
    assert error.kind == a.CONNECTION
    assert error.message == "RetryError: HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded"
