# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet reports a change manager can read: one model, three renderings (for internal collection use only).

Every job of the collection (audit, rollout, CAU) ends with a per-host table and a summary.
This module renders that one model as JSON (for machines), CSV (for spreadsheets) and Markdown
(for people), so the three files always agree.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

__all__ = ["Report", "count_by", "flatten_row", "render_csv", "render_json", "render_markdown", "write_report"]


@dataclass
class Report:
    """A report: ``rows`` are dicts whose keys are ``columns`` (values may be nested dicts)."""

    name: str
    title: str
    columns: Sequence[str]
    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    generated_at: str
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"generated_at": self.generated_at, **self.extra, "summary": self.summary, "hosts": self.rows}


def count_by(rows: Iterable[Mapping[str, Any]], key: str, order: Sequence[str] = ()) -> dict[str, int]:
    """Count rows per value of ``key``; values in ``order`` come first and are present even at 0."""
    counts = Counter(str(row.get(key)) for row in rows)
    result = {value: counts.pop(value, 0) for value in order}
    result.update(sorted(counts.items()))
    return result


def flatten_row(row: Mapping[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    """Nested dicts become ``parent.child`` columns, lists become ``;``-joined text (for CSV and Markdown)."""
    flat: dict[str, Any] = {}
    for column in columns:
        value = row.get(column)
        if isinstance(value, Mapping):
            for key, item in value.items():
                flat[f"{column}.{key}"] = _cell(item)
        else:
            flat[column] = _cell(value)
    return flat


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return "; ".join(_cell(item) for item in value)
    return str(value)


def _flat_columns(report: Report) -> list[str]:
    """Column order of the flat renderings: a nested column's keys replace it where any row has them."""
    columns: list[str] = []
    for column in report.columns:
        nested: list[str] = []
        for row in report.rows:
            value = row.get(column)
            if isinstance(value, Mapping):
                nested.extend(f"{column}.{key}" for key in value if f"{column}.{key}" not in nested)
        columns.extend(nested or [column])
    return columns


def render_json(report: Report) -> str:
    return json.dumps(report.as_dict(), indent=2, sort_keys=False) + "\n"


def render_csv(report: Report) -> str:
    buffer = io.StringIO()
    # A row whose nested column is empty (an unreachable host) leaves the sub-columns blank.
    writer = csv.DictWriter(buffer, fieldnames=_flat_columns(report), lineterminator="\n", restval="", extrasaction="ignore")
    writer.writeheader()
    for row in report.rows:
        writer.writerow(flatten_row(row, report.columns))
    return buffer.getvalue()


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_summary_lines(summary: Mapping[str, Any], indent: str = "") -> list[str]:
    lines = []
    for key, value in summary.items():
        if isinstance(value, Mapping):
            lines.append(f"{indent}- **{key}**")
            lines.extend(_md_summary_lines(value, indent + "  "))
        else:
            lines.append(f"{indent}- {key}: {_md_escape(_cell(value))}")
    return lines


def render_markdown(report: Report) -> str:
    columns = _flat_columns(report)
    lines = [f"# {report.title}", "", f"Generated at {report.generated_at}.", ""]
    for key, value in report.extra.items():
        lines.append(f"- {key}: {_md_escape(_cell(value))}")
    lines += ["## Summary", "", *_md_summary_lines(report.summary), "", "## Hosts", ""]
    lines.append("| " + " | ".join(columns) + " |")
    lines.append("|" + "---|" * len(columns))
    for row in report.rows:
        flat = flatten_row(row, report.columns)
        lines.append("| " + " | ".join(_md_escape(flat.get(c, "")) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    """Write next to the target and rename, so a reader never sees half a report."""
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report(report: Report, dest: str | os.PathLike[str]) -> dict[str, str]:
    """Write ``<name>.json``, ``.csv`` and ``.md`` under ``dest``; return their paths."""
    dest_dir = Path(dest)
    dest_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for suffix, render in (("json", render_json), ("csv", render_csv), ("md", render_markdown)):
        path = dest_dir / f"{report.name}.{suffix}"
        _write_atomic(path, render(report))
        paths[suffix] = str(path)
    return paths
