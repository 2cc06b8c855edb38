# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory plugin winfleet.updates.ecs: Alibaba Cloud ECS instances, for WinRM or Cloud Assistant."""

from __future__ import annotations

DOCUMENTATION = r"""
name: ecs
short_description: Alibaba Cloud ECS instances as an inventory
version_added: 0.2.0
description:
  - Lists the ECS instances of one or more regions with the official Alibaba Cloud SDK
    (C(DescribeRegions), then C(DescribeInstances) paged per region) and makes each one a host.
  - Each host carries the variables the collection's roles read (C(ecs_instance_id),
    C(alicloud_region)) and whether its Cloud Assistant agent is online
    (C(DescribeCloudAssistantStatus)), so the virtio audit and rollout can run with
    C(virtio_transport=ecs_api) on instances that expose no WinRM.
  - "Host variables: C(ecs_instance_id), C(alicloud_region), C(ecs_zone_id), C(ecs_instance_name),
    C(ecs_instance_type), C(ecs_status), C(ecs_os_type), C(ecs_os_name), C(ecs_private_ip),
    C(ecs_public_ip), C(ecs_eip), C(ecs_vpc_id), C(ecs_resource_group_id), C(ecs_tags) (a dict),
    C(ecs_cloud_assistant) (C(online), C(version), C(last_heartbeat))."
  - The file name must end with C(ecs.yml) or C(ecs.yaml).
extends_documentation_fragment:
  - constructed
  - inventory_cache
requirements:
  - alibabacloud-ecs20140526
  - alibabacloud-tea-openapi
options:
  plugin:
    description: Marks the file as an inventory source of this plugin.
    required: true
    choices: [winfleet.updates.ecs]
    type: str
  access_key_id:
    description:
      - Alibaba Cloud AccessKey ID. Resolved like the collection's ECS modules do when not set
        (E(ALIBABA_CLOUD_ACCESS_KEY_ID), then E(ALICLOUD_ACCESS_KEY)).
    type: str
  access_key_secret:
    description:
      - AccessKey secret. Resolved like the ECS modules do when not set (E(ALIBABA_CLOUD_ACCESS_KEY_SECRET),
        then E(ALICLOUD_SECRET_KEY)). Never displayed.
    type: str
  security_token:
    description: STS token of temporary credentials (E(ALIBABA_CLOUD_SECURITY_TOKEN) when not set).
    type: str
  regions:
    description:
      - Regions to list, for example V(cn-hangzhou). Empty (the default) lists every region
        C(DescribeRegions) reports as available to the account.
    type: list
    elements: str
    default: []
  endpoint:
    description:
      - One ECS API endpoint for every region (a proxy, a VPC endpoint, a test endpoint), V(host[:port])
        or V(https://host[:port]); plain V(http://) only for a loopback host.
      - Default C(ecs.<region>.aliyuncs.com) per region.
    type: str
    env:
      - name: WINFLEET_ECS_ENDPOINT
  filters:
    description:
      - Which instances become hosts. The API filters on C(instance_ids), C(status), C(tags),
        C(resource_group_id), C(vpc_id) and C(zone_id); C(os_type) is checked on each answer.
    type: dict
    default: {}
    suboptions:
      instance_ids:
        description: Only these instances (sent 100 per C(DescribeInstances) call).
        type: list
        elements: str
      status:
        description: Only instances in this state, for example V(Running).
        type: str
      tags:
        description: Tags every instance must carry; a key with an empty value matches any value.
        type: dict
      os_type:
        description: V(windows) (default), V(linux), or V(all).
        type: str
        default: windows
      resource_group_id:
        description: Only instances of this resource group.
        type: str
      vpc_id:
        description: Only instances in this VPC.
        type: str
      zone_id:
        description: Only instances in this zone.
        type: str
  hostnames:
    description:
      - How a host is named, first that an instance has wins; the instance id is the fallback.
      - V(instance_id), V(private_ip), V(public_ip) (public IP or else EIP), V(eip), V(instance_name).
    type: list
    elements: str
    default: [instance_id]
  cloud_assistant_status:
    description:
      - Read each instance's Cloud Assistant agent state (one C(DescribeCloudAssistantStatus) page per
        50 instances). V(false) saves those calls; C(ecs_cloud_assistant) is then absent.
    type: bool
    default: true
  api_retries:
    description: How many times a throttled call is retried, with exponential back-off.
    type: int
    default: 5
  api_retry_delay:
    description: First back-off in seconds; it doubles at each retry.
    type: float
    default: 1.0
notes:
  - The RAM identity needs C(ecs:DescribeRegions), C(ecs:DescribeInstances) and
    C(ecs:DescribeCloudAssistantStatus) (docs/alicloud.md).
  - An AWX / Automation Controller inventory source of type "Sourced from a Project" can point at
    such a file; docs/alicloud.md shows one.
"""

