"""The lab refuses malformed fleet descriptions with a message naming host and field."""

from __future__ import annotations

import pytest
import yaml

from tests.simlab.build_lab import main as build_lab_main
from tests.simlab.fleet import FleetError, load_fleet


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hosts: {web01: {os_verison: '10.0.17763'}}", "hosts.web01: unknown key(s) os_verison; valid:"),
        ("hosts: {web01: {os_version: 'Windows 2019'}}", "hosts.web01.os_version: expected Win32_OperatingSystem.Version"),
        ("hosts: {web01: {reachable: 'no'}}", "hosts.web01.reachable: expected true or false"),
        ("hosts: {web01: {drivers: {viostor: '1.2.3.4'}}}", "hosts.web01.drivers.viostor: expected a driver file name"),
        ("hosts: {web01: {drivers: {viostor.sys: {version: '1'}}}}", "hosts.web01.drivers.viostor.sys: unknown key(s) version"),
        ("hosts: {web01: {drivers: {viostor.sys: {file_version_parts: [1, 2]}}}}", "file_version_parts: expected four integers"),
        ("hosts: {}", "hosts: expected a non-empty mapping"),
        ("lab: {round_trip_ms: -1}\nhosts: {a: {}}", "lab.round_trip_ms: expected a number >= 0"),
        ("hosts: {a: {}}\ngroups: {g: {hosts: [b]}}", "groups.g.hosts: unknown host(s) b"),
        ("hosts: [a, b]", "hosts: expected a non-empty mapping"),
        ("hosts: {a: {}\n", "cannot read the fleet description"),
        ("hosts: {a: {ecs: {region_id: cn-hangzhou}}}", "hosts.a.ecs: needs instance_id"),
        ("hosts: {a: {ecs: {instance_id: web01}}}", "hosts.a.ecs.instance_id: expected an id such as 'i-bp1abc'"),
        ("hosts: {a: {ecs: {instance_id: i-a, region_id: Hangzhou}}}", "hosts.a.ecs.region_id: expected a region id"),
        ("hosts: {a: {ecs: {instance_id: i-a, status: Rebooting}}}", "hosts.a.ecs.status: expected one of Running, Stopped"),
        ("hosts: {a: {ecs: {instance_id: i-a, disks: [{disk_id: d-1, type: data}]}}}",
         "hosts.a.ecs.disks: expected exactly one disk of type system"),
        ("hosts: {a: {ecs: {instance_id: i-a, disks: [{disk_id: d-1, type: system, category: ssd}]}}}",
         "hosts.a.ecs.disks[0].category: expected one of cloud_essd"),
        ("hosts: {a: {ecs: {instance_id: i-a, disks: [{disk_id: d-1, type: system, size_gib: 0}]}}}",
         "hosts.a.ecs.disks[0].size_gib: expected an integer > 0"),
        ("hosts: {a: {ecs: {instance_id: i-a, disks: [{disk_id: d-1, type: system}, {disk_id: d-1, type: data}]}}}",
         "hosts.a.ecs.disks: disk ids must be unique"),
        ("hosts: {a: {ecs: {instance_id: i-a}}, b: {ecs: {instance_id: i-a}}}", "hosts.b.ecs: i-a is already used by host a"),
        ("hosts: {a: {update: {version: '1'}}}", "hosts.a.update: unknown key(s) version"),
        ("bogus: {}\nhosts: {a: {}}", "unknown key(s) bogus"),
        ("hosts: {a: {cau_updates: [{title: x}]}}", "hosts.a.cau_updates[0]: needs id"),
        ("hosts: {a: {cau_updates: [{id: KB123}]}}", "hosts.a.cau_updates[0].id: expected a GUID"),
        ("hosts: {a: {cau_updates: [{id: 11111111-1111-1111-1111-111111111111, type: Firmware}]}}",
         "hosts.a.cau_updates[0].type: expected one of Software, Driver"),
        ("hosts: {a: {cau_updates: [{id: 11111111-1111-1111-1111-111111111111, fails: 1}]}}",
         "hosts.a.cau_updates[0].fails: expected true or false"),
        ("hosts: {a: {cau_plugins: Contoso}}", "hosts.a.cau_plugins: expected a list of names"),
        ("hosts: {a: {}}\nclusters: {c: {mode: remote, nodes: [a]}}", "clusters.c.mode: expected one of self_updating"),
        ("hosts: {a: {}}\nclusters: {c: {mode: self_updating, nodes: [a, b]}}", "clusters.c: unknown host(s) b"),
        ("hosts: {a: {}}\nclusters: {c: {mode: self_updating}}", "clusters.c.nodes: expected the cluster's nodes"),
        ("hosts: {a: {}}\nclusters: {c: {mode: self_updating, nodes: [a], coordinator_outage: {after: 1}}}\n",
         None),
        ("hosts: {a: {}}\nhotfix_roots: {share: {nodes: {b: [x.msu]}}}", "hotfix_roots.share.nodes: expected a mapping"),
    ],
)
def test_malformed_fleets_are_named_errors(tmp_path, text, message):
    fleet = tmp_path / "fleet.yml"
    fleet.write_text(text)
    if message is None:  # valid
        load_fleet(fleet)
        return
    with pytest.raises(FleetError) as err:
        load_fleet(fleet)
    assert message in str(err.value)


