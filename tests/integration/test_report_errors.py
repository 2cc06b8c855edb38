"""A report that cannot be written fails with a message naming the option and the directory."""

from __future__ import annotations

from tests.integration.conftest import run_playbook


def test_unwritable_report_directory_is_a_named_error(make_lab, tmp_path):
    lab = make_lab({"hosts": {"a": {"drivers": {"viostor.sys": "62.77.104.58017"}}}})
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    run = run_playbook("winfleet.updates.virtio_audit", lab.root / "inventory.yml", blocker / "reports")
    assert run.returncode != 0
    assert f"dest: cannot write the report files into '{blocker / 'reports'}'" in run.output.replace("\n        ", " ")
    assert "Traceback" not in run.output
