#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Snapshot the disks of an Alibaba Cloud ECS instance before an update, or delete those snapshots."""

from __future__ import annotations

DOCUMENTATION = r"""
module: ecs_snapshot
short_description: Snapshot the disks of an ECS instance before an update, and clean them up
version_added: 0.1.0
description:
  - O(state=present) snapshots the disks of one Alibaba Cloud ECS instance (all of them, or the system disk
    only) so that an update can be rolled back, and waits until the snapshots are usable
    (status C(accomplished)).
  - When every selected disk is an ESSD and there are at most 128 (256 TiB in all), one crash-consistent snapshot group is made
    (CreateSnapshotGroup); otherwise one snapshot per disk (CreateSnapshot). O(snapshot_group=never) forces
    one snapshot per disk.
  - Every snapshot is tagged O(tag_key)=O(rollout_id) as it is made (a group's snapshots right after the group,
    before any wait). Running again with the same rollout id finds the snapshots and the group made before (also
    those of an interrupted, failed or timed-out run) and returns them instead of making new ones.
  - A failure or a timeout fails the task with the ids already made in RV(snapshot_ids); they carry the rollout
    tag, so a re-run completes them and O(state=absent) deletes them.
  - Local and elastic ephemeral disks cannot be snapshotted; they are skipped and listed in RV(skipped_disks).
    A disk busy with another snapshot (an automatic snapshot policy) is waited for within O(wait_timeout).
  - O(state=absent) deletes the snapshots tagged with the rollout id, and those of the snapshot groups tagged with
    it, with the emptied groups (of O(instance_id), or of the whole region when it is omitted), optionally only
    those older than O(grace_minutes).
  - Runs on the controller; use C(delegate_to=localhost).
options:
  instance_id:
    description:
      - ECS instance id, for example V(i-bp67acfmxazb4p****). In the collection's roles this comes from the
        host variable C(ecs_instance_id).
      - Required with O(state=present).
    type: str
  state:
    description: Whether this rollout's snapshots should exist or be deleted.
    type: str
    choices: [present, absent]
    default: present
  rollout_id:
    description:
      - Identifies the rollout the snapshots belong to; stored as the value of the tag O(tag_key).
      - Use the same value to re-run idempotently and to clean up.
    type: str
    required: true
  tag_key:
    description: Tag key that carries the rollout id.
    type: str
    default: "winfleet:rollout-id"
  tags:
    description: Additional tags for the snapshots (at most 20 tags in all).
    type: dict
    default: {}
  disk_scope:
    description: Snapshot V(all) disks of the instance, or the V(system) disk only.
    type: str
    choices: [all, system]
    default: all
  snapshot_group:
    description:
      - V(auto) makes one snapshot-consistent group when all selected disks are ESSD (at most 128 disks);
        V(never) always makes one snapshot per disk.
    type: str
    choices: [auto, never]
    default: auto
  description:
    description: Description of the snapshots; a default names the rollout.
    type: str
  wait:
    description: Wait until every snapshot is C(accomplished). A snapshot that fails fails the task.
    type: bool
    default: true
  instant_access:
    description:
      - Stop waiting as soon as every snapshot reports C(Available) (ESSD instant access), instead of waiting for
        100 %; an available snapshot can already roll the disk back.
    type: bool
    default: false
  retention_days:
    description:
      - Days after which ECS releases the snapshots automatically (CreateSnapshot C(RetentionDays); for a group,
        set on each of its snapshots), a safety net behind deleting them after verification. V(0) keeps them until
        deleted.
    type: int
    default: 7
  resource_group_id:
    description: Resource group of the snapshots (and of the snapshot group).
    type: str
  wait_timeout:
    description: How long to wait for the snapshots, in seconds.
    type: int
    default: 1800
  poll_interval:
    description: Seconds between two status queries while waiting.
    type: float
    default: 5
  grace_minutes:
    description:
      - With O(state=absent), delete only snapshots created at least this many minutes ago, so that a rollback
        stays possible for a while after the update.
    type: int
    default: 0
extends_documentation_fragment:
  - winfleet.updates.alicloud
attributes:
  check_mode:
    support: full
    description: Reads the instance, its disks and existing snapshots, and reports what would be created or deleted.
  diff_mode:
    support: none
    description: No diff is produced.
  platform:
    support: full
    platforms: posix
    description: Runs on the controller and calls the ECS API.
seealso:
  - module: winfleet.updates.ecs_cloud_assistant
author:
  - winfleet.updates maintainers (@winfleet)
"""

EXAMPLES = r"""
- name: Snapshot every disk of the instance before the virtio update
  winfleet.updates.ecs_snapshot:
    instance_id: "{{ ecs_instance_id }}"
    region_id: "{{ alicloud_region }}"
    rollout_id: "virtio-2024-05"
  delegate_to: localhost
  register: pre_update_snapshots

- name: Snapshot the system disk only, one snapshot per disk, extra tag
  winfleet.updates.ecs_snapshot:
    instance_id: "{{ ecs_instance_id }}"
    region_id: "{{ alicloud_region }}"
    rollout_id: "virtio-2024-05"
    disk_scope: system
    snapshot_group: never
    tags:
      change: CHG0012345
  delegate_to: localhost

- name: Delete this rollout's snapshots that are older than three days
  winfleet.updates.ecs_snapshot:
    state: absent
    instance_id: "{{ ecs_instance_id }}"
    region_id: "{{ alicloud_region }}"
    rollout_id: "virtio-2024-05"
    grace_minutes: 4320
  delegate_to: localhost
"""

