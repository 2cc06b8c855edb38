"""DescribeRegions, DescribeInstances (filters, paging) and DescribeCloudAssistantStatus (test code only).

What an inventory needs from ECS, answered from the lab: every lab host with an ``ecs`` key is an
instance; the optional fleet keys ``tags``, ``os_type``, ``zone_id``, ``vpc_id``,
``resource_group_id``, ``private_ip``, ``public_ip``, ``eip`` and ``instance_type`` fill the
fields DescribeInstances returns (deterministic defaults otherwise). The static attributes are
indexed once per fake (they do not change while it runs), so a call filtered by instance ids
reads only those hosts' state files, as a 10,000-instance lab needs.
"""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from tests.fakeecs.api import ApiError, indexed, json_list, page

if TYPE_CHECKING:  # pragma: no cover
    from tests.fakeecs.api import EcsWorld

# https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describeregions
# The account's regions; the lab's own regions are added to these.
PUBLIC_REGIONS = (
    "cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen", "cn-hongkong",
    "ap-southeast-1", "ap-northeast-1", "eu-central-1", "us-west-1",
)
# https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describeinstances
# PageSize: 1 to 100, default 10; InstanceIds: a JSON array of at most 100 ids; Tag.N: N 1 to 20.
MAX_INSTANCE_PAGE = 100
MAX_TAGS = 20
# https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describecloudassistantstatus
# PageSize: 1 to 50, default 10; InstanceId.N: at most 50.
MAX_STATUS_PAGE = 50


@dataclass(frozen=True)
class Instance:
    """What never changes while the fake runs: the lab host and its fleet ``ecs`` entry."""

    host: str
    ecs: Mapping[str, Any]

    @property
    def instance_id(self) -> str:
        return str(self.ecs["instance_id"])

    @property
    def region(self) -> str:
        return str(self.ecs["region_id"])

    def private_ip(self) -> str:
        if self.ecs.get("private_ip"):
            return str(self.ecs["private_ip"])
        digest = hashlib.sha256(self.instance_id.encode()).digest()
        return f"172.16.{digest[0]}.{max(digest[1], 2)}"

    def tags(self) -> dict[str, str]:
        return dict(self.ecs.get("tags") or {})


def index(world: "EcsWorld") -> dict[str, Instance]:
    """Instance id -> static attributes, built on first use (one read per host)."""
    cached = getattr(world, "_static_index", None)
    if cached is None:
        with world.index_lock:  # once, not once per thread answering the first calls
            cached = getattr(world, "_static_index", None)
            if cached is None:
                cached = {}
                for instance_id, host in world.instances().items():
                    cached[instance_id] = Instance(host, world.lab.peek_host(host)["ecs"])
                world._static_index = cached  # noqa: SLF001 - the fake's own cache
    return cached


def describe_regions(world: "EcsWorld", p: Mapping[str, str]) -> dict[str, Any]:
    """Regions.Region[]: RegionId, LocalName, RegionEndpoint, Status (``available``)."""
    regions = sorted(set(PUBLIC_REGIONS) | {i.region for i in index(world).values()})
    return {
        "Regions": {
            "Region": [
                {
                    "RegionId": region,
                    "LocalName": region,
                    "RegionEndpoint": f"ecs.{region}.aliyuncs.com",
                    "Status": "available",
                }
                for region in regions
            ]
        }
    }


def instance_view(world: "EcsWorld", instance: Instance) -> dict[str, Any]:
    """One Instances.Instance item: the base fields of api.py plus network, tags and group."""
    state = world.lab.peek_host(instance.host)
    view = world.instance_view(instance.host, state)
    ecs = instance.ecs
    public = [ecs["public_ip"]] if ecs.get("public_ip") else []
    view.update(
        ZoneId=ecs.get("zone_id") or view["ZoneId"],
        OSType=ecs.get("os_type") or "windows",
        OSName=view["OSName"] if (ecs.get("os_type") or "windows") == "windows" else "Alibaba Cloud Linux 3",
        InstanceType=ecs.get("instance_type") or view["InstanceType"],
        InstanceNetworkType="vpc",
        VpcAttributes={
            "VpcId": ecs.get("vpc_id") or f"vpc-{instance.region.replace('-', '')}",
            "VSwitchId": f"vsw-{instance.instance_id[2:]}",
            "PrivateIpAddress": {"IpAddress": [instance.private_ip()]},
            "NatIpAddress": "",
        },
        PublicIpAddress={"IpAddress": public},
        EipAddress={"IpAddress": ecs.get("eip") or "", "AllocationId": "", "InternetChargeType": ""},
        InnerIpAddress={"IpAddress": []},
        ResourceGroupId=ecs.get("resource_group_id") or "",
        # The API lists tags as TagKey / TagValue here.
        Tags={"Tag": [{"TagKey": k, "TagValue": v} for k, v in instance.tags().items()]},
    )
    return view


