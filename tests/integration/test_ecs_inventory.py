"""The winfleet.updates.ecs inventory plugin, run by ansible-inventory against the fake ECS endpoint."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.fakeecs import TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET
from tests.integration.conftest import BIN_DIR, REPO_ROOT


def fleet() -> dict[str, Any]:
    """Three regions; cn-hangzhou has 130 Windows instances, more than one DescribeInstances page."""
    hosts: dict[str, Any] = {
        f"web{i:03d}": {"ecs": {"instance_id": f"i-web{i:03d}", "region_id": "cn-hangzhou",
                                "tags": {"app": "web", "env": "prod" if i % 2 else "test"}}}
        for i in range(130)
    }
    hosts["web000"]["ecs"].update(public_ip="47.0.0.1", private_ip="10.0.0.1", vpc_id="vpc-a")
    hosts["web001"]["ecs"]["status"] = "Stopped"
    hosts["db01"] = {"ecs": {"instance_id": "i-db01", "region_id": "ap-southeast-1", "tags": {"app": "db", "env": "prod"},
                             "resource_group_id": "rg-data"}, "cloud_assistant": False}
    hosts["lin01"] = {"ecs": {"instance_id": "i-lin01", "region_id": "ap-southeast-1", "os_type": "linux"}}
    hosts["fra01"] = {"ecs": {"instance_id": "i-fra01", "region_id": "eu-central-1", "tags": {"app": "web", "env": "prod"}}}
    return {"hosts": hosts}


def inventory(fake, tmp_path: Path, config: dict[str, Any], name: str = "x.ecs.yml") -> dict[str, Any]:
    source = tmp_path / name
    source.write_text(yaml.safe_dump({"plugin": "winfleet.updates.ecs", **config}), encoding="utf-8")
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
           "ALIBABA_CLOUD_ACCESS_KEY_ID": TEST_ACCESS_KEY_ID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": TEST_ACCESS_KEY_SECRET,
           "WINFLEET_ECS_ENDPOINT": fake.url if fake else "http://127.0.0.1:9"}
    done = subprocess.run([str(BIN_DIR / "ansible-inventory"), "-i", str(source), "--list"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert TEST_ACCESS_KEY_SECRET not in done.stdout + done.stderr
    data = unwrap(json.loads(done.stdout))
    assert "[WARNING]: Unable to parse" not in done.stderr, done.stderr
    return data


def unwrap(value: Any) -> Any:
    """ansible-inventory marks values that came from the cloud as untrusted ({"__ansible_unsafe": v})."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def hosts_of(data: dict[str, Any], group: str = "all") -> set[str]:
    found = set(data.get(group, {}).get("hosts", []))
    for child in data.get(group, {}).get("children", []):
        found |= hosts_of(data, child)
    return found


def test_all_regions_paged_windows_only_with_agent_state(ecs_lab, tmp_path):
    _lab, fake = ecs_lab(fleet())
    data = inventory(fake, tmp_path, {"keyed_groups": [{"key": "alicloud_region", "prefix": "region"}]})
    names = hosts_of(data)
    assert len(names) == 132 and "i-lin01" not in names  # os_type windows by default
    assert len(hosts_of(data, "region_cn_hangzhou")) == 130  # two pages of 100
    assert hosts_of(data, "region_eu_central_1") == {"i-fra01"}
    assert fake.count("DescribeRegions") == 1
    pages = [p for a, p in fake.calls if a == "DescribeInstances" and p["RegionId"] == "cn-hangzhou"]
    assert [p["PageNumber"] for p in pages] == ["1", "2"]
    hostvars = data["_meta"]["hostvars"]
    assert hostvars["i-db01"]["ecs_cloud_assistant"]["online"] is False
    assert hostvars["i-web002"]["ecs_cloud_assistant"]["online"] is True
    assert hostvars["i-web001"]["ecs_cloud_assistant"]["online"] is False  # stopped: no heartbeat
    assert hostvars["i-web000"]["ecs_tags"] == {"app": "web", "env": "test"}
    assert hostvars["i-db01"]["alicloud_region"] == "ap-southeast-1"
    assert hostvars["i-db01"]["ecs_instance_id"] == "i-db01"


def test_filters_are_sent_to_the_api(ecs_lab, tmp_path):
    _lab, fake = ecs_lab(fleet())
    data = inventory(fake, tmp_path, {"regions": ["cn-hangzhou", "ap-southeast-1"], "filters": {
        "tags": {"env": "prod"}, "status": "Running"}, "cloud_assistant_status": False})
    names = hosts_of(data)
    assert names == {f"i-web{i:03d}" for i in range(3, 130, 2)} | {"i-db01"}
    assert fake.count("DescribeRegions") == 0 and fake.count("DescribeCloudAssistantStatus") == 0
    sent = [p for a, p in fake.calls if a == "DescribeInstances"][0]
    assert sent["Tag.1.Key"] == "env" and sent["Tag.1.Value"] == "prod" and sent["Status"] == "Running"
    assert "ecs_cloud_assistant" not in data["_meta"]["hostvars"]["i-db01"]