RETURN = r"""
instance_id:
  description: The instance.
  returned: always
  type: str
  sample: i-bp67acfmxazb4p****
region_id:
  description: The region used.
  returned: always
  type: str
  sample: cn-hangzhou
mode:
  description: V(group), V(per_disk), or V(existing) when this rollout's snapshots existed already.
  returned: state=present
  type: str
  sample: group
reason:
  description: Why this mode was chosen.
  returned: state=present
  type: str
  sample: "2 ESSD disk(s): one crash-consistent snapshot group"
snapshot_ids:
  description: Ids of this rollout's snapshots of the instance, system disk first (what a rollback needs).
  returned: state=present
  type: list
  elements: str
  sample: [s-bp1c0doj0taqyzzl****, s-bp1c0doj0taqyzzm****]
skipped_disks:
  description: Local or ephemeral disks that cannot be snapshotted, each with C(disk_id), C(category), C(reason).
  returned: state=present
  type: list
  elements: dict
retention_days:
  description: Days after which the snapshots made by this run are released automatically (0 = kept).
  returned: state=present
  type: int
deleted_groups:
  description: Snapshot groups of the rollout deleted (after their snapshots).
  returned: state=absent
  type: list
  elements: str
snapshot_group_id:
  description: The snapshot-consistent group, when one was made (or found).
  returned: state=present
  type: str
  sample: ssg-j6c9lpuyxo2uxxny****
snapshots:
  description: One entry per snapshot.
  returned: state=present
  type: list
  elements: dict
  contains:
    snapshot_id:
      description: Snapshot id.
      type: str
    disk_id:
      description: The disk it copies.
      type: str
    disk_type:
      description: V(system) or V(data).
      type: str
    status:
      description: V(accomplished), V(progressing) or V(failed).
      type: str
    progress:
      description: Percentage.
      type: int
    creation_time:
      description: UTC creation time.
      type: str
    snapshot_group_id:
      description: Group the snapshot belongs to, if any.
      type: str
    available:
      description: Whether the snapshot can be used for a rollback already (C(Available), or accomplished).
      type: bool
created:
  description: Ids of the snapshots made by this run.
  returned: state=present
  type: list
  elements: str
reused:
  description: Ids of snapshots of this rollout that existed already.
  returned: state=present
  type: list
  elements: str
would_create:
  description: In check mode, the disks that would be snapshotted.
  returned: check mode with state=present
  type: list
  elements: dict
deleted:
  description: Ids of the snapshots deleted.
  returned: state=absent
  type: list
  elements: str
would_delete:
  description: In check mode, the ids that would be deleted.
  returned: check mode with state=absent
  type: list
  elements: str
kept:
  description: Snapshots of the rollout not deleted, each with a C(reason) (still being created, or younger than the grace period).
  returned: state=absent
  type: list
  elements: dict
error_code:
  description: The Alibaba Cloud error code, when an API call failed.
  returned: failure
  type: str
  sample: QuotaExceed.Snapshot
missing_permission:
  description: The RAM action that was denied, when the failure is a missing permission.
  returned: failure
  type: str
  sample: ecs:CreateSnapshotGroup
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import EcsClient
from ansible_collections.winfleet.updates.plugins.module_utils._alicloud_module import (
    argument_spec,
    run_ecs_module,
    waiting_from,
)
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_snapshot import (
    DEFAULT_RETENTION_DAYS,
    DEFAULT_TAG_KEY,
    ensure_snapshots,
    remove_snapshots,
)

ARGUMENT_SPEC = argument_spec(
    {
        "instance_id": {"type": "str"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "rollout_id": {"type": "str", "required": True},
        "tag_key": {"type": "str", "default": DEFAULT_TAG_KEY, "no_log": False},
        "tags": {"type": "dict", "default": {}},
        "disk_scope": {"type": "str", "choices": ["all", "system"], "default": "all"},
        "snapshot_group": {"type": "str", "choices": ["auto", "never"], "default": "auto"},
        "description": {"type": "str"},
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "int", "default": 1800},
        "poll_interval": {"type": "float", "default": 5},
        "grace_minutes": {"type": "int", "default": 0},
        "instant_access": {"type": "bool", "default": False},
        "retention_days": {"type": "int", "default": DEFAULT_RETENTION_DAYS},
        "resource_group_id": {"type": "str"},
    }
)


def work(module: AnsibleModule, client: EcsClient) -> dict[str, Any]:
    """Map the options onto ensure_snapshots / remove_snapshots."""
    params = module.params
    if params["state"] == "absent":
        return remove_snapshots(
            client,
            params["rollout_id"],
            tag_key=params["tag_key"],
            instance_id=params["instance_id"],
            grace_minutes=params["grace_minutes"],
            check_mode=module.check_mode,
        )
    return ensure_snapshots(
        client,
        params["instance_id"],
        params["rollout_id"],
        tag_key=params["tag_key"],
        extra_tags=params["tags"],
        disk_scope=params["disk_scope"],
        snapshot_group=params["snapshot_group"],
        description=params["description"] or "",
        wait=params["wait"],
        waiting=waiting_from(params),
        check_mode=module.check_mode,
        retention_days=params["retention_days"],
        resource_group_id=params["resource_group_id"],
        instant_access=params["instant_access"],
    )


def main() -> None:
    run_ecs_module(ARGUMENT_SPEC, work, required_if=[("state", "present", ("instance_id",))])


if __name__ == "__main__":
    main()
