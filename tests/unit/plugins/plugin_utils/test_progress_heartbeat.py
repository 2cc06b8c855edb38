"""The heartbeat thread of a wait no loop of ours polls (the ECS audit's batches)."""

from __future__ import annotations

import threading

from ansible_collections.winfleet.updates.plugins.module_utils._progress import ProgressLog
from ansible_collections.winfleet.updates.plugins.plugin_utils import _progress
from ansible_collections.winfleet.updates.plugins.plugin_utils._progress import heartbeat
from tests.unit.plugins.plugin_utils.fake_clock import FakeClock


def test_the_heartbeat_repeats_the_last_line_every_30_s_while_the_block_runs_and_stops_with_it():
    clock = FakeClock()
    lines: list[str] = []
    log = ProgressLog("ECS audit", lines.append, clock)
    log.show("0 of 9 hosts probed")
    ticks: list[float] = []
    done = threading.Event()

    def wait(period: float) -> bool:
        """A fake Event.wait: each tick is one simulated second; the wait 'ends' after 95 of them."""
        clock.sleep(period)
        ticks.append(clock.now)
        if len(ticks) > 95:
            done.set()
        return done.is_set()

    with heartbeat(log, period=1.0, wait=wait):
        assert done.wait(timeout=10), "the heartbeat thread did not tick"
    assert len(ticks) == 96  # the thread stopped when the wait ended
    assert lines[0] == "ECS audit: 0 of 9 hosts probed; elapsed 0:00:00"
    # a heartbeat at 30, 60 and 90 s, never more often
    assert lines[1:] == [f"ECS audit: 0 of 9 hosts probed; elapsed 0:0{m}:{s}" for m, s in (("0", "30"), ("1", "00"), ("1", "30"))]


def test_progress_lines_go_to_stderr_so_a_json_stdout_callback_still_parses(monkeypatch):
    shown: list[tuple[str, dict]] = []
    monkeypatch.setattr(_progress._display, "display", lambda line, **kwargs: shown.append((line, kwargs)))
    _progress.show_progress("ECS audit: 1 of 2 hosts probed; elapsed 0:00:03")
    assert shown == [("ECS audit: 1 of 2 hosts probed; elapsed 0:00:03", {"stderr": True})]
