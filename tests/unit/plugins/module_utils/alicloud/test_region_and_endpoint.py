"""The region is required and validated; the endpoint is explicit and only loopback may use http."""

from __future__ import annotations

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import (
    Endpoint,
    resolve_endpoint,
    resolve_region,
)
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError


@pytest.mark.parametrize(
    ("params", "environ", "expected"),
    [
        ({"region_id": "cn-hangzhou"}, {"ALIBABA_CLOUD_REGION_ID": "cn-beijing"}, "cn-hangzhou"),
        (
            {},
            {"ALIBABA_CLOUD_REGION_ID": "ap-southeast-1", "ALICLOUD_REGION": "cn-beijing"},
            "ap-southeast-1",
        ),
        ({}, {"ALICLOUD_REGION": "eu-central-1"}, "eu-central-1"),
        ({"region_id": "cn-shanghai-finance-1"}, {}, "cn-shanghai-finance-1"),
    ],
)
def test_region_sources(params, environ, expected):
    assert resolve_region(params, environ) == expected


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "no region given; set region_id (per host: the alicloud_region host variable)"),
        ({"region_id": "Hangzhou"}, "'Hangzhou' is not a region id such as 'cn-hangzhou'"),
        ({"region_id": "ecs.cn-hangzhou.aliyuncs.com"}, "is not a region id"),
    ],
)
def test_bad_region(params, message):
    with pytest.raises(InputError) as err:
        resolve_region(params, {})
    assert err.value.field == "region_id"
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        (None, Endpoint("https", "ecs.cn-hangzhou.aliyuncs.com")),
        ("", Endpoint("https", "ecs.cn-hangzhou.aliyuncs.com")),
        ("ecs-vpc.cn-hangzhou.aliyuncs.com", Endpoint("https", "ecs-vpc.cn-hangzhou.aliyuncs.com")),
        ("https://ecs.cn-hangzhou.aliyuncs.com/", Endpoint("https", "ecs.cn-hangzhou.aliyuncs.com")),
        ("HTTPS://proxy.example.com:8443", Endpoint("https", "proxy.example.com:8443")),
        ("http://127.0.0.1:40123", Endpoint("http", "127.0.0.1:40123")),
        ("http://localhost:8080", Endpoint("http", "localhost:8080")),
    ],
)
def test_endpoints(endpoint, expected):
    assert resolve_endpoint(endpoint, "cn-hangzhou") == expected


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("http://ecs.cn-hangzhou.aliyuncs.com", "plain http:// is accepted only for a loopback host"),
        ("ftp://ecs.example.com", "the scheme must be https://"),
        ("https://ecs.example.com/api", "without a path"),
        ("ecs example com", "expected host[:port]"),
    ],
)
def test_bad_endpoints(endpoint, message):
    with pytest.raises(InputError) as err:
        resolve_endpoint(endpoint, "cn-hangzhou")
    assert err.value.field == "endpoint"
    assert message in str(err.value)
