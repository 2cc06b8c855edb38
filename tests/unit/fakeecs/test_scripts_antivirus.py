"""The fake ECS runs the antivirus script against the lab host's services, as the SCM would."""

from __future__ import annotations

import json

from ansible_collections.winfleet.updates.plugins.module_utils._ecs_antivirus_script import antivirus_script
from tests.fakeecs import scripts

LAB = {"time_scale": 0.01}


def host(os_version="10.0.17763", **antivirus):
    return {"os_version": os_version, "antivirus": [{"service": name, "running": True, **extra}
                                                    for name, extra in antivirus.items()]}


def result(answer):
    code, output = answer
    return code, json.loads(output[len(scripts.ANTIVIRUS_MARKER):])


def test_stop_stops_the_service_and_its_running_dependents_then_start_restarts_them():
    state = host(SAVService={}, SAVAdmin={"depends_on": ["SAVService"]})
    code, stopped = result(scripts.answer(state, antivirus_script(["SAVService", "Nope"], "stop"), LAB))
    assert code == 0 and stopped["done"] == ["SAVAdmin", "SAVService"] and stopped["missing"] == ["Nope"]
    assert not state["services"]["savservice"]["running"] and not state["services"]["savadmin"]["running"]
    code, started = result(scripts.answer(state, antivirus_script(stopped["done"], "start"), LAB))
    assert code == 0 and started["done"] == ["SAVAdmin", "SAVService"]
    assert state["services"]["savservice"]["running"] and state["services"]["savadmin"]["running"]


def test_a_stop_longer_than_the_wait_fails_the_script():
    state = host(SAVService={"stop_pending_s": 100_000})
    code, output = scripts.answer(state, antivirus_script(["SAVService"], "stop", wait_seconds=60), LAB)
    assert code == 1 and "WaitForStatus" in output


def test_the_script_runs_on_windows_server_2008_r2_powershell_2():
    state = host("6.1.7601", ekrn={})
    code, stopped = result(scripts.answer(state, antivirus_script(["ekrn"], "stop"), LAB))
    assert code == 0 and stopped["done"] == ["ekrn"]
    newer = antivirus_script(["ekrn"], "stop").replace("$done = @()", "$done = @() | ConvertTo-Json")
    assert scripts.answer(host("6.1.7601", ekrn={}), newer, LAB)[0] == 1
