"""Request checks the real ECS endpoint makes before an action runs (test code only).

The parameter lists are those of the ECS API reference, one page per action
(https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-<action in lower case>,
for example .../api-ecs-2014-05-26-runcommand); only parameters a caller of this collection's
kind could send are listed as allowed. A missing required parameter answers ``MissingParameter``
with the gateway's message, a parameter the action does not have answers
``InvalidParameter`` (OpenAPI common errors,
https://www.alibabacloud.com/help/en/openapi/error-codes), an unknown region answers
``InvalidRegionId.NotFound`` (https://www.alibabacloud.com/help/en/ecs/regions-and-zones lists
the regions). Nothing here imports product code.
"""

from __future__ import annotations

import re
from typing import Mapping

from tests.fakeecs.errors import ApiError

#: action -> (required parameters, other parameters it accepts); ``X.N`` parameters by their ``X``.
PARAMETERS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "DescribeInstances": (
        frozenset({"RegionId"}),
        frozenset(
            {
                "InstanceIds",
                "PageNumber",
                "PageSize",
                "MaxResults",
                "NextToken",
                "Status",
                "ZoneId",
                "InstanceName",
                "Tag",
                "ResourceGroupId",
                "VpcId",
                "VSwitchId",
                "InstanceType",
                "InstanceNetworkType",
                "ImageId",
                "SecurityGroupId",
                "PrivateIpAddresses",
                "PublicIpAddresses",
                "EipAddresses",
                "DryRun",
            }
        ),
    ),
    "RebootInstances": (
        frozenset({"RegionId", "InstanceId"}),
        frozenset({"ForceReboot", "DryRun", "BatchOptimization"}),
    ),
    "DescribeDisks": (
        frozenset({"RegionId"}),
        frozenset(
            {
                "InstanceId",
                "DiskIds",
                "DiskType",
                "Category",
                "Status",
                "PageNumber",
                "PageSize",
                "MaxResults",
                "NextToken",
                "Tag",
                "ResourceGroupId",
                "ZoneId",
            }
        ),
    ),
    "DescribeSnapshots": (
        frozenset({"RegionId"}),
        frozenset(
            {
                "InstanceId",
                "DiskId",
                "SnapshotIds",
                "SnapshotName",
                "Status",
                "SnapshotType",
                "Category",
                "Tag",
                "PageNumber",
                "PageSize",
                "MaxResults",
                "NextToken",
                "ResourceGroupId",
                "Usage",
                "SourceDiskType",
                "Encrypted",
                "DryRun",
                "Filter",
                "KMSKeyId",
                "SnapshotLinkId",
            }
        ),
    ),
    "CreateSnapshot": (
        frozenset({"DiskId"}),
        frozenset(
            {
                "SnapshotName",
                "Description",
                "Tag",
                "ClientToken",
                "RetentionDays",
                "ResourceGroupId",
                "Category",
                "InstantAccess",
                "InstantAccessRetentionDays",
                "StorageLocationArn",
            }
        ),
    ),
    "CreateSnapshotGroup": (
        frozenset({"RegionId"}),
        frozenset(
            {
                "InstanceId",
                "DiskId",
                "ExcludeDiskId",
                "Name",
                "Description",
                "Tag",
                "ClientToken",
                "ResourceGroupId",
                "InstantAccess",
                "InstantAccessRetentionDays",
                "StorageLocationArn",
            }
        ),
    ),
    "DescribeSnapshotGroups": (
        frozenset({"RegionId"}),
        frozenset(
            {
                "InstanceId",
                "SnapshotGroupId",
                "Name",
                "Status",
                "Tag",
                "MaxResults",
                "NextToken",
                "ResourceGroupId",
                "AdditionalAttributes",
            }
        ),
    ),
    "DeleteSnapshotGroup": (frozenset({"RegionId", "SnapshotGroupId"}), frozenset()),
    "TagResources": (frozenset({"RegionId", "ResourceType", "ResourceId", "Tag"}), frozenset()),
    "DeleteSnapshot": (frozenset({"SnapshotId"}), frozenset({"Force"})),
    "ModifySnapshotAttribute": (
        frozenset({"SnapshotId"}),
        frozenset({"SnapshotName", "Description", "RetentionDays", "DisableInstantAccess"}),
    ),
    "RunCommand": (
        frozenset({"RegionId", "Type", "CommandContent"}),
        frozenset(
            {
                "InstanceId",
                "ContentEncoding",
                "Timeout",
                "Name",
                "Description",
                "KeepCommand",
                "ClientToken",
                "WorkingDir",
                "Username",
                "WindowsPasswordName",
                "EnableParameter",
                "Parameters",
                "RepeatMode",
                "Frequency",
                "Tag",
                "ResourceTag",
                "ResourceGroupId",
                "TerminationMode",
                "Launcher",
                "ContainerId",
                "ContainerName",
            }
        ),
    ),
    "InvokeCommand": (
        frozenset({"RegionId", "CommandId"}),
        frozenset(
            {
                "InstanceId",
                "Timeout",
                "ClientToken",
                "Parameters",
                "Username",
                "WindowsPasswordName",
                "WorkingDir",
                "RepeatMode",
                "Frequency",
                "Tag",
                "ResourceTag",
                "ResourceGroupId",
                "TerminationMode",
                "Launcher",
                "ContainerId",
                "ContainerName",
            }
        ),
    ),
    "DescribeInvocationResults": (
        frozenset({"RegionId"}),
        frozenset(
            {
                "InvokeId",
                "InstanceId",
                "CommandId",
                "ContentEncoding",
                "InvokeRecordStatus",
                "IncludeHistory",
                "PageNumber",
                "PageSize",
                "MaxResults",
                "NextToken",
                "Tag",
                "ResourceGroupId",
            }
        ),
    ),
    "DescribeInvocations": (
        frozenset({"RegionId"}),
        frozenset(
            {
                "InvokeId",
                "CommandId",
                "CommandName",
                "CommandType",
                "Timed",
                "InvokeStatus",
                "InstanceId",
                "ContentEncoding",
                "IncludeOutput",
                "RepeatMode",
                "PageNumber",
                "PageSize",
                "MaxResults",
                "NextToken",
                "Tag",
                "ResourceGroupId",
            }
        ),
    ),
    "DescribeCloudAssistantStatus": (
        frozenset({"RegionId"}),
        frozenset({"InstanceId", "OSType", "MaxResults", "NextToken", "PageNumber", "PageSize"}),
    ),
}

