"""Order of the CAU calls in plugins/modules/cau_run.ps1 (no PowerShell runs these tests).

The lab's cau_run handler mirrors the module's order, so an order bug in the .ps1 could hide
behind it; these read the script itself.
"""

from __future__ import annotations

from pathlib import Path

SCRIPT = (Path(__file__).resolve().parents[2] / "plugins" / "modules" / "cau_run.ps1").read_text(encoding="utf-8")


def _start_block() -> str:
    start = SCRIPT.index("if ($operation -eq 'start') {")
    return SCRIPT[start:SCRIPT.index("if ($operation -eq 'poll') {")]


def test_force_recovery_runs_before_the_in_progress_refusal():
    """A stuck run shows in Get-CauRun as in progress: refusing first made force_recovery useless."""
    block = _start_block()
    assert "Invoke-CauRun @recover" in block
    assert block.index("Invoke-CauRun @recover") < block.index("Test-CauRunInProgress -Run $current")


def test_force_self_update_is_checked_against_the_installed_cmdlet():
    """Windows Server 2012 R2's Invoke-CauRun has no -ForceSelfUpdate: say so instead of a binding error."""
    block = _start_block()
    assert "(Get-Command -Name Invoke-CauRun).Parameters.ContainsKey('ForceSelfUpdate')" in block
    assert block.index("ContainsKey('ForceSelfUpdate')") < block.index("Start-DetachedWorker")


def test_this_runs_report_is_found_without_an_undocumented_property():
    """Get-CauReport documents -StartDate, not the properties of a report: no RunId comparison."""
    poll = SCRIPT[SCRIPT.index("if ($operation -eq 'poll') {"):]
    assert "Get-ReportSince" in poll
    assert "previous_run_id" not in SCRIPT.split("$worker = @'")[0]
    assert "Name @('RunId')" not in poll.split("Test-CauRunInProgress -Run $current")[1]
