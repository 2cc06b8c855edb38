# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet reports a change manager can read: one model, four renderings (for internal collection use only).

Every job of the collection (audit, rollout, CAU) ends with a per-host table and a summary.
This module renders that one model as JSON (for machines, typed), CSV (for spreadsheets),
Markdown (for people) and one self-contained HTML page (for a browser, offline), so the files
always agree.

Values in a report come from hosts (a FileVersion string, a service name, an error text), so
every rendering is inert: a cell can never become a spreadsheet formula (OWASP "CSV Injection":
https://owasp.org/www-community/attacks/CSV_Injection), break the Markdown table, or run in the
HTML page (every value is escaped, https://docs.python.org/3/library/html.html#html.escape).

Several runs may write the same report (a run limited to some hosts, two runs at once): the files
are rewritten under an exclusive lock (``fcntl.flock``) and replaced atomically (``os.replace``),
and a ``merge`` callback decides which rows of the existing report to keep.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import html
import io
import json
import os
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence

__all__ = [
    "FORMATS",
    "Report",
    "count_by",
    "csv_safe",
    "flatten_row",
    "markdown_safe",
    "merge_rows",
    "read_report",
    "render_csv",
    "render_html",
    "render_json",
    "render_markdown",
    "report_lock",
    "write_report",
]

# Optional, not `X | None`: the alias is evaluated at import, and pylint (ansible-test) checks
# module_utils for Pythons older than 3.10.
MergeFunction = Callable[["Report", Optional[Mapping[str, Any]]], "Report"]  # noqa: UP045


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
    # The column whose value colours a row and filters the HTML table (None: no colours).
    status_column: str | None = "status"

    def as_dict(self) -> dict[str, Any]:
        return {"generated_at": self.generated_at, **self.extra, "summary": self.summary, "hosts": self.rows}


def count_by(rows: Iterable[Mapping[str, Any]], key: str, order: Sequence[str] = ()) -> dict[str, int]:
    """Count rows per value of ``key``; values in ``order`` come first and are present even at 0."""
    counts = Counter(str(row.get(key)) for row in rows)
    result = {value: counts.pop(value, 0) for value in order}
    result.update(sorted(counts.items()))
    return result


def merge_rows(
    old_rows: Sequence[Mapping[str, Any]],
    new_rows: Sequence[dict[str, Any]],
    key: str,
    replaces: Callable[[Mapping[str, Any]], bool] = lambda row: True,
) -> list[dict[str, Any]]:
    """The rows of an existing report updated with a new run's rows.

    A host the new run did not write keeps its old row (a run limited to some hosts loses none);
    a new row replaces the old one only when ``replaces(new_row)`` (a host the new run never reached
    keeps what an earlier run of the same rollout found). Old order first, new hosts appended.
    """
    new_by_key = {row.get(key): row for row in new_rows}
    merged: list[dict[str, Any]] = []
    seen = set()
    for old in old_rows:
        name = old.get(key)
        seen.add(name)
        new = new_by_key.get(name)
        merged.append(new if new is not None and replaces(new) else dict(old))
    merged.extend(row for row in new_rows if row.get(key) not in seen)
    return merged


# -- cells ---------------------------------------------------------------------------------------

def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return " ".join(_cell(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return "; ".join(_cell(item) for item in value)
    return str(value)


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


# A spreadsheet reads a cell that starts with one of these as a formula (or, for tab and carriage
# return, may shift it into one); OWASP's advice is to prefix such a cell with a single quote.
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def csv_safe(text: str) -> str:
    """A CSV cell a spreadsheet shows as text: formula triggers are neutralised with a leading quote.

    A plain negative number (``-5``, ``-0.5``) stays a number: it cannot be a formula.
    """
    if text.startswith(_FORMULA_TRIGGERS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


_MD_SPECIAL = {"\\": "\\\\", "|": "\\|", "<": "&lt;", ">": "&gt;", "&": "&amp;", "`": "\\`"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def markdown_safe(text: str) -> str:
    """A Markdown table cell that stays one cell of one row, and shows no HTML a host sent.

    ``|`` is escaped, line breaks become ``<br>`` (GitHub-flavoured Markdown renders it in a table
    cell: https://github.github.com/gfm/#tables-extension-), ``<``, ``>`` and ``&`` become entities,
    and other control characters (a terminal escape sequence) are shown as ``\\xNN``.
    """
    escaped = "".join(_MD_SPECIAL.get(char, char) for char in text)
    escaped = escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", escaped)


# -- renderings ----------------------------------------------------------------------------------

def render_json(report: Report) -> str:
    return json.dumps(report.as_dict(), indent=2, sort_keys=False) + "\n"


def render_csv(report: Report) -> str:
    buffer = io.StringIO()
    # A row whose nested column is empty (an unreachable host) leaves the sub-columns blank. Lines
    # end in CRLF (RFC 4180), so a cell holding a bare carriage return or line feed is quoted.
    writer = csv.DictWriter(buffer, fieldnames=_flat_columns(report), lineterminator="\r\n", restval="",
                            extrasaction="ignore")
    writer.writerow({column: csv_safe(column) for column in writer.fieldnames})
    for row in report.rows:
        writer.writerow({key: csv_safe(value) for key, value in flatten_row(row, report.columns).items()})
    return buffer.getvalue()


def _md_summary_lines(summary: Mapping[str, Any], indent: str = "") -> list[str]:
    lines = []
    for key, value in summary.items():
        if isinstance(value, Mapping):
            lines.append(f"{indent}- **{markdown_safe(str(key))}**")
            lines.extend(_md_summary_lines(value, indent + "  "))
        else:
            lines.append(f"{indent}- {markdown_safe(str(key))}: {markdown_safe(_cell(value))}")
    return lines


def render_markdown(report: Report) -> str:
    columns = _flat_columns(report)
    lines = [f"# {report.title}", "", f"Generated at {report.generated_at}.", ""]
    lines.extend(_md_summary_lines(report.extra))
    lines += ["", "## Summary", "", *_md_summary_lines(report.summary), "", "## Hosts", ""]
    lines.append("| " + " | ".join(markdown_safe(c) for c in columns) + " |")
    lines.append("|" + "---|" * len(columns))
    for row in report.rows:
        flat = flatten_row(row, report.columns)
        lines.append("| " + " | ".join(markdown_safe(flat.get(c, "")) for c in columns) + " |")
    return "\n".join(lines) + "\n"


_HTML_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5rem;color:#1b1f23}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.5rem}
table{border-collapse:collapse;font-size:.85rem}th,td{border:1px solid #d0d7de;padding:.25rem .5rem;
text-align:left;vertical-align:top}th{background:#f6f8fa}
dl.params{display:grid;grid-template-columns:max-content auto;gap:.15rem 1rem}dl.params dt{font-weight:600}
dl.params dd{margin:0}
.counts button{margin:0 .4rem .4rem 0;padding:.3rem .6rem;border:1px solid #8c959f;border-radius:1rem;
background:#fff;cursor:pointer}.counts button[aria-pressed=true]{background:#0969da;color:#fff}
tr.s-updated td,tr.s-compliant td,tr.s-ok td,tr.s-succeeded td{background:#dafbe1}
tr.s-would_update td,tr.s-update_needed td,tr.s-scanned td{background:#ddf4ff}
tr.s-failed td,tr.s-unreachable td,tr.s-timed_out td{background:#ffebe9}
tr.s-not_attempted td,tr.s-not_run td,tr.s-busy td{background:#f6f8fa;color:#57606a}
tr.s-unsupported td,tr.s-not_virtio td{background:#fff8c5}
"""

# Shows only the rows of the pressed status button; "all" shows every row. No network, no library.
_HTML_SCRIPT = """
(function () {
  var buttons = document.querySelectorAll('.counts button');
  var rows = document.querySelectorAll('#hosts tbody tr');
  function show(status) {
    buttons.forEach(function (b) { b.setAttribute('aria-pressed', String(b.dataset.status === status)); });
    var shown = 0;
    rows.forEach(function (r) {
      var visible = status === 'all' || r.dataset.status === status;
      r.hidden = !visible;
      if (visible) { shown += 1; }
    });
    document.getElementById('shown').textContent = String(shown);
  }
  buttons.forEach(function (b) { b.addEventListener('click', function () { show(b.dataset.status); }); });
  show('all');
})();
"""


def _status_class(status: str) -> str:
    return "s-" + re.sub(r"[^a-z0-9_]", "_", status.lower())


def _describe(value: Any) -> str:
    """A value for a person: a mapping as ``key: value`` pairs, a list ``;``-joined."""
    if isinstance(value, Mapping):
        return ", ".join(f"{key}: {_describe(item)}" for key, item in value.items())
    if isinstance(value, (list, tuple)) and any(isinstance(item, Mapping) for item in value):
        return "; ".join(_describe(item) for item in value)
    return _cell(value)


def _html_params(params: Mapping[str, Any], element_id: str) -> str:
    items = "".join(
        f"<dt>{html.escape(str(key))}</dt><dd>{html.escape(_describe(value))}</dd>" for key, value in params.items()
    )
    return f'<dl class="params" id="{element_id}">{items}</dl>'


def render_html(report: Report) -> str:
    """One self-contained page: summary counts by status (buttons that filter), parameters, hosts.

    Inline CSS and script only (no CDN, readable offline); every value is escaped.
    """
    columns = _flat_columns(report)
    statuses = count_by(report.rows, report.status_column) if report.status_column else {}
    if report.status_column and isinstance(report.summary.get("by_status"), Mapping):
        statuses = {str(k): int(v) for k, v in report.summary["by_status"].items()}
    buttons = [f'<button type="button" data-status="all" aria-pressed="true">all <span class="count">'
               f"{len(report.rows)}</span></button>"]
    buttons += [
        f'<button type="button" class="{_status_class(status)}" data-status="{html.escape(status)}" '
        f'aria-pressed="false">{html.escape(status)} <span class="count">{count}</span></button>'
        for status, count in statuses.items()
    ]
    head = "".join(f"<th>{html.escape(column)}</th>" for column in columns)
    body = []
    for row in report.rows:
        flat = flatten_row(row, report.columns)
        status = str(row.get(report.status_column, "")) if report.status_column else ""
        cells = "".join(f"<td>{html.escape(flat.get(column, ''))}</td>" for column in columns)
        body.append(f'<tr class="{_status_class(status)}" data-status="{html.escape(status)}">{cells}</tr>')
    summary = {key: value for key, value in report.summary.items() if key != "by_status"}
    title = html.escape(report.title)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # No network access at all: the page is a record, nothing in it loads or calls anything.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
        f"<title>{title}</title><style>{_HTML_STYLE}</style></head><body>\n"
        f"<h1>{title}</h1><p>Generated at <time>{html.escape(report.generated_at)}</time>.</p>\n"
        f'<h2>Summary</h2><div class="counts" id="counts">{"".join(buttons)}</div>\n'
        f"{_html_params(summary, 'summary')}\n"
        f"<h2>Parameters</h2>{_html_params(report.extra, 'parameters')}\n"
        f'<h2>Hosts (<span id="shown">{len(report.rows)}</span> shown)</h2>\n'
        f'<table id="hosts"><thead><tr>{head}</tr></thead><tbody>\n' + "\n".join(body) + "\n</tbody></table>\n"
        f"<script>{_HTML_SCRIPT}</script>\n</body></html>\n"
    )


FORMATS: dict[str, Callable[[Report], str]] = {
    "json": render_json,
    "csv": render_csv,
    "md": render_markdown,
    "html": render_html,
}


# -- files ---------------------------------------------------------------------------------------

def _write_beside(path: Path, text: str) -> str:
    """Write ``text`` to a new temporary file beside ``path``; its name. An OSError names ``path``.

    ``write()`` failing for lack of space (ENOSPC) carries no file name; the message must say which
    report could not be written.
    """
    try:
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError as err:
        err.filename = err.filename or str(path)
        raise
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.chmod(tmp, 0o644)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError) and not err.filename:
            err.filename = str(path)
        raise
    return tmp


def _write_all(texts: Mapping[Path, str]) -> None:
    """Write every file beside its target, then rename each over it, so a reader never sees half a report.

    All are written before any is renamed: a write that fails (a full or read-only file system)
    replaces none of them, so the files on disk still agree with each other.
    """
    written: list[tuple[str, Path]] = []
    try:
        for path, text in texts.items():
            written.append((_write_beside(path, text), path))
        for tmp, path in written:
            try:
                os.replace(tmp, path)
            except OSError as err:
                err.filename = str(path)
                raise
    except BaseException:
        for tmp, _path in written:
            Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def report_lock(dest_dir: Path, name: str, timeout: float = 120.0) -> Iterator[None]:
    """Hold the report's lock file (``.<name>.lock``) exclusively: a second writer waits for it.

    ``flock`` locks are released by the kernel when their holder dies, so a killed run never
    leaves a stale lock behind (https://man7.org/linux/man-pages/man2/flock.2.html).
    """
    lock_path = dest_dir / f".{name}.lock"
    with open(lock_path, "a", encoding="utf-8") as lock:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TimeoutError(
                        f"another run has held the lock {lock_path} for {timeout:.0f} s while writing the same report"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def read_report(dest: str | os.PathLike[str], name: str) -> dict[str, Any] | None:
    """The existing JSON report ``<name>.json`` under ``dest``; None when missing or unreadable."""
    try:
        data = json.loads((Path(dest) / f"{name}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_report(
    report: Report, dest: str | os.PathLike[str], merge: MergeFunction | None = None
) -> tuple[Report, dict[str, str]]:
    """Write ``<name>.json``, ``.csv``, ``.md`` and ``.html`` under ``dest``.

    Under the report's lock: read the existing JSON report, let ``merge`` fold it into ``report``
    (when given), then replace every file atomically. Returns the report written and the paths.
    """
    dest_dir = Path(dest)
    dest_dir.mkdir(parents=True, exist_ok=True)
    with report_lock(dest_dir, report.name):
        if merge is not None:
            report = merge(report, read_report(dest_dir, report.name))
        texts = {dest_dir / f"{report.name}.{suffix}": render(report) for suffix, render in FORMATS.items()}
        _write_all(texts)
        paths = {suffix: str(dest_dir / f"{report.name}.{suffix}") for suffix in FORMATS}
    return report, paths