#: Public region ids (https://www.alibabacloud.com/help/en/ecs/regions-and-zones).
REGIONS = frozenset(
    {
        "cn-qingdao",
        "cn-beijing",
        "cn-zhangjiakou",
        "cn-huhehaote",
        "cn-wulanchabu",
        "cn-hangzhou",
        "cn-shanghai",
        "cn-shanghai-finance-1",
        "cn-nanjing",
        "cn-fuzhou",
        "cn-shenzhen",
        "cn-heyuan",
        "cn-guangzhou",
        "cn-wuhan-lr",
        "cn-chengdu",
        "cn-hongkong",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-southeast-1",
        "ap-southeast-3",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "us-east-1",
        "us-west-1",
        "eu-west-1",
        "eu-central-1",
        "me-east-1",
        "me-central-1",
        "na-south-1",
    }
)

_INDEXED = re.compile(r"^([A-Za-z]+)\.\d+(?:\.\w+)?$")


def base_name(parameter: str) -> str:
    """``InstanceId.3`` -> ``InstanceId``; ``Tag.1.Key`` -> ``Tag``."""
    match = _INDEXED.match(parameter)
    return match.group(1) if match else parameter


def check_request(action: str, params: Mapping[str, str]) -> None:
    """Refuse what the endpoint refuses before running the action (ApiError), else return."""
    spec = PARAMETERS.get(action)
    if spec is None:
        return
    required, optional = spec
    given = {base_name(name) for name, value in params.items() if value != ""}
    for name in sorted(required - given):
        raise ApiError(
            "MissingParameter",
            f'The input parameter "{name}" that is mandatory for processing this request is not supplied.',
        )
    for name in sorted(given - required - optional):
        raise ApiError("InvalidParameter", f"The specified parameter {name} is not valid for {action}.")
    region = params.get("RegionId")
    if region and region not in REGIONS:
        raise ApiError("InvalidRegionId.NotFound", f"The specified RegionId {region} does not exist.", 404)
