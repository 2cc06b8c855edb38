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
    ("layers", "expected"),
    [
        ([{"x": "all"}, {"x": "child"}, {"x": "host"}, {}], "host"),
        ([{"x": "all"}, {"x": "child"}, {}, {}], "child"),
        ([{"x": "all"}, {}, {}], "all"),
        ([{"x": "all"}, {"x": "host"}, {"x": "extra"}], "extra"),
        ([{}, {}], iv._MISSING),
        ([], iv._MISSING),
    ],
)
def test_the_highest_layer_that_sets_a_name_wins(layers, expected):
    assert iv.layered_value("x", layers) is expected


@pytest.mark.parametrize(
    ("precedence", "expected"),
    [
        (["all_inventory", "groups_inventory", "all_plugins_inventory", "all_plugins_play", "groups_plugins_inventory",
          "groups_plugins_play"],
         ["all_inventory", "groups_inventory", "all_plugins_inventory", "all_plugins_play", "groups_plugins_inventory",
          "groups_plugins_play"]),
        (["all_inventory", "plugins_by_groups", "unknown"], ["all_inventory", "plugins_by_groups"]),
    ],
)
def test_the_group_layers_follow_the_variable_precedence_setting(precedence, expected):
    assert iv.group_layer_order(precedence) == expected


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


FILES_INVENTORY = """
all:
  hosts:
    a01: {}
    b01: {ecs_instance_id: i-stale}
    c01: {ecs_instance_id: i-c01}
  children:
    hangzhou:
      vars: {alicloud_region: eu-central-1}
      hosts:
        a01:
        b01:
    singapore:
      hosts:
        c01: {alicloud_region: cn-hangzhou}
"""


def test_host_vars_and_group_vars_files_as_hostvars_gives_them(tmp_path):
    """Files next to the inventory and next to the playbook, read by the vars plugins, override the
    inventory file's values exactly as in HostVars; the vars plugins are asked once per group."""
    inventory_dir, playbook_dir = tmp_path / "inventory", tmp_path / "playbooks"
    for directory in (inventory_dir / "host_vars", inventory_dir / "group_vars", playbook_dir / "host_vars",
                      playbook_dir / "group_vars"):
        directory.mkdir(parents=True)
    (inventory_dir / "hosts.yml").write_text(FILES_INVENTORY, encoding="utf-8")
    (inventory_dir / "host_vars" / "a01.yml").write_text("ecs_instance_id: i-a01\n", encoding="utf-8")
    (inventory_dir / "host_vars" / "b01.yml").write_text("ecs_instance_id: i-b01\n", encoding="utf-8")
    (inventory_dir / "group_vars" / "hangzhou.yml").write_text("alicloud_region: cn-hangzhou\n", encoding="utf-8")
    (inventory_dir / "group_vars" / "all.yml").write_text("alicloud_region: ap-southeast-1\n", encoding="utf-8")
    # next to the playbook: beats the inventory's files (a host's file beats every group's)
    (playbook_dir / "group_vars" / "singapore.yml").write_text("alicloud_region: ap-southeast-1\n", encoding="utf-8")
    (playbook_dir / "host_vars" / "c01.yml").write_text("alicloud_region: cn-shanghai\n", encoding="utf-8")
    loader = DataLoader()
    loader.set_basedir(str(playbook_dir))
    inventory = InventoryManager(loader=loader, sources=[str(inventory_dir / "hosts.yml")])
    manager = VariableManager(loader=loader, inventory=inventory)
    variables = CountingHostVars(inventory=inventory, variable_manager=manager, loader=loader)
    read = iv.variable_reader(variables, NAMES)
    got = {host: read(host) for host in ("a01", "b01", "c01")}
    assert got == {"a01": {"ecs_instance_id": "i-a01", "alicloud_region": "cn-hangzhou"},
                   "b01": {"ecs_instance_id": "i-b01", "alicloud_region": "cn-hangzhou"},
                   "c01": {"ecs_instance_id": "i-c01", "alicloud_region": "cn-shanghai"}}
    assert variables.read_hosts == []  # no host needed Ansible's full computation
    for host, values in got.items():
        assert values == {name: variables[host].get(name) for name in NAMES}, host
