"""A report that cannot be written (full or read-only file system, no permission) says so.

The failures are made by the operating system call raising the OSError it raises in that case
(``write()`` -> ENOSPC, ``mkstemp()`` -> EROFS / EACCES), since root ignores permissions and a
test cannot fill or remount a file system.
"""

from __future__ import annotations

import errno
import io
import os

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils import _report
from ansible_collections.winfleet.updates.plugins.module_utils._report import Report, write_report
from ansible_collections.winfleet.updates.plugins.module_utils._report_errors import report_write_error


def _rollout_report(rows):
    return Report("virtio_rollout", "t", ["host", "status"], rows, {}, "2026-01-01T00:00:00+00:00")


@pytest.mark.parametrize(
    ("code", "strerror", "advice"),
    [
        (errno.ENOSPC, "No space left on device", "the file system is full: free space on it"),
        (errno.EROFS, "Read-only file system", "the file system is mounted read-only"),
        (errno.EACCES, "Permission denied", "the controller user may not write there"),
        (errno.EDQUOT, "Disk quota exceeded", "the disk quota of the controller user is used up"),
        (errno.ENOTDIR, "Not a directory", "a part of the path is a file, not a directory"),
        (errno.EIO, "Input/output error", "give a directory the controller user can create and write"),
    ],
    ids=["ENOSPC", "EROFS", "EACCES", "EDQUOT", "ENOTDIR", "other"],
)
def test_the_message_names_the_file_the_errno_text_and_what_to_do(code, strerror, advice):
    err = OSError(code, strerror, "/srv/reports/virtio_rollout.csv")
    message = report_write_error("/srv/reports", err)
    assert message.startswith(
        f"cannot write the report files into '/srv/reports': /srv/reports/virtio_rollout.csv: {strerror} "
        f"({errno.errorcode[code]}); {advice}"
    ), message
    assert "not this run's outcome" in message and "interrupted" in message
    assert "controller was stopped or lost" not in message


class _FullDisk:
    """``os.fdopen`` whose streams fail to write once ``room`` files were written (ENOSPC)."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.real = os.fdopen

    def __call__(self, handle, *args, **kwargs):
        stream = self.real(handle, *args, **kwargs)
        if self.room > 0:
            self.room -= 1
            return stream
        stream.close()
        failing = io.StringIO()

        def write(text):
            raise OSError(errno.ENOSPC, "No space left on device")

        failing.write = write
        return failing


def test_a_full_disk_replaces_no_report_file_and_names_the_file_it_could_not_write(tmp_path, monkeypatch):
    write_report(_rollout_report([{"host": "a", "status": "failed"}]), tmp_path)
    before = {path.name: path.read_text(encoding="utf-8") for path in tmp_path.iterdir()}
    monkeypatch.setattr(_report.os, "fdopen", _FullDisk(room=1))  # the JSON fits, the CSV does not
    with pytest.raises(OSError) as caught:
        write_report(_rollout_report([{"host": "a", "status": "updated"}]), tmp_path)
    assert caught.value.errno == errno.ENOSPC
    assert caught.value.filename == str(tmp_path / "virtio_rollout.csv")
    after = {path.name: path.read_text(encoding="utf-8") for path in tmp_path.iterdir()}
    assert after == before, "the files still agree with each other: none was replaced, no temporary file left"


def test_a_read_only_file_system_names_the_report_file(tmp_path, monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(_report.tempfile, "mkstemp", read_only)
    with pytest.raises(OSError) as caught:
        write_report(_rollout_report([]), tmp_path)
    assert (caught.value.errno, caught.value.filename) == (errno.EROFS, str(tmp_path / "virtio_rollout.json"))
    assert "/virtio_rollout.json: Read-only file system (EROFS); the file system is mounted read-only" in (
        report_write_error(tmp_path, caught.value))