EXAMPLES = r"""
# winfleet.ecs.yml: every Windows instance of two regions tagged env=prod, named by private IP
plugin: winfleet.updates.ecs
regions: [cn-hangzhou, ap-southeast-1]
filters:
  tags: {env: prod}
  status: Running
hostnames: [private_ip, instance_id]
keyed_groups:
  - key: alicloud_region
    prefix: region
  - key: ecs_tags.app | default('none')
    prefix: app
groups:
  cloud_assistant_online: ecs_cloud_assistant.online
compose:
  ansible_host: ecs_private_ip
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/winfleet-ecs
cache_timeout: 600
"""

import json
import os
from typing import Any, Mapping

from ansible.errors import AnsibleError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.winfleet.updates.plugins.module_utils import _ecs_inventory
from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import (
    HAS_SDK,
    SDK_REQUIREMENT,
    AlicloudError,
    EcsClient,
    resolve_credentials,
    resolve_endpoint,
)
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "winfleet.updates.ecs"

    def verify_file(self, path: str) -> bool:
        return super().verify_file(path) and path.endswith(("ecs.yml", "ecs.yaml"))

    def parse(self, inventory: Any, loader: Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        if not HAS_SDK:
            raise AnsibleError(f"winfleet.updates.ecs needs the Python packages {SDK_REQUIREMENT} on the controller")
        try:
            filters = _ecs_inventory.normalise_filters(self.get_option("filters") or {})
            hostnames = _ecs_inventory.normalise_hostnames(self.get_option("hostnames"))
            instances = self._instances(path, cache, filters)
        except (InputError, AlicloudError) as err:
            raise AnsibleError(f"winfleet.updates.ecs inventory {path}: {err}") from None
        self._populate(instances, hostnames)

    # -- reading (or the cache) ----------------------------------------------------------------

    def _instances(self, path: str, cache: bool, filters: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The described instances: from the cache when allowed and fresh, else from the API."""
        key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        if use_cache:
            try:
                return self._cache[key]
            except KeyError:
                pass
        instances = self._describe(filters)
        if self.get_option("cache"):
            self._cache[key] = instances
        return instances

    def _credentials_params(self) -> dict[str, Any]:
        return {name: self.get_option(name) for name in ("access_key_id", "access_key_secret", "security_token")}

    def _client(self, region: str) -> EcsClient:
        credentials = resolve_credentials(self._credentials_params(), os.environ)
        return EcsClient(
            credentials,
            region,
            resolve_endpoint(self.get_option("endpoint"), region),
            retries=self.get_option("api_retries"),
            retry_delay=self.get_option("api_retry_delay"),
        )

    def _regions(self) -> list[str]:
        regions = _ecs_inventory.normalise_regions(self.get_option("regions") or [])
        if regions:
            return regions
        bootstrap = os.environ.get("ALIBABA_CLOUD_REGION_ID") or os.environ.get("ALICLOUD_REGION") or "cn-hangzhou"
        return _ecs_inventory.list_regions(self._client(bootstrap))

    def _describe(self, filters: Mapping[str, Any]) -> list[dict[str, Any]]:
        instances: list[dict[str, Any]] = []
        for region in self._regions():
            client = self._client(region)
            found = _ecs_inventory.list_instances(client, region, filters)
            agents: dict[str, dict[str, Any]] = {}
            if found and self.get_option("cloud_assistant_status"):
                agents = _ecs_inventory.agent_states(client, region)
            instances.extend(_ecs_inventory.host_variables(i, region, agents.get(i["InstanceId"])) for i in found)
        return instances

    # -- the inventory -----------------------------------------------------------------------

    def _populate(self, instances: list[dict[str, Any]], hostnames: list[str]) -> None:
        strict = self.get_option("strict")
        for variables in instances:
            name = _ecs_inventory.host_name(variables, hostnames)
            self.inventory.add_host(name)
            for key, value in variables.items():
                self.inventory.set_variable(name, key, value)
            # A copy, because constructed templating must not mutate what the cache holds.
            facts = json.loads(json.dumps(variables))
            self._set_composite_vars(self.get_option("compose"), facts, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), facts, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), facts, name, strict=strict)
