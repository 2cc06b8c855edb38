"""The rollout tells the truth when a batch ends without recording its hosts.

An include that cannot be loaded ends a play with max_fail_percentage without its rescue (the
linear strategy marks the host failed directly), which used to leave every host of the batch
"interrupted: ... the controller was stopped or lost". A report that cannot be written after the
batch said only that the directory could not be written, and the files on disk still claimed a
lost controller. Real ansible-playbook runs against the lab.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from tests.integration.test_virtio_rollout import guest, rollout, script  # noqa: F401  (fixture)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "snapshot_custom_tasks: cannot find {path} on the controller"),
        ('- name: x\n  ansible.builtin.debug:\n    msg: "{{ \n', "snapshot_custom_tasks: {path} is not a YAML list of tasks"),
    ],
    ids=["missing_task_file", "task_file_not_yaml"],
)
def test_a_custom_snapshot_task_file_that_cannot_be_included_is_the_hosts_error_not_an_interruption(
    make_lab, tmp_path, script, content, message  # noqa: F811
):
    lab = make_lab({"hosts": {"a": guest(), "b": guest()}})
    path = tmp_path / "my_snapshot.yml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    run = rollout(lab, tmp_path / "reports", script, virtio_snapshot_provider="custom",
                  snapshot_custom_tasks=str(path), virtio_serial=2)
    assert run.returncode != 0
    rows = run.rows("virtio_rollout")
    for host in ("a", "b"):
        assert rows[host]["status"] == "failed", rows[host]
        assert rows[host]["error"].startswith(message.format(path=path)), rows[host]["error"]
        assert "interrupted" not in rows[host]["error"]
    assert all("install_started" not in [e["event"] for e in lab.read_host(h)["events"]] for h in ("a", "b"))


def test_a_report_that_cannot_be_written_after_the_batch_says_so(make_lab, tmp_path, script):  # noqa: F811
    # 300 simulated seconds at 1/100: a 3 s install, time enough to take the directory away after
    # the batch's first write (hosts in progress) and before its last
    lab = make_lab({"hosts": {"a": guest(update={"duration_s": 300})}})
    reports = tmp_path / "reports"
    moved = tmp_path / "reports.before"
    swapped = threading.Event()

    def take_the_directory_away() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (reports / "virtio_rollout.json").exists():
            time.sleep(0.05)
        time.sleep(0.2)  # the in-progress write has replaced all its files
        reports.rename(moved)
        reports.write_text("a file where the report directory was\n", encoding="utf-8")
        swapped.set()

    worker = threading.Thread(target=take_the_directory_away, daemon=True)
    worker.start()
    run = rollout(lab, reports, script)
    worker.join(timeout=5)
    assert swapped.is_set(), run.output
    assert run.returncode != 0
    output = " ".join(run.output.split())
    assert f"dest: cannot write the report files into '{reports}': File exists (EEXIST); a part of the path is a file, " \
           "not a directory" in output, run.output
    assert "The report files in that directory are not this run's outcome" in output
    # the files written before the batch's work: their row says what to look for, not "controller lost"
    (row,) = json.loads((moved / "virtio_rollout.json").read_text(encoding="utf-8"))["hosts"]
    assert row["status"] == "failed" and row["error"].startswith("interrupted: the rollout stopped before it recorded"), row
    assert "this report could not be written afterwards ('cannot write the report files')" in row["error"]
    assert "booted" in [e["event"] for e in lab.read_host("a")["events"]]  # the host was updated all the same
