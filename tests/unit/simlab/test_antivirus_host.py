"""antivirus_services on a simulated host: the record read under Windows PowerShell 5.1's rules,
dependent services, StopPending.

The lab keeps the record as the JSON text the module writes and reads it back by running the
module's own ConvertFrom-Json statement with 5.1's pipeline rules (tests/simlab/ps51.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.simlab import dispatch, ps51
from tests.simlab.fleet import normalise_host
from tests.simlab.modules import antivirus_services

FQCN = "winfleet.updates.antivirus_services"


def host(*services):
    return normalise_host("web01", {"antivirus": list(services)})


def call(host_state, check_mode=False, **args):
    return dispatch.run_module(host_state, {"_ansible_module_name": FQCN, "_ansible_check_mode": check_mode, **args},
                               {"round_trip_ms": 0, "time_scale": 0.01}, Path("/nonexistent"))


def running(state):
    return {s["name"]: s["running"] for s in state["services"].values()}


# --- Windows PowerShell 5.1's rules -----------------------------------------------------------

@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        # ConvertFrom-Json writes the array as one object; [string] of it joins with $OFS
        ('@(Get-Content -LiteralPath $p -Raw | ConvertFrom-Json | ForEach-Object { [string]$_ })', ["A B"]),
        # grouping collects that one object (the array), which the next pipeline enumerates
        ('@((Get-Content -LiteralPath $p -Raw | ConvertFrom-Json) | ForEach-Object { [string]$_ })', ["A", "B"]),
        ('return , @((Get-Content -LiteralPath $p -Raw | ConvertFrom-Json) | ForEach-Object { [string]$_ })',
         ["A", "B"]),
        ('(Get-Content -LiteralPath $p -Raw | ConvertFrom-Json) | Write-Output', ["A", "B"]),
    ],
)
def test_ps51_pipeline_rules(statement, expected):
    assert ps51.evaluate_statement(statement, {"get-content": '[\n    "A",\n    "B"\n]'}) == expected


def test_ps51_refuses_what_it_does_not_model():
    with pytest.raises(ps51.Ps51Error):
        ps51.evaluate_statement("Get-Content $p -Raw | ConvertFrom-Json | Sort-Object", {"get-content": "[]"})


# --- the module on a host -----------------------------------------------------------------------

def test_two_paused_services_are_both_restarted():
    state = host({"service": "SAVService"}, {"service": "ekrn"})
    stopped = call(state, services=["SAVService", "ekrn"], state="stopped")
    assert stopped["stopped"] == ["SAVService", "ekrn"] and stopped["changed"]
    assert json.loads(state["antivirus_record"]) == ["SAVService", "ekrn"]
    assert running(state) == {"WinDefend": True, "SAVService": False, "ekrn": False}

    resumed = call(state, services=["SAVService", "ekrn"], state="started")
    assert resumed["started"] == ["SAVService", "ekrn"], resumed
    assert running(state) == {"WinDefend": True, "SAVService": True, "ekrn": True}
    assert "antivirus_record" not in state


def test_running_dependents_are_stopped_recorded_and_restarted():
    state = host(
        {"service": "SAVService"},
        {"service": "SAVAdminService", "depends_on": ["SAVService"]},
        {"service": "swi_filter", "depends_on": ["SAVAdminService"], "running": False},
    )
    stopped = call(state, services=["SAVService"], state="stopped")
    assert stopped["stopped"] == ["SAVService", "SAVAdminService"], stopped
    assert stopped["services"][0]["dependents"] == ["SAVAdminService"]
    assert antivirus_services.recorded_names(state) == ["SAVService", "SAVAdminService"]

    resumed = call(state, services=["SAVService"], state="started")
    assert resumed["started"] == ["SAVService", "SAVAdminService"], resumed
    assert running(state) == {"WinDefend": True, "SAVService": True, "SAVAdminService": True, "swi_filter": False}


def test_a_service_stuck_in_stop_pending_fails_clearly_and_is_still_restarted():
    state = host({"service": "SAVService", "stop_pending_s": 500})
    failed = call(state, services=["SAVService"], state="stopped", stop_timeout=2)
    assert failed["failed"]
    assert failed["msg"].startswith("The antivirus service 'SAVService' is still StopPending after 2 seconds")
    assert antivirus_services.recorded_names(state) == ["SAVService"], "recorded, so the resume restarts it"

    resumed = call(state, state="started", stop_timeout=600)
    assert resumed["started"] == ["SAVService"] and not resumed.get("failed"), resumed
    assert running(state)["SAVService"] and "antivirus_record" not in state


def test_check_mode_changes_nothing():
    state = host({"service": "SAVService"}, {"service": "ekrn"})
    before = json.dumps(state, sort_keys=True)
    result = call(state, check_mode=True, services=["SAVService", "ekrn"], state="stopped")
    assert result["stopped"] == ["SAVService", "ekrn"] and result["changed"]
    assert json.dumps(state, sort_keys=True) == before
