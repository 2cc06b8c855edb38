"""Credentials and signatures in a script URL appear nowhere: not in the output at -vvv, not in the reports."""

from __future__ import annotations

import pytest

from tests.integration.conftest import run_playbook

SECRETS = ("hunter2", "s3cr3tSig", "Sig0nature")
URL = "https://deploy:hunter2@example.com/InstallVirtIo.ps1?sv=2024&sig=s3cr3tSig&Signature=Sig0nature"
GUEST = {"drivers": {"viostor.sys": "62.77.104.58011", "netkvm.sys": "62.77.104.58011"}}


@pytest.mark.parametrize(
    ("host", "check"),
    [
        pytest.param({**GUEST, "internet": False}, False, id="download-fails"),
        pytest.param(GUEST, True, id="check-mode"),
    ],
)
def test_a_script_urls_secrets_are_never_printed_or_reported(make_lab, tmp_path, host, check):
    lab = make_lab({"hosts": {"a": host}})
    run = run_playbook(
        "winfleet.updates.virtio_rollout",
        lab.root / "inventory.yml",
        tmp_path / "reports",
        {"virtio_source": "script", "virtio_script_url": URL, "virtio_poll_interval": 0.05, "virtio_reboot_timeout": 30},
        check=check,
        extra_args=["-vvv"],
    )
    assert (run.returncode != 0) is not check, run.output
    assert "https://REDACTED@example.com/InstallVirtIo.ps1?sv=REDACTED&sig=REDACTED&Signature=REDACTED" in run.output
    for secret in SECRETS:
        assert secret not in run.output
        for report in sorted((tmp_path / "reports").iterdir()):
            assert secret not in report.read_text(encoding="utf-8"), report.name
    assert len(list((tmp_path / "reports").iterdir())) >= 3
