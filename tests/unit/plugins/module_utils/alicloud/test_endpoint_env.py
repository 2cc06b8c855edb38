"""WINFLEET_ECS_ENDPOINT is the ECS modules' endpoint when the endpoint option is not set."""

from __future__ import annotations

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import ecs_client_from_params

PARAMS = {"access_key_id": "LTAIid", "access_key_secret": "secret", "region_id": "cn-hangzhou"}


@pytest.mark.parametrize(
    ("option", "environ", "url"),
    [
        (None, {}, "https://ecs.cn-hangzhou.aliyuncs.com"),
        (None, {"WINFLEET_ECS_ENDPOINT": "http://127.0.0.1:8123"}, "http://127.0.0.1:8123"),
        ("ecs-vpc.cn-hangzhou.aliyuncs.com", {"WINFLEET_ECS_ENDPOINT": "http://127.0.0.1:8123"},
         "https://ecs-vpc.cn-hangzhou.aliyuncs.com"),
    ],
)
def test_endpoint_option_then_environment_then_region_default(option, environ, url):
    client, _credentials = ecs_client_from_params({**PARAMS, "endpoint": option}, environ)
    assert client.endpoint.url == url
