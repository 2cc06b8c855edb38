"""A few variables of many hosts read from the inventory, as Ansible would give them, without HostVars."""

from __future__ import annotations

import pytest
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.vars.hostvars import HostVars
from ansible.vars.manager import VariableManager

from ansible_collections.winfleet.updates.plugins.plugin_utils import _inventory_vars as iv

NAMES = ("ecs_instance_id", "alicloud_region")


@pytest.mark.parametrize(
    ("host_vars", "groups_vars", "extra_vars", "expected"),
    [
        ({"x": "host"}, [{"x": "all"}, {"x": "child"}], {}, "host"),
        ({}, [{"x": "all"}, {"x": "child"}], {}, "child"),
        ({}, [{"x": "all"}, {}], {}, "all"),
        ({"x": "host"}, [{"x": "all"}], {"x": "extra"}, "extra"),
        ({}, [{}], {}, iv._MISSING),
    ],
)
def test_inventory_value_follows_ansible_precedence(host_vars, groups_vars, extra_vars, expected):
    assert iv.inventory_value("x", host_vars, groups_vars, extra_vars) is expected


@pytest.mark.parametrize(
    ("value", "plain"),
    [("i-abc", True), ("cn-hangzhou", True), (12, True), (None, False), (iv._MISSING, False),
     ("{{ region }}", False), ("i-{% if x %}a{% endif %}", False), ("{# c #}i", False)],
)
def test_only_set_untemplated_values_are_used_as_they_are(value, plain):
    assert iv.is_plain_value(value) is plain


INVENTORY = """
all:
  vars:
    alicloud_region: cn-hangzhou
  hosts:
    plain01: {ecs_instance_id: i-plain01}
    templated01: {ecs_instance_id: "{{ 'i-' ~ 'templated01' }}"}
    none01: {}
  children:
    singapore:
      vars: {alicloud_region: ap-southeast-1}
      hosts:
        sg01: {ecs_instance_id: i-sg01}
        own01: {ecs_instance_id: i-own01, alicloud_region: eu-central-1}
"""


class CountingHostVars(HostVars):
    """Ansible's HostVars, counting the hosts whose whole variable set is computed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.read_hosts = []

    def __getitem__(self, key):
        self.read_hosts.append(key)
        return super().__getitem__(key)


@pytest.fixture(name="hostvars")
def hostvars_fixture(tmp_path):
    source = tmp_path / "inventory.yml"
    source.write_text(INVENTORY, encoding="utf-8")

    def build(extra_vars=None):
        loader = DataLoader()
        inventory = InventoryManager(loader=loader, sources=[str(source)])
        manager = VariableManager(loader=loader, inventory=inventory)
        manager._extra_vars = extra_vars or {}  # what -e sets on the CLI's VariableManager
        return CountingHostVars(inventory=inventory, variable_manager=manager, loader=loader)

    return build


def test_same_values_as_hostvars_and_hostvars_read_only_where_the_inventory_cannot_say(hostvars):
    variables = hostvars()
    read = iv.variable_reader(variables, NAMES)
    hosts = ["plain01", "templated01", "none01", "sg01", "own01", "unknown01"]
    got = {host: read(host) for host in hosts}
    assert got == {
        "plain01": {"ecs_instance_id": "i-plain01", "alicloud_region": "cn-hangzhou"},
        "templated01": {"ecs_instance_id": "i-templated01", "alicloud_region": "cn-hangzhou"},
        "none01": {"ecs_instance_id": None, "alicloud_region": "cn-hangzhou"},
        "sg01": {"ecs_instance_id": "i-sg01", "alicloud_region": "ap-southeast-1"},
        "own01": {"ecs_instance_id": "i-own01", "alicloud_region": "eu-central-1"},
        "unknown01": {"ecs_instance_id": None, "alicloud_region": None},
    }
    # What the old per-host hostvars read gave, for every host the inventory knows.
    for host in hosts[:-1]:
        assert got[host] == {name: variables[host].get(name) for name in NAMES}, host
    variables.read_hosts.clear()
    for host in hosts:
        read(host)
    # The template and the missing variable need Ansible's full computation; the others (and a host
    # the inventory does not know) do not.
    assert variables.read_hosts == ["templated01", "none01"]


def test_extra_vars_win_over_the_inventory(hostvars):
    read = iv.variable_reader(hostvars({"alicloud_region": "us-west-1"}), NAMES)
    assert read("own01") == {"ecs_instance_id": "i-own01", "alicloud_region": "us-west-1"}


def test_a_plain_mapping_is_read_as_hostvars():
    read = iv.variable_reader({"a": {"ecs_instance_id": "i-a"}}, NAMES)
    assert read("a") == {"ecs_instance_id": "i-a", "alicloud_region": None}
    assert read("b") == {"ecs_instance_id": None, "alicloud_region": None}
