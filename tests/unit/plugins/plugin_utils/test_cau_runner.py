"""Following a CAU run through dropped connections, with a fake host and a fake clock.

Like ansible.windows' test_win_updates, host answers are replayed; a poll can raise
AnsibleConnectionFailure to stand for a restarting node or a coordinator outage.
"""

from __future__ import annotations

from typing import Any

import pytest
from ansible.errors import AnsibleConnectionFailure

from ansible_collections.winfleet.updates.plugins.module_utils._cau_plugins import parse_plugins
from ansible_collections.winfleet.updates.plugins.plugin_utils._action import HostModuleFailed
from ansible_collections.winfleet.updates.plugins.plugin_utils._host_poll import follow_run
from ansible_collections.winfleet.updates.plugins.plugin_utils._cau_runner import (
    RunRequest,
    configure_cluster_role,
    run_cluster,
    scan_cluster,
)
from tests.unit.plugins.plugin_utils.fake_clock import FakeClock

RUN_ID = "0b0e5f3e-0000-4000-8000-000000000001"
PLUGINS = parse_plugins(["Microsoft.WindowsUpdatePlugin"])
DROP = AnsibleConnectionFailure("host unreachable")


class FakeHost:
    """Answers operations from a script: a list of answers (or exceptions) per operation."""

    def __init__(self, **script: list[Any]) -> None:
        self.script = {op: list(answers) for op, answers in script.items()}
        self.calls: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        self.resets = 0

    def execute(self, operation: str, parameters: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((operation, parameters, options))
        answers = self.script[operation]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def reset(self) -> None:
        self.resets += 1


def running(node: str = "n1") -> dict[str, Any]:
    return {"run": {"state": "running", "status": "InProgress", "progress": {"node": node, "phase": "Installing"}}}


def finished(status: str = "Succeeded", *nodes: dict[str, Any], error: str | None = None) -> dict[str, Any]:
    return {"run": {"state": "finished", "status": status, "nodes": list(nodes), "error": error}}


def node(name: str, status: str = "Succeeded", result: str = "Succeeded") -> dict[str, Any]:
    return {"node": name, "status": status, "reboots": 1, "updates": [{"id": "g", "title": "KB", "result": result}]}


def run(host: FakeHost, clock: FakeClock, **request: Any) -> dict[str, Any]:
    defaults = {"cluster_name": "c", "plugin_set": PLUGINS, "run_options": {}, "nodes": ("n1", "n2"),
                "timeout": 100.0, "poll_interval": 5.0}
    return run_cluster(host.execute, host.reset, RunRequest(**{**defaults, **request}), run_id=RUN_ID,
                       clock=clock, sleep=clock.sleep)


def test_a_run_is_started_once_then_polled_through_drops_until_it_ends():
    host = FakeHost(start=[{"changed": True}],
                    poll=[running(), DROP, DROP, running("n2"), finished("Succeeded", node("n1"), node("n2"))])
    clock = FakeClock()
    result = run(host, clock)
    assert [call[0] for call in host.calls] == ["start"] + ["poll"] * 5
    assert host.calls[0][2] == {"run_id": RUN_ID}
    assert host.calls[1][1:] == ({"ClusterName": "c"}, {"run_id": RUN_ID})
    assert (result["status"], result["reconnects"], result["polls"], host.resets) == ("succeeded", 2, 3, 2)
    assert (result["updates_installed"], result["reboots"], result["changed"]) == (2, 2, True)
    assert "failed" not in result
    assert clock.now == 20.0  # four waits of one interval


def test_force_recovery_sends_the_recover_parameter_set_with_the_start():
    host = FakeHost(start=[{}], poll=[finished("Succeeded")])
    run(host, FakeClock(), force_recovery=True)
    assert host.calls[0][2]["recover_parameters"] == {"ClusterName": "c", "ForceRecovery": True, "Force": True}


def test_a_connection_lost_while_starting_is_resolved_by_asking_about_the_run_id():
    host = FakeHost(start=[DROP], poll=[finished("Succeeded", node("n1"), node("n2"))])
    result = run(host, FakeClock())
    assert (result["status"], host.resets) == ("succeeded", 1)


def test_a_run_an_earlier_controller_left_behind_is_attached_to_and_followed_to_its_end():
    left_behind = "0b0e5f3e-0000-4000-8000-0000000000aa"
    host = FakeHost(start=[{"changed": False, "run_id": left_behind, "attached": True}],
                    poll=[running("n2"), finished("Succeeded", node("n1"), node("n2"))])
    lines: list[str] = []
    result = run_cluster(host.execute, host.reset,
                         RunRequest(cluster_name="c", plugin_set=PLUGINS, run_options={}, nodes=("n1", "n2"),
                                    timeout=100.0, poll_interval=5.0),
                         run_id=RUN_ID, clock=FakeClock(), sleep=lambda seconds: None, progress=lines.append)
    assert [call[2] for call in host.calls[1:]] == [{"run_id": left_behind}] * 2  # its run, not a new one
    assert (result["run_id"], result["attached"], result["status"]) == (left_behind, True, "succeeded")
    assert [n["status"] for n in result["nodes"]] == ["succeeded", "succeeded"]
    assert lines[0] == (f"CAU c: attached to run {left_behind}, which an earlier run of this collection started and "
                        "left behind (its controller stopped); following it to its end")


def test_a_start_the_host_refuses_fails_with_its_message_and_nothing_is_polled():
    host = FakeHost(start=[{"failed": True, "msg": "plug-in X is not registered. Nothing was started."}], poll=[running()])
    with pytest.raises(HostModuleFailed, match="Nothing was started"):
        run(host, FakeClock())
    assert [call[0] for call in host.calls] == ["start"]


def test_failed_nodes_fail_the_run_and_name_each_node():
    host = FakeHost(start=[{}], poll=[finished("Failed", node("n1"), node("n2", "Failed", "Failed"),
                                               error="MaxFailedNodesExceeded")])
    result = run(host, FakeClock())
    assert result["failed"] is True and result["status"] == "failed"
    assert "ended with status Failed. MaxFailedNodesExceeded. failed node(s): n2" in result["msg"]
    assert [n["status"] for n in result["nodes"]] == ["succeeded", "failed"]


def test_a_run_the_worker_could_not_start_is_a_failure_with_its_error():
    host = FakeHost(start=[{}], poll=[{"run": {"state": "failed", "error": "cluster is locked"}}])
    result = run(host, FakeClock())
    assert result["status"] == "failed" and "cluster is locked" in result["msg"]
    assert [n["status"] for n in result["nodes"]] == ["not_updated", "not_updated"]


def test_a_run_outlasting_the_timeout_is_reported_as_left_running_with_the_last_progress():
    host = FakeHost(start=[{}], poll=[running("n2")])
    clock = FakeClock()
    result = run(host, clock, timeout=12.0)
    assert result["status"] == "timed_out" and result["failed"] is True
    assert "had not ended after 12 s" in result["msg"] and "It was left running" in result["msg"]
    assert "'node': 'n2'" in result["msg"]
    assert clock.now == 12.0  # the last wait is cut to the deadline
    assert [call[0] for call in host.calls].count("start") == 1  # never restarted, never cancelled


def test_a_host_unreachable_until_the_deadline_says_so():
    host = FakeHost(start=[{}], poll=[DROP])
    result = run(host, FakeClock(), timeout=10.0)
    assert result["status"] == "timed_out" and "host unreachable" in result["msg"]
    assert result["reconnects"] == 3 and result["polls"] == 0


def test_a_poll_the_host_module_fails_ends_the_loop_with_its_message():
    host = FakeHost(start=[{}], poll=[running(), {"failed": True, "msg": "Get-CauRun failed: access denied"}])
    result = run(host, FakeClock())
    assert result["status"] == "failed" and result["msg"] == "Get-CauRun failed: access denied"


def test_follow_run_propagates_errors_that_are_not_connection_failures():
    def poll() -> dict[str, Any]:
        raise ValueError("bug")

    with pytest.raises(ValueError):
        follow_run(poll, lambda: None, timeout=10, interval=1, clock=FakeClock(), sleep=lambda s: None)


def test_scan_returns_per_node_applicable_updates_and_the_command():
    host = FakeHost(scan=[{"nodes": [{"node": "n2", "updates": [{"id": "g", "title": "KB"}]}]}])
    result = scan_cluster(host.execute, "c", PLUGINS, ("n1", "n2"))
    assert host.calls == [("scan", {"ClusterName": "c", "CauPluginName": ["Microsoft.WindowsUpdatePlugin"]}, {})]
    assert (result["status"], result["updates_applicable"], result["changed"]) == ("scanned", 1, False)
    assert result["command"] == "Invoke-CauScan -ClusterName 'c' -CauPluginName 'Microsoft.WindowsUpdatePlugin'"


class WindowsRole:
    """A cluster's CAU clustered role as Windows shows it through Get-CauClusterRole.

    The shape is Microsoft's: Get-CauClusterRole example 1 (StartDate as text, switches as On,
    DaysOfWeek as the flags' text, WeeksOfMonth as a list) and Set-CauClusterRole example 2
    (WeeksInterval for -IntervalWeeks); Set changes only the properties it is given.
    """

    def __init__(self, properties: list[dict[str, Any]] | None = None) -> None:
        self.properties = properties
        self.calls: list[tuple[str, dict[str, Any], dict[str, Any]]] = []

    def execute(self, operation: str, parameters: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((operation, parameters, options))
        if operation == "cluster_role_read":
            return {"exists": bool(self.properties), "properties": list(self.properties or [])}
        assert operation == "cluster_role"
        if options["action"] == "removed":
            self.properties = None
        else:
            shown = {"IntervalWeeks": "WeeksInterval"}
            role = {p["name"]: p["value"] for p in self.properties or []}
            for name, value in parameters.items():
                if name in ("ClusterName", "Force"):
                    continue
                if name == "StartDate":
                    value = "1/6/2026 3:00:00 AM" if value == "2026-01-06T03:00:00" else value
                elif value is True:
                    value = "On"
                role[shown.get(name, name)] = value
            self.properties = [{"name": k, "value": v} for k, v in role.items()]
        return {"changed": True, "action": options["action"]}


SCHEDULE = {"days_of_week": ["Tuesday", "Saturday"], "interval_weeks": 2, "start_date": "2026-01-06T03:00:00"}
OPTIONS = {"max_failed_nodes": 1, "require_all_nodes_online": True, "post_update_script": "C:\\S\\post.ps1"}


def test_cluster_role_read_back_in_windows_names_is_not_reconfigured():
    host = WindowsRole()
    first = configure_cluster_role(host.execute, "c", PLUGINS, OPTIONS, SCHEDULE, state="present")
    assert (first["changed"], first["status"]) == (True, "added")
    assert [call[0] for call in host.calls] == ["cluster_role_read", "cluster_role"]
    assert {p["name"]: p["value"] for p in host.properties}["WeeksInterval"] == 2
    host.calls.clear()
    second = configure_cluster_role(host.execute, "c", PLUGINS, OPTIONS, SCHEDULE, state="present")
    assert (second["changed"], second["status"]) == (False, "none")
    assert [call[0] for call in host.calls] == ["cluster_role_read"]
    assert second["before"] == second["after"]


def test_the_documented_example_role_compares_by_meaning():
    """Get-CauClusterRole example 1, verbatim values: the same settings asked again change nothing."""
    host = WindowsRole([
        {"name": "ResourceGroupName", "value": "CAUCAUCldy8"},
        {"name": "Status", "value": "Online"},
        {"name": "StartDate", "value": "10/14/2011 3:00:00 AM"},
        {"name": "MaxFailedNodes", "value": 2},
        {"name": "MaxRetriesPerNode", "value": 2},
        {"name": "PostUpdateScript", "value": "G:\\verifyupdatesinstalled.ps1"},
        {"name": "RequireAllNodesOnline", "value": "On"},
        {"name": "DaysOfWeek", "value": "Tuesday, Saturday"},
        {"name": "WeeksOfMonth", "value": [2, 4]},
        {"name": "CauPluginName", "value": ["Microsoft.WindowsUpdatePlugin"]},
    ])
    options = {"max_failed_nodes": 2, "max_retries_per_node": 2, "require_all_nodes_online": True,
               "post_update_script": "G:\\VerifyUpdatesInstalled.ps1"}
    schedule = {"days_of_week": ["Saturday", "Tuesday"], "weeks_of_month": [4, 2], "start_date": "2011-10-14T03:00"}
    result = configure_cluster_role(host.execute, "c", PLUGINS, options, schedule, state="present")
    assert (result["changed"], result["status"]) == (False, "none"), result
    changed = configure_cluster_role(host.execute, "c", PLUGINS, {**options, "max_failed_nodes": 1}, schedule,
                                     state="present")
    assert (changed["changed"], changed["status"]) == (True, "updated")
    assert changed["before"]["MaxFailedNodes"] == 2 and changed["after"]["MaxFailedNodes"] == 1


def test_check_mode_reads_but_does_not_change_and_absent_removes():
    host = WindowsRole()
    preview = configure_cluster_role(host.execute, "c", PLUGINS, OPTIONS, SCHEDULE, state="present", check_mode=True)
    assert (preview["changed"], preview["status"], host.properties) == (True, "added", None)
    configure_cluster_role(host.execute, "c", PLUGINS, OPTIONS, SCHEDULE, state="present")
    removed = configure_cluster_role(host.execute, "c", PLUGINS, {}, None, state="absent")
    assert (removed["changed"], removed["status"], host.properties) == (True, "removed", None)
    assert removed["command"] == "Remove-CauClusterRole -ClusterName 'c' -Force"
    again = configure_cluster_role(host.execute, "c", PLUGINS, {}, None, state="absent")
    assert (again["changed"], again["status"]) == (False, "none")


def progressing(node_name: str, phase: str, succeeded: int) -> dict[str, Any]:
    nodes = [{"node": "n1", "succeeded": min(succeeded, 2), "failed": 0},
             {"node": "n2", "succeeded": max(0, succeeded - 2), "failed": 0}]
    return {"run": {"state": "running", "status": "InProgress",
                    "progress": {"node": node_name, "phase": phase, "nodes": nodes}}}


def test_progress_is_printed_when_node_phase_or_counts_change_and_otherwise_every_30_s():
    same = progressing("n1", "Installing KB1", 0)
    polls = [same, same, progressing("n1", "Installing KB2", 1), progressing("n1", "Installing KB2", 1)]
    polls += [progressing("n1", "Installing KB2", 1)] * 12  # 12 x 5 s: one more line after 30 s, and after 60 s
    polls += [progressing("n2", "Restarting", 2), finished("Succeeded", node("n1"), node("n2"))]
    host = FakeHost(start=[{}], poll=polls)
    clock = FakeClock()
    lines: list[str] = []
    run_cluster(host.execute, host.reset,
                RunRequest(cluster_name="hvcl01", plugin_set=PLUGINS, run_options={}, nodes=("n1", "n2"),
                           timeout=1000.0, poll_interval=5.0),
                run_id=RUN_ID, clock=clock, sleep=clock.sleep, progress=lines.append)
    assert lines == [
        "CAU hvcl01: node n1, Installing KB1; updates installed 0, failed 0; elapsed 0:00:00",
        "CAU hvcl01: node n1, Installing KB2; updates installed 1, failed 0; elapsed 0:00:10",
        "CAU hvcl01: node n1, Installing KB2; updates installed 1, failed 0; elapsed 0:00:40",
        "CAU hvcl01: node n1, Installing KB2; updates installed 1, failed 0; elapsed 0:01:10",
        "CAU hvcl01: node n2, Restarting; updates installed 2, failed 0; elapsed 0:01:20",
    ]


def test_second_hop_denied_is_said_with_what_to_set():
    from ansible_collections.winfleet.updates.plugins.plugin_utils._cau_runner import SecondHopDenied, check_second_hop

    host = FakeHost(preflight=[{"node": "hv02", "second_hop": "denied", "error": "Access is denied."}])
    with pytest.raises(SecondHopDenied) as caught:
        check_second_hop(host.execute, "hvcl01", ("hv01", "hv02"))
    assert host.calls == [("preflight", {"ClusterName": "hvcl01"}, {"nodes": ["hv01", "hv02"]})]
    text = str(caught.value)
    assert "cannot reach node hv02 with the credentials of this connection (Access is denied.)" in text
    assert "ansible_psrp_negotiate_delegate: true" in text and "ansible_psrp_auth: credssp" in text


def test_second_hop_ok_or_another_error_does_not_stop_the_task():
    from ansible_collections.winfleet.updates.plugins.plugin_utils._cau_runner import check_second_hop

    warnings: list[str] = []
    check_second_hop(FakeHost(preflight=[{"second_hop": "ok"}]).execute, "c", ("n1",), warnings.append)
    check_second_hop(FakeHost(preflight=[{"node": "n1", "second_hop": "error", "error": "RPC server unavailable"}]).execute,
                     "c", ("n1",), warnings.append)
    assert warnings == ["a test call to node n1 failed (RPC server unavailable); CAU will report on that node"]
    host = FakeHost()
    check_second_hop(host.execute, "c", ())
    assert host.calls == []
