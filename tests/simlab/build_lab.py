"""Write a simulated lab from a fleet description: ``python -m tests.simlab.build_lab FLEET LAB``.

Produces ``LAB/inventory.yml`` (hosts in fleet order, reached through the ``winfleet_simlab``
connection plugin) and ``LAB/hosts/*.json`` (each host's state). Test code only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.simlab.fleet import FleetError, load_fleet
from tests.simlab.state import Lab, write_lab

CONNECTION = "winfleet_simlab"


def host_vars(host: dict[str, Any]) -> dict[str, Any] | None:
    """The host's inventory variables; an ECS-backed host also gets the instance id and region
    variables a real Alibaba Cloud inventory would carry (see docs/alicloud.md)."""
    variables = {}
    if host.get("ecs"):
        variables = {"ecs_instance_id": host["ecs"]["instance_id"], "alicloud_region": host["ecs"]["region_id"]}
    variables.update(host["vars"] or {})
    return variables or None


def inventory_for(fleet: dict[str, Any], lab_dir: Path) -> dict[str, Any]:
    """The inventory a real fleet would have, with the simulated connection in place of WinRM."""
    inventory: dict[str, Any] = {
        "all": {
            "vars": {"ansible_connection": CONNECTION, "winfleet_simlab_dir": str(lab_dir)},
            "hosts": {name: host_vars(host) for name, host in fleet["hosts"].items()},
        }
    }
    children: dict[str, Any] = {
        name: {"hosts": {member: None for member in group["hosts"]}, **({"vars": group["vars"]} if group["vars"] else {})}
        for name, group in fleet["groups"].items()
    }
    if fleet.get("clusters"):
        children.update(cau_inventory_groups(fleet["clusters"]))
    # The file servers the hotfix root role works on (docs/hotfix_root.md), unless the fleet lists them.
    file_servers = [name for name, host in fleet["hosts"].items() if host.get("file_server")]
    if file_servers and "cau_file_servers" not in children:
        children["cau_file_servers"] = {"hosts": {name: None for name in file_servers}}
    if children:
        inventory["all"]["children"] = children
    return inventory


def cau_inventory_groups(clusters: dict[str, Any]) -> dict[str, Any]:
    """The CAU layout of docs/cau.md: each cluster a child group of cau_clusters, coordinators
    in cau_coordinators (a place for their connection variables)."""
    groups: dict[str, Any] = {}
    for group, cluster in clusters.items():
        variables = {"cau_cluster_name": cluster["name"], "cau_mode": cluster["mode"]}
        if cluster["coordinator"]:
            variables["cau_coordinator"] = cluster["coordinator"]
        groups[group] = {"hosts": {node: None for node in cluster["nodes"]}, "vars": {**variables, **cluster["vars"]}}
    result: dict[str, Any] = {"cau_clusters": {"children": groups}}
    coordinators = [c["coordinator"] for c in clusters.values() if c["coordinator"]]
    if coordinators:
        result["cau_coordinators"] = {"hosts": {name: None for name in dict.fromkeys(coordinators)}}
    return result


def build_lab(fleet_path: str | Path, lab_dir: str | Path) -> Lab:
    """Validate the fleet, write the host states and the inventory; return the lab."""
    lab_dir = Path(lab_dir).resolve()
    fleet = load_fleet(fleet_path)
    lab = write_lab(lab_dir, fleet)
    (lab_dir / "inventory.yml").write_text(
        "# Simulated Windows lab written by tests/simlab/build_lab.py: these hosts are not real.\n"
        + yaml.safe_dump(inventory_for(fleet, lab_dir), sort_keys=False),
        encoding="utf-8",
    )
    return lab


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fleet", help="fleet description (YAML, see docs/simlab.md)")
    parser.add_argument("lab", help="directory to write the lab into")
    args = parser.parse_args(argv)
    try:
        lab = build_lab(args.fleet, args.lab)
    except FleetError as err:
        print(f"fleet error: {err}", file=sys.stderr)
        return 2
    print(f"simulated lab: {len(lab.host_names())} hosts, inventory {lab.root / 'inventory.yml'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
