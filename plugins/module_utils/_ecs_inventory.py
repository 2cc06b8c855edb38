# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parts of the winfleet.updates.ecs inventory plugin (for internal collection use only).

Validating the options, building the DescribeInstances requests (in the API's own parameter
names, so the SDK sends exactly them), and turning an instance into host variables and a host
name. The plugin only drives the SDK with these.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Optional, Sequence

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._strings import check_text

if TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import EcsClient

# https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describeinstances
# PageSize at most 100; InstanceIds a JSON array of at most 100; Tag.N with N up to 20.
INSTANCE_PAGE_SIZE = 100
MAX_INSTANCE_IDS = 100
MAX_TAGS = 20
# https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describecloudassistantstatus
# PageSize at most 50.
AGENT_PAGE_SIZE = 50
# 100,000 instances per region at most: a bound, so a misbehaving endpoint cannot loop forever.
MAX_PAGES = 1000

HOSTNAME_CHOICES = ("instance_id", "private_ip", "public_ip", "eip", "instance_name")
OS_TYPES = ("windows", "linux", "all")
FILTER_KEYS = ("instance_ids", "status", "tags", "os_type", "resource_group_id", "vpc_id", "zone_id")
# https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describeinstances (Status)
STATUSES = ("Pending", "Running", "Starting", "Stopping", "Stopped")
# Used with fullmatch: "$" matches before a trailing newline, so "cn-hangzhou\n" would pass.
_REGION_RE = re.compile(r"[a-z]{2,}(-[a-z0-9]+)+")
_INSTANCE_ID_RE = re.compile(r"i-[A-Za-z0-9]+")
# Tag keys and values (Tag.N.Key / Tag.N.Value): at most 128 characters
# (https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describeinstances).
MAX_TAG_TEXT = 128
# VpcId, ZoneId, ResourceGroupId are ids: one line, short.
MAX_ID_TEXT = 128


def normalise_regions(regions: Sequence[Any]) -> list[str]:
    """Region ids in order, without repeats; a malformed one is an error naming it."""
    result: list[str] = []
    for index, region in enumerate(regions):
        if not isinstance(region, str) or not _REGION_RE.fullmatch(region):
            raise InputError(f"regions[{index}]", f"{region!r} is not a region id such as 'cn-hangzhou'")
        if region not in result:
            result.append(region)
    return result


def normalise_hostnames(hostnames: Optional[Sequence[Any]]) -> list[str]:
    """The preference list; ``instance_id`` is always the last resort (it always exists)."""
    result: list[str] = []
    for index, name in enumerate(hostnames or []):
        if name not in HOSTNAME_CHOICES:
            raise InputError(f"hostnames[{index}]", f"unknown {name!r}; valid: {', '.join(HOSTNAME_CHOICES)}")
        if name not in result:
            result.append(name)
    if "instance_id" not in result:
        result.append("instance_id")
    return result


