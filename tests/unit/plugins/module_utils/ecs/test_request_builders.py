"""Every request dict the modules build survives the SDK's request model unchanged.

The SDK silently drops parameters it does not know (``from_map`` ignores unknown keys), so a
misspelt parameter name would vanish without an error. Building each request model from the dict
and back proves every name is one the API has.
"""

from __future__ import annotations

import pytest
from alibabacloud_ecs20140526 import models

from ansible_collections.winfleet.updates.plugins.module_utils import _ecs_cloud_assistant as c
from ansible_collections.winfleet.updates.plugins.module_utils import _ecs_snapshot as s

DISK = {"DiskId": "d-1", "Type": "system", "Category": "cloud_essd"}
TAGS = {"winfleet:rollout-id": "r1", "change": "CHG1"}


@pytest.mark.parametrize(
    ("action", "params"),
    [
        ("DescribeInstances", s.describe_instances_params("cn-hangzhou", ["i-1", "i-2"])),
        (
            "DescribeDisks",
            {**s.describe_disks_params("cn-hangzhou", "i-1"), "PageNumber": 1, "PageSize": 100},
        ),
        ("DescribeSnapshots", s.describe_snapshots_params("cn-hangzhou", TAGS, "i-1", ["s-1"])),
        ("CreateSnapshot", s.create_snapshot_params(DISK, "winfleet-r1", "before update", TAGS, "token-1")),
        (
            "CreateSnapshotGroup",
            s.create_snapshot_group_params("cn-hangzhou", "i-1", [DISK], "winfleet-r1", "d", TAGS, "t"),
        ),
        ("DescribeSnapshotGroups", s.describe_snapshot_groups_params("cn-hangzhou", "i-1", TAGS, ["ssg-1"])),
        (
            "TagResources",
            {
                "RegionId": "cn-hangzhou",
                "ResourceType": "snapshot",
                "ResourceId": ["s-1"],
                "Tag": [{"Key": "k", "Value": "v"}],
            },
        ),
        ("DeleteSnapshot", {"SnapshotId": "s-1"}),
        (
            "RunCommand",
            c.run_command_params("cn-hangzhou", ["i-1"], "V3JpdGUtT3V0cHV0IDE=", 600, "winfleet", "t"),
        ),
        ("InvokeCommand", c.invoke_command_params("cn-hangzhou", ["i-1"], c.VIRTIO_COMMON_COMMAND, "t")),
        (
            "DescribeInvocationResults",
            {**c.describe_results_params("cn-hangzhou", "t-1"), "PageNumber": 1, "PageSize": 50},
        ),
        ("RebootInstances", {"RegionId": "cn-hangzhou", "InstanceId": ["i-1"], "ForceReboot": False}),
    ],
)
def test_every_parameter_is_known_to_the_sdk(action, params):
    request = getattr(models, f"{action}Request")().from_map(params)
    request.validate()
    round_trip = {k: v for k, v in request.to_map().items() if k in params}
    assert round_trip == params
