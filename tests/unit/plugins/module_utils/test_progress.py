"""When a long wait prints its progress line, and the line's text (module_utils._progress)."""

from __future__ import annotations

import pytest
from ansible_collections.winfleet.updates.plugins.module_utils._progress import (
    PROGRESS_EVERY,
    BatchTally,
    ProgressLog,
    elapsed_text,
    printable,
    progress_due,
)
from tests.unit.plugins.plugin_utils.fake_clock import FakeClock


@pytest.mark.parametrize(
    ("state", "last_state", "now", "last_time", "due"),
    [
        ("installing", None, 0.0, None, True),  # the first line
        ("installing", "installing", 2.0, 0.0, False),  # nothing changed, 2 s later
        ("installing", "installing", 29.9, 0.0, False),  # never more often than every 30 s
        ("installing", "installing", 30.0, 0.0, True),  # the heartbeat
        ("reconnecting", "installing", 2.0, 0.0, True),  # a change is printed at once
        (("running", "pnputil ..."), ("running", "download"), 0.5, 0.0, True),
        (("running", "download"), ("running", "download"), 45.0, 30.0, False),  # 15 s after the last heartbeat
    ],
    ids=["first", "unchanged", "unchanged_29_9_s", "heartbeat_30_s", "changed", "changed_tuple", "since_last_line"],
)
def test_progress_due(state, last_state, now, last_time, due):
    assert progress_due(state, last_state, now, last_time) is due


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0:00:00"), (59.9, "0:00:59"), (65, "0:01:05"), (3725, "1:02:05"), (-3, "0:00:00")]
)
def test_elapsed_text(seconds, text):
    assert elapsed_text(seconds) == text


@pytest.mark.parametrize(
    ("text", "limit", "shown"),
    [
        ("pnputil exited with code 0", 160, "pnputil exited with code 0"),
        ("evil\x1b[2Jclear\r\nnext", 160, "evil [2Jclear next"),  # no terminal escape, one line
        ("x" * 50, 10, "xxxxxxx..."),
    ],
    ids=["plain", "control_characters", "cut"],
)
def test_printable(text, limit, shown):
    assert printable(text, limit) == shown


# (seconds after the start, phase seen by the poll) -> the lines printed
_POLLS = [
    (0, "download"),
    (2, "download"),  # unchanged: nothing
    (4, "pnputil"),  # changed: printed at once
    (20, "pnputil"),
    (33, "pnputil"),  # 29 s after the last line: still nothing
    (34, "pnputil"),  # 30 s: the heartbeat
    (40, None),  # nothing to show (the run ended): nothing
    (41, "reboot pending"),
]


def test_progress_log_prints_changes_at_once_and_a_heartbeat_every_30_s():
    clock = FakeClock()
    lines: list[str] = []
    log = ProgressLog("virtio_install web01", lines.append, clock)
    for at, phase in _POLLS:
        clock.now = at
        log.show(phase)
    assert lines == [
        "virtio_install web01: download; elapsed 0:00:00",
        "virtio_install web01: pnputil; elapsed 0:00:04",
        "virtio_install web01: pnputil; elapsed 0:00:34",
        "virtio_install web01: reboot pending; elapsed 0:00:41",
    ]


def test_a_state_decides_the_change_when_given_and_tick_repeats_the_last_phase():
    clock = FakeClock()
    lines: list[str] = []
    log = ProgressLog("ECS audit", lines.append, clock)
    assert log.tick() is False  # nothing shown yet: no heartbeat of nothing
    log.show("0 of 4 hosts probed", state=0)
    clock.now = 10
    assert log.show("0 of 4 hosts probed (again)", state=0) is False  # same state
    clock.now = PROGRESS_EVERY - 1
    assert log.tick() is False
    clock.now = PROGRESS_EVERY
    assert log.tick() is True
    assert lines == ["ECS audit: 0 of 4 hosts probed; elapsed 0:00:00", "ECS audit: 0 of 4 hosts probed (again); elapsed 0:00:30"]


@pytest.mark.parametrize(
    ("batches", "phase"),
    [
        ([], "0 of 5 hosts probed (0 of 2 batches)"),
        ([{"a": {"changed": False}, "b": {"failed": True}, "c": {"unreachable": True}}],
         "3 of 5 hosts probed (1 of 2 batches), 2 failed or unreachable"),
        ([{"a": {}, "b": {}, "c": {}}, {"d": {}, "e": {}}], "5 of 5 hosts probed (2 of 2 batches)"),
    ],
    ids=["none_yet", "one_batch_with_problems", "all"],
)
def test_batch_tally_counts_hosts_batches_and_problems(batches, phase):
    tally = BatchTally(hosts=5, batches=2)
    for results in batches:
        tally.add(results)
    assert tally.phase()[0] == phase


def test_each_finished_batch_is_a_change_so_it_is_printed_at_once():
    clock = FakeClock()
    lines: list[str] = []
    log = ProgressLog("ECS audit", lines.append, clock)
    tally = BatchTally(hosts=4, batches=2)
    log.show(*tally.phase())
    clock.now = 3
    log.show(*tally.add({"a": {}, "b": {}}))
    clock.now = 4
    log.show(*tally.add({"c": {}, "d": {"failed": True}}))
    assert lines == [
        "ECS audit: 0 of 4 hosts probed (0 of 2 batches); elapsed 0:00:00",
        "ECS audit: 2 of 4 hosts probed (1 of 2 batches); elapsed 0:00:03",
        "ECS audit: 4 of 4 hosts probed (2 of 2 batches), 1 failed or unreachable; elapsed 0:00:04",
    ]
