"""The report model and its three renderings agree."""

from __future__ import annotations

import csv
import io
import json

from ansible_collections.winfleet.updates.plugins.module_utils._report import (
    Report, count_by, render_csv, render_json, render_markdown, write_report,
)
from ansible_collections.winfleet.updates.plugins.module_utils._virtio_report import audit_row, audit_summary


def _report():
    rows = [
        audit_row("a", {"is_virtio_guest": True, "virtio_build": 58011, "file_version": "62.77.104.58011",
                        "os_version": "10.0.17763", "update_supported": True, "update_needed": True,
                        "capabilities": {"online_resize": True, "serial_query": False}}),
        audit_row("b|c", {"unreachable": True, "msg": "timed out"}),
        audit_row("d", {"failed": True, "msg": "viostor.sys.file_version: cannot read"}),
        audit_row("e", None),
    ]
    return Report("virtio_audit", "virtio driver audit", ["host", "status", "state", "capabilities", "error"],
                  rows, audit_summary(rows), "2026-01-01T00:00:00+00:00")


def test_rows_say_something_for_every_host():
    rows = _report().rows
    assert [(r["host"], r["status"], r["state"]) for r in rows] == [
        ("a", "ok", "update_needed"), ("b|c", "unreachable", "unknown"), ("d", "failed", "unknown"), ("e", "failed", "unknown")]
    assert "not probed" in rows[3]["error"]


def test_summary_counts_every_status_even_at_zero():
    summary = _report().summary
    assert summary["by_status"] == {"ok": 1, "unreachable": 1, "failed": 2}
    assert summary["by_state"]["compliant"] == 0
    assert summary["capability_allowed"] == {"online_resize": 1, "serial_query": 0}


def test_count_by_puts_known_values_first():
    assert count_by([{"s": "x"}, {"s": "b"}], "s", ["a", "b"]) == {"a": 0, "b": 1, "x": 1}


def test_json_csv_and_markdown_agree():
    report = _report()
    data = json.loads(render_json(report))
    table = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert [r["host"] for r in data["hosts"]] == [r["host"] for r in table]
    assert table[0]["capabilities.online_resize"] == "yes"
    assert table[1]["capabilities.online_resize"] == ""
    markdown = render_markdown(report)
    assert "| b\\|c | unreachable |" in markdown
    assert "capabilities.serial_query" in markdown.splitlines()[markdown.splitlines().index("## Hosts") + 2]


def test_write_report_writes_three_files(tmp_path):
    paths = write_report(_report(), tmp_path / "new")
    assert sorted(paths) == ["csv", "json", "md"]
    assert json.loads((tmp_path / "new" / "virtio_audit.json").read_text())["summary"]["total"] == 4
    assert not [p for p in (tmp_path / "new").iterdir() if p.name.startswith(".")]