def normalise_filters(filters: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``filters``; returns every key, with ``os_type`` defaulting to ``windows``."""
    unknown = sorted(set(filters) - set(FILTER_KEYS))
    if unknown:
        raise InputError(f"filters.{unknown[0]}", f"unknown filter; valid: {', '.join(FILTER_KEYS)}")
    result: dict[str, Any] = {key: filters.get(key) for key in FILTER_KEYS}
    result["os_type"] = str(result["os_type"] or "windows").lower()
    if result["os_type"] not in OS_TYPES:
        raise InputError("filters.os_type", f"expected one of {', '.join(OS_TYPES)}, got {filters.get('os_type')!r}")
    if result["status"] is not None and result["status"] not in STATUSES:
        raise InputError("filters.status", f"expected one of {', '.join(STATUSES)}, got {result['status']!r}")
    ids = result["instance_ids"]
    if ids is not None:
        if not isinstance(ids, list) or not ids:
            raise InputError("filters.instance_ids", "expected a non-empty list of instance ids")
        for index, instance_id in enumerate(ids):
            if not isinstance(instance_id, str) or not _INSTANCE_ID_RE.fullmatch(instance_id):
                raise InputError(f"filters.instance_ids[{index}]", f"{instance_id!r} is not an instance id such as 'i-bp1abc'")
    tags = result["tags"]
    if tags is not None:
        if not isinstance(tags, Mapping) or len(tags) > MAX_TAGS:
            raise InputError("filters.tags", f"expected a mapping of at most {MAX_TAGS} tag keys to values")
        result["tags"] = {
            check_text("filters.tags", str(k), max_length=MAX_TAG_TEXT, allow_empty=False, what="a tag key"): check_text(
                f"filters.tags.{k}", "" if v is None else str(v), max_length=MAX_TAG_TEXT, what="a tag value"
            )
            for k, v in tags.items()
        }
    for key in ("vpc_id", "zone_id", "resource_group_id"):
        if result[key] is not None:
            check_text(f"filters.{key}", result[key], max_length=MAX_ID_TEXT, allow_empty=False, what="an id")
    return result


def describe_instances_requests(region: str, filters: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """DescribeInstances parameters (without paging): one request, or one per 100 instance ids."""
    base: dict[str, Any] = {"RegionId": region}
    if filters.get("status"):
        base["Status"] = filters["status"]
    for option, parameter in (("resource_group_id", "ResourceGroupId"), ("vpc_id", "VpcId"), ("zone_id", "ZoneId")):
        if filters.get(option):
            base[parameter] = filters[option]
    if filters.get("tags"):
        # A key with an empty value means "any value": the API then gets the key alone.
        base["Tag"] = [{"Key": k, **({"Value": v} if v else {})} for k, v in sorted(filters["tags"].items())]
    ids = filters.get("instance_ids")
    if not ids:
        yield base
        return
    for start in range(0, len(ids), MAX_INSTANCE_IDS):
        yield {**base, "InstanceIds": json.dumps(ids[start : start + MAX_INSTANCE_IDS])}


def available_regions(body: Mapping[str, Any]) -> list[str]:
    """Region ids of a DescribeRegions answer whose Status is ``available``."""
    regions = ((body.get("Regions") or {}).get("Region")) or []
    return sorted(r["RegionId"] for r in regions if r.get("Status", "available") == "available")


def os_type_matches(instance: Mapping[str, Any], os_type: str) -> bool:
    return os_type == "all" or str(instance.get("OSType", "")).lower() == os_type


def _ip_list(node: Any) -> list[str]:
    return [str(ip) for ip in ((node or {}).get("IpAddress") or []) if ip]


def host_variables(
    instance: Mapping[str, Any], region: str, agent: Optional[Mapping[str, Any]] = None
) -> dict[str, Any]:
    """The host variables of one described instance (and its agent state, when read)."""
    vpc = instance.get("VpcAttributes") or {}
    private = _ip_list(vpc.get("PrivateIpAddress")) or _ip_list(instance.get("InnerIpAddress"))
    public = _ip_list(instance.get("PublicIpAddress"))
    eip = str((instance.get("EipAddress") or {}).get("IpAddress") or "") or None
    tags = {
        str(t.get("TagKey", t.get("Key"))): str(t.get("TagValue", t.get("Value", "")))
        for t in ((instance.get("Tags") or {}).get("Tag") or [])
    }
    variables: dict[str, Any] = {
        "ecs_instance_id": instance["InstanceId"],
        "alicloud_region": instance.get("RegionId") or region,
        "ecs_zone_id": instance.get("ZoneId"),
        "ecs_instance_name": instance.get("InstanceName"),
        "ecs_instance_type": instance.get("InstanceType"),
        "ecs_status": instance.get("Status"),
        "ecs_os_type": instance.get("OSType"),
        "ecs_os_name": instance.get("OSName"),
        "ecs_private_ip": private[0] if private else None,
        "ecs_public_ip": public[0] if public else eip,
        "ecs_eip": eip,
        "ecs_vpc_id": vpc.get("VpcId") or None,
        "ecs_resource_group_id": instance.get("ResourceGroupId") or None,
        "ecs_tags": tags,
    }
    if agent is not None:
        variables["ecs_cloud_assistant"] = {
            "online": str(agent.get("CloudAssistantStatus", "")).lower() == "true",
            "version": agent.get("CloudAssistantVersion") or None,
            "last_heartbeat": agent.get("LastHeartbeatTime") or None,
        }
    return variables


_HOSTNAME_VARIABLE = {
    "instance_id": "ecs_instance_id",
    "private_ip": "ecs_private_ip",
    "public_ip": "ecs_public_ip",
    "eip": "ecs_eip",
    "instance_name": "ecs_instance_name",
}


def host_name(variables: Mapping[str, Any], preference: Sequence[str]) -> str:
    """The first name in ``preference`` the instance has (the instance id always exists)."""
    for choice in preference:
        value = variables.get(_HOSTNAME_VARIABLE[choice])
        if value:
            return str(value)
    return str(variables["ecs_instance_id"])


# ---------------------------------------------------------------------------------------------
# Driving the API (the plugin passes a client per region).
# ---------------------------------------------------------------------------------------------


def list_regions(client: "EcsClient") -> list[str]:
    """Every region DescribeRegions reports as available to the account."""
    return available_regions(client.call("DescribeRegions", {}, context="listing the account's regions"))


def list_instances(client: "EcsClient", region: str, filters: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The instances of one region that pass the filters (DescribeInstances, every page)."""
    found: list[dict[str, Any]] = []
    for params in describe_instances_requests(region, filters):
        found.extend(client.call_paged("DescribeInstances", params, ("Instances", "Instance"),
                                       context=f"region {region}", page_size=INSTANCE_PAGE_SIZE, max_pages=MAX_PAGES))
    return [i for i in found if os_type_matches(i, filters["os_type"])]


def agent_states(client: "EcsClient", region: str) -> dict[str, dict[str, Any]]:
    """Instance id -> its Cloud Assistant status record (DescribeCloudAssistantStatus, every page)."""
    records = client.call_paged("DescribeCloudAssistantStatus", {"RegionId": region},
                                ("InstanceCloudAssistantStatusSet", "InstanceCloudAssistantStatus"),
                                context=f"Cloud Assistant agents in {region}", page_size=AGENT_PAGE_SIZE,
                                max_pages=MAX_PAGES)
    return {r["InstanceId"]: r for r in records}
