"""EcsClient retries throttling on a bounded schedule and turns every SDK failure into AlicloudError."""

from __future__ import annotations

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException

from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import (
    THROTTLING,
    AlicloudError,
    Credentials,
    EcsClient,
    Endpoint,
)


def _error(code):
    return ClientException(status_code=400, code=code, message="x", data={"Message": code, "RequestId": "R"})


class Body:
    def to_map(self):
        return {"RequestId": "R", "Instances": {"Instance": []}}


class Response:
    body = Body()


def make_client(outcomes, retries=3, **kwargs):
    sleeps = []
    client = EcsClient(
        Credentials("id", "secret"),
        "cn-hangzhou",
        Endpoint("https", "ecs.cn-hangzhou.aliyuncs.com"),
        retries=retries,
        retry_delay=1.0,
        sleep=sleeps.append,
        **kwargs,
    )
    sent = []

    def method(request, runtime):
        sent.append({k: v for k, v in request.to_map().items() if v not in ([], None)})
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    client._client.describe_instances_with_options = method
    client._client.create_snapshot_with_options = method
    return client, sleeps, sent


def test_throttling_is_retried_then_succeeds():
    client, sleeps, sent = make_client([_error("Throttling.User"), _error("Throttling"), Response()])
    assert client.call("DescribeInstances", {"RegionId": "cn-hangzhou"}) == {
        "RequestId": "R",
        "Instances": {"Instance": []},
    }
    assert sleeps == [1.0, 2.0]
    assert sent == [{"RegionId": "cn-hangzhou"}] * 3


def test_throttling_exhausted_is_one_clear_error():
    client, sleeps, _sent = make_client([_error("Throttling.User")] * 4)
    with pytest.raises(AlicloudError) as err:
        client.call("DescribeInstances", {"RegionId": "cn-hangzhou"}, context="instance i-1")
    assert err.value.kind == THROTTLING
    assert err.value.attempts == 4
    assert sleeps == [1.0, 2.0, 4.0]
    assert "kept throttling the request after 4 attempts" in str(err.value)


@pytest.mark.parametrize(
    ("action", "params", "outcomes", "calls"),
    [
        ("DescribeInstances", {"RegionId": "r"}, [_error("ServiceUnavailable"), Response()], 2),
        (
            "CreateSnapshot",
            {"DiskId": "d-1", "ClientToken": "t"},
            [_error("ServiceUnavailable"), Response()],
            2,
        ),
    ],
)
def test_transient_errors_are_retried_when_safe(action, params, outcomes, calls):
    client, _sleeps, sent = make_client(outcomes)
    client.call(action, params)
    assert len(sent) == calls


def test_transient_errors_are_not_retried_without_a_client_token():
    client, _sleeps, sent = make_client([_error("ServiceUnavailable"), Response()])
    with pytest.raises(AlicloudError):
        client.call("CreateSnapshot", {"DiskId": "d-1"})
    assert len(sent) == 1


def test_unknown_parameters_would_be_dropped_by_the_sdk_so_builders_are_checked_elsewhere():
    client, _sleeps, sent = make_client([Response()])
    client.call("DescribeInstances", {"RegionId": "r", "NotAParameter": 1})
    assert sent == [{"RegionId": "r"}]
