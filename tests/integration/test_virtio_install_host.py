"""winfleet.updates.virtio_install against simulated hosts, one ad hoc task each: what the host
reports per INF, a worker that never started, the agent's signature, a signed script URL."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import BIN_DIR, REPO_ROOT
from tests.simlab.state import Lab

OLD = "62.77.104.58011"


def guest(**extra: Any) -> dict[str, Any]:
    return {"drivers": {"viostor.sys": OLD, "netkvm.sys": OLD}, **extra}


def install(lab: Lab, host: str, *extra_args: str, **args: Any) -> tuple[dict[str, Any], str]:
    """Run the module as an ad hoc task; return its result and everything printed."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"), "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
           "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_NOCOLOR": "1"}
    completed = subprocess.run(
        [str(BIN_DIR / "ansible"), "-i", str(lab.root / "inventory.yml"), host, "-m",
         "winfleet.updates.virtio_install", "-a", json.dumps({"poll_interval": 0.05, **args}), *extra_args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=180, check=False,
    )
    output = completed.stdout + completed.stderr
    document = json.loads(completed.stdout[completed.stdout.index("{"):])
    (play,) = document["plays"]
    (task,) = play["tasks"]
    return task["hosts"][host], output


def _package(tmp_path: Path) -> Path:
    archive = tmp_path / "virtio.zip"
    with zipfile.ZipFile(archive, "w") as package:
        for folder in ("win10", "Win8"):
            for name in ("netkvm", "viostor"):
                package.writestr(f"{folder}/amd64/{name}.inf", "[Version]\n")
                package.writestr(f"{folder}/amd64/{name}.sys", b"\0")
    return archive


@pytest.mark.parametrize(
    ("os_version", "command"),
    [("10.0.17763", "pnputil.exe /add-driver {inf} /install"), ("6.3.9600", "pnputil.exe -i -a {inf}")],
    ids=["server_2019_add_driver", "server_2012_r2_dash_i_dash_a"],
)
def test_a_package_is_installed_one_inf_at_a_time_and_259_is_not_a_failure(make_lab, tmp_path, os_version, command):
    lab = make_lab({"hosts": {"a": guest(os_version=os_version, update={"inf_exit_codes": {"viostor.inf": 259}})}})
    result, output = install(lab, "a", source="package", package_src=str(_package(tmp_path)))
    assert not result.get("failed"), output
    assert result["reboot_required"] is True
    by_name = {inf["inf"].rsplit("\\", 1)[-1]: inf for inf in result["infs"]}
    assert sorted(by_name) == ["netkvm.inf", "viostor.inf"]
    assert (by_name["netkvm.inf"]["exit_code"], by_name["netkvm.inf"]["outcome"]) == (0, "installed")
    assert (by_name["viostor.inf"]["exit_code"], by_name["viostor.inf"]["outcome"]) == (259, "not_applicable")
    for inf in result["infs"]:
        assert inf["command"] == command.format(inf=inf["inf"])


def test_a_failing_inf_fails_the_install_and_is_named(make_lab, tmp_path):
    lab = make_lab({"hosts": {"a": guest(update={"inf_exit_codes": {"netkvm.inf": 5, "viostor.inf": 3010}})}})
    result, output = install(lab, "a", source="package", package_src=str(_package(tmp_path)))
    assert result["failed"], output
    assert result["msg"].startswith("pnputil failed for ") and "netkvm.inf (exit code 5)" in result["msg"]
    assert "viostor.inf" not in result["msg"].split(";")[0]
    assert [inf["outcome"] for inf in result["infs"]] == ["failed", "reboot_required"]


def test_a_worker_that_never_started_is_reported_as_such(make_lab):
    lab = make_lab({"hosts": {"a": guest(faults={"worker_never_starts": True})}})
    result, output = install(lab, "a", source="script", script_url="https://example.com/InstallVirtIo.ps1")
    assert result["failed"], output
    assert result["msg"].startswith("the install worker never started on the host"), result["msg"]
    assert "0x00041303" in result["msg"] and "may have restarted" not in result["msg"]
    assert result["changed"] is False


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        ({"status": "NotSigned"}, "has no valid Authenticode signature (status NotSigned)"),
        ({"status": "Valid", "signer": "CN=Contoso Ltd, O=Contoso Ltd"}, "is signed by 'CN=Contoso Ltd, O=Contoso Ltd', not by Alibaba"),
    ],
    ids=["unsigned", "other_signer"],
)
def test_the_cloud_assistant_agent_must_be_signed_by_alibaba(make_lab, signature, message):
    lab = make_lab({"hosts": {"a": guest(cloud_assistant_signature=signature)}})
    result, output = install(lab, "a", source="cloud_assistant")
    assert result["failed"] and message in result["msg"], output
    assert "virtio_runs" not in lab.read_host("a"), "nothing was started"


def test_a_signed_script_url_never_appears_in_results_or_logs(make_lab):
    lab = make_lab({"hosts": {"a": guest(internet=False)}})
    url = "https://bucket.oss-cn-hangzhou.aliyuncs.com/InstallVirtIo.ps1?Expires=1&Signature=TOPSECRET"
    result, output = install(lab, "a", "-vvv", source="script", script_url=url)
    assert result["failed"] and "cannot download the script from https://bucket.oss-cn-hangzhou.aliyuncs.com/..." in result["msg"]
    assert "TOPSECRET" not in output


@pytest.mark.parametrize(
    ("folder", "message"),
    [
        ({"junction": True}, "is a reparse point (junction or symbolic link)"),
        ({"owner": "S-1-5-21-1004336348-1177238915-682003330-1001"},
         "is owned by S-1-5-21-1004336348-1177238915-682003330-1001, not by SYSTEM or Administrators"),
    ],
    ids=["junction", "created_by_a_user"],
)
def test_a_state_folder_someone_else_made_is_refused(make_lab, tmp_path, folder, message):
    lab = make_lab({"hosts": {"a": guest(winfleet_folder=folder)}})
    result, output = install(lab, "a", source="package", package_src=str(_package(tmp_path)))
    assert result["failed"] and "the state folder is not safe to run an install from as SYSTEM" in result["msg"], output
    assert message in result["msg"]
    assert "virtio_runs" not in lab.read_host("a")
