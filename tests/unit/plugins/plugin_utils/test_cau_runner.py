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

RUN_ID = "0b0e5f3e-0000-4000-8000-000000000001"
PLUGINS = parse_plugins(["Microsoft.WindowsUpdatePlugin"])
DROP = AnsibleConnectionFailure("host unreachable")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


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


@pytest.mark.parametrize(
    ("state", "answer", "command"),
    [
        ("present", {"changed": True, "action": "added", "before": {}, "after": {"MaxFailedNodes": "1"}}, "Add-CauClusterRole"),
        ("present", {"changed": False, "action": "none"}, "Set-CauClusterRole"),
        ("absent", {"changed": True, "action": "removed"}, "Remove-CauClusterRole -ClusterName 'c' -Force"),
    ],
)
def test_cluster_role_reports_what_the_host_did(state, answer, command):
    host = FakeHost(cluster_role=[answer])
    result = configure_cluster_role(host.execute, "c", PLUGINS, {"max_failed_nodes": 1}, None, state=state)
    operation, parameters, options = host.calls[0]
    assert (operation, options) == ("cluster_role", {"state": state})
    assert parameters == ({"ClusterName": "c"} if state == "absent" else {
        "ClusterName": "c", "CauPluginName": ["Microsoft.WindowsUpdatePlugin"], "MaxFailedNodes": 1, "Force": True})
    assert result["command"].startswith(command)
    assert (result["changed"], result["status"]) == (answer["changed"], answer["action"])
