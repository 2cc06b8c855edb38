"""virtio_transport=ecs_api with source=package: the instance downloads the offline package from a URL.

Real ansible-playbook against the lab and the fake ECS. The lab's ``downloads`` are the URLs that
serve bytes; the fake runs the download, the SHA-256 check and the pnputil install of the package
script against the lab host (tests/fakeecs/scripts.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from pathlib import Path

from tests.integration.test_virtio_rollout_ecs import NEW, OLD, WRITES, fleet, rollout, winrm_round_trips

URL = "https://virtio.oss-cn-hangzhou-internal.aliyuncs.com/210408.1454.1459_bin.zip?Expires=1&Signature=s3cr3t"


def content(params: dict) -> str:
    text = params.get("CommandContent", "")
    return base64.b64decode(text).decode("utf-8") if params.get("ContentEncoding") == "Base64" else text


def package(tmp_path: Path) -> tuple[Path, str]:
    """An offline package in Alibaba's layout (win10 / Win8 / win7, amd64 / x86) and its SHA-256."""
    path = tmp_path / "virtio.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for folder in ("win10", "Win8", "win7"):
            for arch in ("amd64", "x86"):
                for name in ("viostor", "netkvm"):
                    archive.writestr(f"{folder}/{arch}/{name}.inf", f"; {name} for {folder} {arch}\n")
                    archive.writestr(f"{folder}/{arch}/{name}.sys", b"MZ")
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def package_fleet(tmp_path: Path, *names: str, **per_host):
    path, sha = package(tmp_path)
    described = fleet(*names, **per_host)
    described["lab"] = {"downloads": {URL: str(path)}}
    return described, sha


def test_the_package_is_downloaded_checked_and_installed_by_each_instance(ecs_lab, tmp_path):
    described, sha = package_fleet(tmp_path, "web01", "old01",
                                   old01={"os_version": "6.1.7601", "os_caption": "Microsoft Windows Server 2008 R2 Enterprise"})
    lab, fake = ecs_lab(described)
    run = rollout(lab, fake, tmp_path, virtio_snapshot_provider="none", virtio_source="package",
                  virtio_package_url=URL, virtio_package_checksum=sha.upper())
    assert run.returncode == 0, run.output
    rows = run.rows("virtio_rollout")
    for name, folder in (("web01", "win10"), ("old01", "win7")):
        assert (rows[name]["status"], rows[name]["build_after"]) == ("updated", 58017), rows[name]
        state = lab.read_host(name)
        assert state["drivers"]["viostor.sys"]["file_version"] == NEW
        (run_,) = state["virtio_runs"].values()
        assert run_["source"] == "package"
        assert [inf.rsplit("\\", 3)[-3:] for inf in run_["inf_files"]] == [[folder, "amd64", "netkvm.inf"],
                                                                         [folder, "amd64", "viostor.inf"]]
    # 2008 R2's pnputil has no /add-driver: the script uses -i -a there
    assert all("-i -a" in inf["command"] for inf in lab.read_host("old01")["virtio_runs"].popitem()[1]["infs"])
    assert "s3cr3t" not in run.output and "s3cr3t" not in json.dumps(run.report("virtio_rollout"))
    installs = [p for a, p in fake.calls if a == "RunCommand" and p.get("Name") == "winfleet-virtio-install"]
    assert len(installs) == 1 and fake.count("InvokeCommand") == 0
    assert winrm_round_trips(lab) == {}


def test_a_checksum_mismatch_fails_the_host_before_anything_is_installed(ecs_lab, tmp_path):
    described, _sha = package_fleet(tmp_path, "web01")
    lab, fake = ecs_lab(described)
    run = rollout(lab, fake, tmp_path, virtio_snapshot_provider="none", virtio_source="package",
                  virtio_package_url=URL, virtio_package_checksum="0" * 64)
    assert run.returncode != 0
    row = run.rows("virtio_rollout")["web01"]
    assert row["status"] == "failed", row
    assert "checksum step" in row["error"] and "expected " + "0" * 64 in row["error"], row["error"]
    assert "nothing was installed" in row["error"] and "s3cr3t" not in row["error"]
    state = lab.read_host("web01")
    assert state.get("virtio_runs", {}) == {} and "pending_driver" not in state
    assert state["drivers"]["viostor.sys"]["file_version"] == OLD
    assert fake.count("RebootInstances") == 0


def test_a_url_that_serves_nothing_fails_the_download_and_changes_nothing(ecs_lab, tmp_path):
    described, sha = package_fleet(tmp_path, "web01")
    lab, fake = ecs_lab(described)
    run = rollout(lab, fake, tmp_path, virtio_snapshot_provider="none", virtio_source="package",
                  virtio_package_url="https://mirror.invalid/virtio.zip", virtio_package_checksum=sha)
    assert run.returncode != 0
    row = run.rows("virtio_rollout")["web01"]
    assert row["status"] == "failed" and "download step" in row["error"], row
    assert "NameResolutionFailure" in row["error"]
    assert lab.read_host("web01").get("virtio_runs", {}) == {}
    assert fake.count("RebootInstances") == 0


def test_a_bad_package_url_or_checksum_is_refused_before_any_api_call(ecs_lab, tmp_path):
    described, sha = package_fleet(tmp_path, "web01")
    lab, fake = ecs_lab(described)
    run = rollout(lab, fake, tmp_path, virtio_snapshot_provider="none", virtio_source="package",
                  virtio_package_url="ftp://mirror.example/virtio.zip", virtio_package_checksum=sha)
    assert run.returncode != 0
    assert "virtio_package_url: expected an http or https URL" in run.output
    assert fake.calls == []
    run = rollout(lab, fake, tmp_path, virtio_snapshot_provider="none", virtio_source="package",
                  virtio_package_url=URL, virtio_package_checksum="md5:abc")
    assert run.returncode != 0 and "virtio_package_checksum: expected a SHA-256 digest" in run.output
    assert fake.calls == []
    run = rollout(lab, fake, tmp_path, virtio_snapshot_provider="none", virtio_source="package", virtio_package_url=URL)
    assert run.returncode != 0 and "virtio_package_url needs virtio_package_checksum" in run.output
    assert "s3cr3t" not in run.output
    assert fake.calls == []


def test_check_mode_previews_the_package_install_without_any_write(ecs_lab, tmp_path):
    described, sha = package_fleet(tmp_path, "web01")
    lab, fake = ecs_lab(described)
    run = rollout(lab, fake, tmp_path, check=True, virtio_snapshot_provider="none", virtio_source="package",
                  virtio_package_url=URL, virtio_package_checksum=sha)
    assert run.returncode == 0, run.output
    row = run.rows("virtio_rollout_preview")["web01"]
    assert row["status"] == "would_update" and "install" in row["steps"], row
    assert [a for a, _p in fake.calls if a in WRITES] == []
    assert not any("WINFLEET-VIRTIO-PACKAGE" in content(p) for a, p in fake.calls if a == "RunCommand")
    assert lab.read_host("web01").get("virtio_runs", {}) == {}
