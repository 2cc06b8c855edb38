# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ECS API limits the modules respect, each with where the number comes from (internal use).

One table, so a limit is changed in one place when Alibaba changes it. The source is the pinned
SDK (``alibabacloud-ecs20140526==7.11.8``, requirements.txt): the docstrings of its request
models in ``alibabacloud_ecs20140526/models`` are generated from the API reference of that
release, which is newer than some help pages (older pages say 10 disks per snapshot group,
50 instances and 16 KB per command). Re-check this table when the SDK pin moves.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """One documented limit: its value and the request model field whose docstring states it."""

    value: int
    source: str


LIMITS: dict[str, Limit] = {
    "snapshot_group_max_disks": Limit(
        128, "CreateSnapshotGroupRequest.disk_id: 'Valid values of N: 1 to 128 ... up to 128 disks'"
    ),
    "snapshot_group_max_tib": Limit(
        256, "CreateSnapshotGroupRequest.disk_id: 'with a total capacity of up to 256 TiB'"
    ),
    "run_command_max_instances": Limit(100, "RunCommandRequest.instance_id: 'Array length: 1 to 100'"),
    "invoke_command_max_instances": Limit(
        100, "InvokeCommandRequest.instance_id: 'up to 100 instance IDs. Valid values of N: 1 to 100'"
    ),
    "command_content_max_bytes": Limit(
        24 * 1024,
        "RunCommandRequest.command_content: 'The size of the Base64-encoded command content cannot exceed 24 KB'",
    ),
    "describe_instances_max_ids": Limit(
        100, "DescribeInstancesRequest.instance_ids: 'a JSON array that consists of up to 100 instance IDs'"
    ),
    "reboot_instances_max_ids": Limit(
        100, "RebootInstancesRequest.instance_id: 'The instance ID array. Array length: 1 to 100'"
    ),
    "tag_resources_max_ids": Limit(50, "TagResourcesRequest.resource_id: 'Array length: 1 to 50'"),
    "tags_per_resource": Limit(20, "CreateSnapshotRequest.tag: 'Valid values of N: 1 to 20'"),
    "tag_length": Limit(128, "CreateSnapshotRequestTag.key/value: 'up to 128 characters'"),
    "retention_days_max": Limit(
        65536, "CreateSnapshotRequest.retention_days: 'Unit: days. Valid values: 1 to 65536'"
    ),
    "describe_invocation_results_max_results": Limit(
        50, "DescribeInvocationResultsRequest.max_results: 'Maximum value: 50'"
    ),
    "describe_snapshot_groups_max_results": Limit(
        100, "DescribeSnapshotGroupsRequest.max_results: 'Maximum value: 100'"
    ),
    "describe_snapshots_max_results": Limit(
        100, "DescribeSnapshotsRequest.max_results: 'Maximum value: 100'"
    ),
    "describe_cloud_assistant_status_max_results": Limit(
        50, "DescribeCloudAssistantStatusRequest.max_results: 'Maximum value: 50'"
    ),
    # the SDK docstring gives only the default (60); the range is the API reference's,
    # https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-runcommand
    "command_timeout_min_seconds": Limit(10, "RunCommand API reference: Timeout, 10 to 86400 seconds"),
    "command_timeout_max_seconds": Limit(86400, "RunCommand API reference: Timeout, 10 to 86400 seconds"),
}


def limit(name: str) -> int:
    """The value of one limit of :data:`LIMITS`."""
    return LIMITS[name].value


SNAPSHOT_GROUP_MAX_DISKS = limit("snapshot_group_max_disks")
SNAPSHOT_GROUP_MAX_TIB = limit("snapshot_group_max_tib")
MAX_INSTANCES_PER_INVOCATION = min(limit("run_command_max_instances"), limit("invoke_command_max_instances"))
MAX_CONTENT_BYTES = limit("command_content_max_bytes")
MAX_INSTANCES_PER_CALL = min(limit("describe_instances_max_ids"), limit("reboot_instances_max_ids"))