def _static_filter(instance: Instance, p: Mapping[str, str], tags: list[dict[str, str]]) -> bool:
    ecs = instance.ecs
    if p.get("VpcId") and (ecs.get("vpc_id") or f"vpc-{instance.region.replace('-', '')}") != p["VpcId"]:
        return False
    if p.get("ResourceGroupId") and ecs.get("resource_group_id") != p["ResourceGroupId"]:
        return False
    if p.get("ZoneId") and (ecs.get("zone_id") or f"{instance.region}-h") != p["ZoneId"]:
        return False
    # InstanceName supports the * wildcard (documented for DescribeInstances).
    if p.get("InstanceName") and not fnmatch.fnmatchcase(instance.host, p["InstanceName"]):
        return False
    have = instance.tags()
    # A tag filter without a value matches any value of that key.
    return all(t.get("Key") in have and ("Value" not in t or have[t["Key"]] == t["Value"]) for t in tags)


def describe_instances(world: "EcsWorld", p: Mapping[str, str]) -> dict[str, Any]:
    region = p.get("RegionId")
    if not region:
        raise ApiError("MissingRegionId", "RegionId is mandatory for this action.")
    wanted = json_list(p, "InstanceIds")
    if wanted is not None and len(wanted) > 100:
        raise ApiError("InvalidParameter.InstanceIds", "The number of InstanceIds exceeds the limit of 100.")
    tags = indexed(p, "Tag")
    if len(tags) > MAX_TAGS:
        raise ApiError("InvalidParameter.TagCount", f"At most {MAX_TAGS} tags can be specified.")
    size = int(p.get("PageSize") or 10)
    if not 1 <= size <= MAX_INSTANCE_PAGE:
        raise ApiError("InvalidParameter.PageSize", "The specified parameter PageSize is not valid.")
    everything = index(world)
    if wanted is not None:
        candidates = [everything[i] for i in wanted if i in everything]
    else:
        candidates = sorted(everything.values(), key=lambda i: i.host)
    candidates = [i for i in candidates if i.region == region and _static_filter(i, p, tags)]
    if p.get("Status"):
        views = [v for v in (instance_view(world, i) for i in candidates) if v["Status"] == p["Status"]]
        items, paging = page(p, views, max_size=MAX_INSTANCE_PAGE)
    else:
        chosen, paging = page(p, candidates, max_size=MAX_INSTANCE_PAGE)
        items = [instance_view(world, i) for i in chosen]
    return {"Instances": {"Instance": items}, **paging}


def describe_cloud_assistant_status(world: "EcsWorld", p: Mapping[str, str]) -> dict[str, Any]:
    """Whether the agent of each instance is online (``CloudAssistantStatus`` ``"true"``/``"false"``)."""
    region = p.get("RegionId")
    if not region:
        raise ApiError("MissingRegionId", "RegionId is mandatory for this action.")
    ids = indexed(p, "InstanceId")
    if len(ids) > MAX_STATUS_PAGE:
        raise ApiError("InvalidParameter.InstanceIds", f"At most {MAX_STATUS_PAGE} InstanceId.N can be specified.")
    size = int(p.get("PageSize") or 10)
    if not 1 <= size <= MAX_STATUS_PAGE:
        raise ApiError("InvalidParameter.PageSize", "The specified parameter PageSize is not valid.")
    everything = index(world)
    chosen = [everything[i] for i in ids if i in everything] if ids else sorted(everything.values(), key=lambda i: i.host)
    chosen = [i for i in chosen if i.region == region]
    if p.get("OSType"):
        chosen = [i for i in chosen if (i.ecs.get("os_type") or "windows") == p["OSType"].lower()]
    if ids:  # "MaxResults ... is invalid if the InstanceId parameter is configured": every id answers
        # (https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describecloudassistantstatus)
        items, paging = chosen, {"TotalCount": len(chosen)}
    else:
        items, paging = page(p, chosen, max_size=MAX_STATUS_PAGE)
    statuses = []
    for instance in items:
        state = world.lab.peek_host(instance.host)
        # The agent reports no heartbeat while the instance is not Running.
        online = bool(state.get("cloud_assistant", True)) and world.instance_view(instance.host, state)["Status"] == "Running"
        statuses.append(
            {
                "InstanceId": instance.instance_id,
                "CloudAssistantStatus": "true" if online else "false",
                "CloudAssistantVersion": "2.1.3.857" if state.get("cloud_assistant", True) else "",
                "OSType": (instance.ecs.get("os_type") or "windows").capitalize(),
                "LastHeartbeatTime": "2024-01-01T00:00:00Z" if online else "",
                "SupportSessionManager": online,
                "ActiveTaskCount": 0,
                "InvocationCount": 0,
            }
        )
    return {"InstanceCloudAssistantStatusSet": {"InstanceCloudAssistantStatus": statuses}, **paging}
