# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a report that cannot be written says (for internal collection use only).

The rollout writes its report before and after each batch; when the second write fails, the
files on disk still show that batch's hosts in progress, which the report reads as
"interrupted". So the failure must say itself what happened: the file, the operating system's
reason with its errno name (``ENOSPC``, ``EROFS``, ``EACCES``; https://man7.org/linux/man-pages/man3/errno.3.html),
what to do about it, and that the files already there are not this run's outcome.
"""

from __future__ import annotations

import errno
import os

__all__ = ["report_write_error"]

_FULL = (
    "the file system is full: free space on it (or set the report directory to another file system), then "
    "re-run: hosts already updated are found compliant and left alone"
)
_READ_ONLY = (
    "the file system is mounted read-only: set the report directory to a writable one (or remount it "
    "read-write), then re-run"
)
_DENIED = (
    "the controller user may not write there: give it write access to the directory, or set the report "
    "directory to one it can write, then re-run"
)
_NOT_A_DIRECTORY = "a part of the path is a file, not a directory: set the report directory to a directory"
_ADVICE: dict[int, str] = {
    errno.ENOSPC: _FULL,
    errno.EDQUOT: "the disk quota of the controller user is used up: free space or raise the quota, then re-run",
    errno.EROFS: _READ_ONLY,
    errno.EACCES: _DENIED,
    errno.EPERM: _DENIED,
    errno.ENOTDIR: _NOT_A_DIRECTORY,
    errno.EEXIST: _NOT_A_DIRECTORY,
    errno.EISDIR: "a directory stands where a report file goes: remove it or set another report directory",
}
_DEFAULT_ADVICE = "give a directory the controller user can create and write"


def report_write_error(dest: str | os.PathLike[str], err: OSError) -> str:
    """The message for a report write that failed with ``err`` (the field ``dest`` is added by the caller)."""
    name = errno.errorcode.get(err.errno or -1)
    reason = err.strerror or str(err)
    where = f"{err.filename}: " if err.filename and str(err.filename) != str(dest) else ""
    advice = _ADVICE.get(err.errno or -1, _DEFAULT_ADVICE)
    return (
        f"cannot write the report files into {str(dest)!r}: {where}{reason}{f' ({name})' if name else ''}; "
        f"{advice}. The report files in that directory are not this run's outcome: they are from the last write "
        "that succeeded (hosts it showed in progress read 'interrupted' there)"
    )