def test_instance_ids_resource_group_vpc_and_os_type(ecs_lab, tmp_path):
    _lab, fake = ecs_lab(fleet())
    by_ids = inventory(fake, tmp_path, {"regions": ["cn-hangzhou"], "filters": {"instance_ids": ["i-web005", "i-web007"]}})
    assert hosts_of(by_ids) == {"i-web005", "i-web007"}
    by_group = inventory(fake, tmp_path, {"regions": ["ap-southeast-1"], "filters": {"resource_group_id": "rg-data"}})
    assert hosts_of(by_group) == {"i-db01"}
    by_vpc = inventory(fake, tmp_path, {"regions": ["cn-hangzhou"], "filters": {"vpc_id": "vpc-a"}})
    assert hosts_of(by_vpc) == {"i-web000"}
    linux = inventory(fake, tmp_path, {"regions": ["ap-southeast-1"], "filters": {"os_type": "linux"}})
    assert hosts_of(linux) == {"i-lin01"}


def test_hostnames_preference_compose_groups_and_keyed_groups(ecs_lab, tmp_path):
    _lab, fake = ecs_lab(fleet())
    data = inventory(fake, tmp_path, {
        "regions": ["cn-hangzhou", "ap-southeast-1"],
        "hostnames": ["public_ip", "instance_name"],
        "compose": {"ansible_host": "ecs_private_ip"},
        "groups": {"agent_offline": "not ecs_cloud_assistant.online"},
        "keyed_groups": [{"key": "ecs_tags.app | default('none')", "prefix": "app"}],
    })
    names = hosts_of(data)
    assert "47.0.0.1" in names and "web002" in names and "i-web000" not in names
    assert data["_meta"]["hostvars"]["47.0.0.1"]["ansible_host"] == "10.0.0.1"
    assert hosts_of(data, "agent_offline") == {"db01", "web001"}
    assert hosts_of(data, "app_db") == {"db01"}
    assert len(hosts_of(data, "app_web")) == 130


def test_cache_answers_without_the_api(ecs_lab, tmp_path):
    _lab, fake = ecs_lab(fleet())
    config = {"regions": ["eu-central-1"], "cache": True, "cache_plugin": "ansible.builtin.jsonfile",
              "cache_connection": str(tmp_path / "cache"), "cache_timeout": 600}
    first = inventory(fake, tmp_path, config)
    calls = len(fake.calls)
    fake.stop()
    second = inventory(fake, tmp_path, config)  # the endpoint is gone: only the cache can answer
    assert hosts_of(first) == hosts_of(second) == {"i-fra01"}
    assert len(fake.calls) == calls


def test_bad_option_names_the_field(ecs_lab, tmp_path):
    _lab, fake = ecs_lab(fleet())
    source = tmp_path / "bad.ecs.yml"
    source.write_text(yaml.safe_dump({"plugin": "winfleet.updates.ecs", "hostnames": ["ip"]}), encoding="utf-8")
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"), "WINFLEET_ECS_ENDPOINT": fake.url,
           "ALIBABA_CLOUD_ACCESS_KEY_ID": TEST_ACCESS_KEY_ID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": TEST_ACCESS_KEY_SECRET,
           "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"}
    done = subprocess.run([str(BIN_DIR / "ansible-inventory"), "-i", str(source), "--list"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode != 0
    assert "hostnames[0]" in done.stderr and "instance_id" in done.stderr


def test_ansible_doc_documents_the_plugin():
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg")}
    done = subprocess.run([str(BIN_DIR / "ansible-doc"), "-t", "inventory", "winfleet.updates.ecs"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "WINFLEET_ECS_ENDPOINT" in done.stdout and "keyed_groups" in done.stdout and "hostnames" in done.stdout


def test_make_fake_ecs_prints_exports_first_and_serves_the_inventory(make_lab, tmp_path):
    lab = make_lab(fleet())
    # as from the user's shell: no outer make (make test) whose MAKELEVEL would add "Entering directory" lines
    shell_env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES")}
    process = subprocess.Popen(["make", "fake-ecs", f"LAB={lab.root}"], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True, env=shell_env)
    try:
        lines = [process.stdout.readline().strip() for _ in range(3)]
        assert [line.split("=", 1)[0] for line in lines] == [
            "export ALIBABA_CLOUD_ACCESS_KEY_ID", "export ALIBABA_CLOUD_ACCESS_KEY_SECRET", "export WINFLEET_ECS_ENDPOINT"]
        exported = dict(line.removeprefix("export ").split("=", 1) for line in lines)
        source = tmp_path / "make.ecs.yml"
        source.write_text(yaml.safe_dump({"plugin": "winfleet.updates.ecs", "regions": ["eu-central-1"]}), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ALIBABA_CLOUD_", "WINFLEET_"))}
        env.update(exported, ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"))
        done = subprocess.run([str(BIN_DIR / "ansible-inventory"), "-i", str(source), "--graph"], cwd=REPO_ROOT, env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0 and "i-fra01" in done.stdout, done.stderr
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=30)