def test_defaults_are_a_windows_server_2019_guest_without_drivers(tmp_path):
    fleet = tmp_path / "fleet.yml"
    fleet.write_text("hosts: {a: null}")
    host = load_fleet(fleet)["hosts"]["a"]
    assert (host["os_version"], host["product_type"], host["reachable"], host["drivers"]) == ("10.0.17763", 3, True, {})


def test_cli_prints_the_error_and_exits_2(tmp_path, capsys):
    fleet = tmp_path / "fleet.yml"
    fleet.write_text("hosts: {web01: {bogus: 1}}")
    assert build_lab_main([str(fleet), str(tmp_path / "lab")]) == 2
    assert "fleet error: hosts.web01: unknown key(s) bogus" in capsys.readouterr().err
    assert not (tmp_path / "lab" / "inventory.yml").exists()


def test_ecs_defaults_and_inventory_variables(tmp_path):
    fleet = tmp_path / "fleet.yml"
    fleet.write_text("hosts: {web01: {ecs: {instance_id: i-web01}, vars: {alicloud_region: cn-beijing}}, plain: {}}")
    host = load_fleet(fleet)["hosts"]["web01"]
    assert host["ecs"] == {"instance_id": "i-web01", "region_id": "cn-hangzhou", "status": "Running",
                           "disks": [{"disk_id": "d-web01sys", "category": "cloud_essd", "type": "system", "size_gib": 40}]}
    assert host["cloud_assistant"] is True  # the one agent flag is the host key
    assert build_lab_main([str(fleet), str(tmp_path / "lab")]) == 0
    inventory = yaml.safe_load((tmp_path / "lab" / "inventory.yml").read_text())
    # the instance id comes from the fleet; an explicit host var wins over the derived region
    assert inventory["all"]["hosts"]["web01"] == {"ecs_instance_id": "i-web01", "alicloud_region": "cn-beijing"}
    assert inventory["all"]["hosts"]["plain"] is None


def test_cau_keys_get_windows_defaults_and_clusters_become_inventory_groups(tmp_path):
    from tests.simlab.build_lab import inventory_for

    fleet_file = tmp_path / "fleet.yml"
    fleet_file.write_text(
        "hosts: {c: {}, n1: {cau_updates: [{id: 11111111-1111-1111-1111-11111111111A}]}, n2: {}}\n"
        "clusters: {hvcl01: {mode: remote_updating, nodes: [n1, n2], coordinator: c, vars: {cau_max_failed_nodes: 0}}}\n"
    )
    fleet = load_fleet(fleet_file)
    update = fleet["hosts"]["n1"]["cau_updates"][0]
    assert update == {"id": "11111111-1111-1111-1111-11111111111a", "title": "Update 11111111", "type": "Software",
                      "hidden": False, "assigned": True, "recommended": False, "installed": False,
                      "reboot_required": True, "fails": False, "revision": 1, "browse_only": False, "categories": [],
                      "deployment_action": "Installation"}
    children = inventory_for(fleet, tmp_path)["all"]["children"]
    assert children["cau_clusters"]["children"]["hvcl01"] == {
        "hosts": {"n1": None, "n2": None},
        "vars": {"cau_cluster_name": "hvcl01", "cau_mode": "remote_updating", "cau_coordinator": "c", "cau_max_failed_nodes": 0},
    }
    assert children["cau_coordinators"] == {"hosts": {"c": None}}


def test_ecs_cloud_assistant_is_an_alias_of_the_host_key(tmp_path):
    fleet = tmp_path / "fleet.yml"
    fleet.write_text("hosts: {a: {ecs: {instance_id: i-a, cloud_assistant: false}}, b: {cloud_assistant: false}}")
    hosts = load_fleet(fleet)["hosts"]
    assert hosts["a"]["cloud_assistant"] is False and "cloud_assistant" not in hosts["a"]["ecs"]
    assert hosts["b"]["cloud_assistant"] is False
    fleet.write_text("hosts: {a: {cloud_assistant: true, ecs: {instance_id: i-a, cloud_assistant: false}}}")
    with pytest.raises(FleetError, match="hosts.a.ecs.cloud_assistant: disagrees with hosts.a.cloud_assistant"):
        load_fleet(fleet)
