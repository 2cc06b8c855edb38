"""Option validation, request building and host variables of the ECS inventory plugin."""

from __future__ import annotations

import json

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils import _ecs_inventory as inv
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"os": "windows"}, "filters.os"),
        ({"os_type": "macos"}, "filters.os_type"),
        ({"status": "running"}, "filters.status"),
        ({"instance_ids": []}, "filters.instance_ids"),
        ({"instance_ids": ["web01"]}, "filters.instance_ids[0]"),
        ({"tags": ["env"]}, "filters.tags"),
    ],
)
def test_bad_filters_name_the_field(filters, field):
    with pytest.raises(InputError) as err:
        inv.normalise_filters(filters)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("hostnames", "expected"),
    [
        (None, ["instance_id"]),
        (["private_ip"], ["private_ip", "instance_id"]),
        (["public_ip", "instance_id", "private_ip", "public_ip"], ["public_ip", "instance_id", "private_ip"]),
    ],
)
def test_hostnames_always_end_with_the_instance_id(hostnames, expected):
    assert inv.normalise_hostnames(hostnames) == expected


def test_unknown_hostname_is_refused():
    with pytest.raises(InputError, match="valid: instance_id"):
        inv.normalise_hostnames(["ip"])


@pytest.mark.parametrize(("regions", "ok"), [(["cn-hangzhou", "cn-hangzhou"], True), (["Hangzhou"], False), ([1], False)])
def test_regions(regions, ok):
    if ok:
        assert inv.normalise_regions(regions) == ["cn-hangzhou"]
    else:
        with pytest.raises(InputError, match="regions\\[0\\]|not a region id"):
            inv.normalise_regions(regions)


def test_requests_use_the_api_names_and_split_instance_ids_by_100():
    filters = inv.normalise_filters({"status": "Running", "tags": {"env": "prod", "app": None}, "vpc_id": "vpc-1",
                                     "instance_ids": [f"i-{n}" for n in range(150)]})
    requests = list(inv.describe_instances_requests("cn-hangzhou", filters))
    assert len(requests) == 2
    assert len(json.loads(requests[0]["InstanceIds"])) == 100 and len(json.loads(requests[1]["InstanceIds"])) == 50
    assert requests[0]["Tag"] == [{"Key": "app"}, {"Key": "env", "Value": "prod"}]
    assert requests[0]["Status"] == "Running" and requests[0]["VpcId"] == "vpc-1" and requests[0]["RegionId"] == "cn-hangzhou"


INSTANCE = {
    "InstanceId": "i-1", "RegionId": "cn-hangzhou", "InstanceName": "web01", "OSType": "windows",
    "VpcAttributes": {"VpcId": "vpc-1", "PrivateIpAddress": {"IpAddress": ["10.0.0.5"]}},
    "PublicIpAddress": {"IpAddress": []}, "EipAddress": {"IpAddress": "47.0.0.9"},
    "Tags": {"Tag": [{"TagKey": "env", "TagValue": "prod"}]},
}


@pytest.mark.parametrize(
    ("preference", "name"),
    [
        (["private_ip"], "10.0.0.5"),
        (["public_ip"], "47.0.0.9"),  # no public IP: the EIP is the public address
        (["instance_name"], "web01"),
        (["instance_id"], "i-1"),
    ],
)
def test_host_name_preference(preference, name):
    variables = inv.host_variables(INSTANCE, "cn-hangzhou")
    assert inv.host_name(variables, inv.normalise_hostnames(preference)) == name


def test_host_variables_with_agent_state():
    variables = inv.host_variables(INSTANCE, "cn-hangzhou", {"CloudAssistantStatus": "false", "CloudAssistantVersion": "2.1"})
    assert variables["ecs_tags"] == {"env": "prod"}
    assert variables["ecs_cloud_assistant"] == {"online": False, "version": "2.1", "last_heartbeat": None}
    assert variables["alicloud_region"] == "cn-hangzhou" and variables["ecs_instance_id"] == "i-1"


def test_available_regions_and_os_type():
    body = {"Regions": {"Region": [{"RegionId": "b-x", "Status": "available"}, {"RegionId": "a-y", "Status": "soldOut"}]}}
    assert inv.available_regions(body) == ["b-x"]
    assert inv.os_type_matches({"OSType": "Windows"}, "windows") and not inv.os_type_matches({"OSType": "linux"}, "windows")
    assert inv.os_type_matches({"OSType": "linux"}, "all")
