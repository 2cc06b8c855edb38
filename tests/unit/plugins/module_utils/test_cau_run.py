"""CAU run options, schedules, cmdlet-parameter mapping and run outcomes (module_utils._cau_run)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils._cau_plugins import parse_plugins
from ansible_collections.winfleet.updates.plugins.module_utils._cau_run import (
    check_max_failed_nodes,
    cluster_role_parameters,
    default_max_failed_nodes,
    node_outcomes,
    normalise_run_options,
    normalise_schedule,
    recover_parameters,
    render_command,
    run_parameters,
    scan_outcomes,
    scan_parameters,
    summarise_nodes,
    validate_cluster_name,
)
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError

GUID = "f6ce46c1-971c-43f9-a2aa-783df125f003"
TWO_PLUGINS = parse_plugins(
    [
        {"name": "Microsoft.WindowsUpdatePlugin", "arguments": {"query": {"update_ids": [GUID]}}},
        {"name": "Microsoft.HotfixPlugin", "arguments": {"HotfixRootFolderPath": "\\\\fs01\\hotfix"}},
    ],
    run_plugins_serially=True,
    stop_on_plugin_failure=True,
    separate_reboots=True,
)
DEFAULT_PLUGIN = parse_plugins(["Microsoft.WindowsUpdatePlugin"])


@pytest.mark.parametrize("name", ["HVCL01", "hv-cl-01", "hvcl01.contoso.com", "a", "1cluster"])
def test_cluster_names_accepted(name):
    assert validate_cluster_name(name) == name


@pytest.mark.parametrize("name", ["", "-cl", "cl-", "cl 01", "cl;calc", "cl'01", "cl..x", None, 7, "a" * 64])
def test_cluster_names_refused_with_the_field(name):
    with pytest.raises(InputError) as err:
        validate_cluster_name(name, "hvcl01.cau_cluster_name")
    assert err.value.field == "hvcl01.cau_cluster_name"
    assert "network name" in err.value.message


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, {}),
        ({"max_failed_nodes": None, "reboot_timeout_minutes": None}, {}),
        ({"max_retries_per_node": 64, "max_failed_nodes": 0}, {"max_failed_nodes": 0, "max_retries_per_node": 64}),
        ({"max_retries_per_node": "3"}, {"max_retries_per_node": 3}),
        ({"require_all_nodes_online": "true", "enable_firewall_rules": False},
         {"require_all_nodes_online": True, "enable_firewall_rules": False}),
        ({"pre_update_script": "C:\\ClusterStorage\\Volume1\\pre.PS1"}, {"pre_update_script": "C:\\ClusterStorage\\Volume1\\pre.PS1"}),
        ({"post_update_script": "\\\\fs01\\scripts\\post.ps1"}, {"post_update_script": "\\\\fs01\\scripts\\post.ps1"}),
        ({"reboot_timeout_minutes": 30}, {"reboot_timeout_minutes": 30}),
    ],
)
def test_run_options_are_normalised(options, expected):
    assert normalise_run_options(options) == expected


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        ({"max_retries_per_node": 65}, "max_retries_per_node", "CAU's maximum is 64"),
        ({"max_retries_per_node": 0}, "max_retries_per_node", "from 1 to 64"),
        ({"max_failed_nodes": -1}, "max_failed_nodes", "from 0"),
        ({"max_failed_nodes": True}, "max_failed_nodes", "a number of nodes"),
        ({"reboot_timeout_minutes": 0}, "reboot_timeout_minutes", "a number of minutes"),
        ({"require_all_nodes_online": "yes please"}, "require_all_nodes_online", "expected true or false"),
        ({"pre_update_script": "C:\\scripts\\pre.bat"}, "pre_update_script", "must end in .ps1"),
        ({"pre_update_script": "C:\\" + "x" * 257 + ".ps1"}, "pre_update_script", "at most 260"),
        ({"pre_update_script": "pre.ps1"}, "pre_update_script", "absolute path every node can read"),
        ({"post_update_script": "C:\\a.ps1\nC:\\b.ps1"}, "post_update_script", "one line"),
        ({"max_retry": 3}, "max_retry", "is not a run setting; valid: max_failed_nodes"),
    ],
)
def test_bad_run_options_name_the_field_and_what_is_valid(options, field, message):
    with pytest.raises(InputError) as err:
        normalise_run_options(options, prefix="cau_")
    assert err.value.field == f"cau_{field}"
    assert message in err.value.message


@pytest.mark.parametrize(("value", "nodes", "ok"), [(0, 3, True), (2, 3, True), (3, 3, False), (1, 1, False), (5, 0, True)])
def test_max_failed_nodes_is_below_the_node_count(value, nodes, ok):
    if ok:
        check_max_failed_nodes({"max_failed_nodes": value}, nodes, "max_failed_nodes")
    else:
        with pytest.raises(InputError, match=f"CAU accepts 0 to {nodes - 1}"):
            check_max_failed_nodes({"max_failed_nodes": value}, nodes, "max_failed_nodes")


@pytest.mark.parametrize(("nodes", "default"), [(2, 0), (3, 1), (8, 2), (16, 5)])
def test_default_max_failed_nodes_is_about_a_third(nodes, default):
    assert default_max_failed_nodes(nodes) == default


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        (None, None),
        ({"days_of_week": ["saturday", "Tuesday"], "weeks_of_month": [4, 2]},
         {"days_of_week": ["Tuesday", "Saturday"], "weeks_of_month": [2, 4]}),
        ({"days_of_week": "Sunday", "interval_weeks": 3}, {"days_of_week": ["Sunday"], "interval_weeks": 3}),
        ({"days_of_week": ["Monday"], "weeks_of_month": 5, "start_date": "2026-01-06"},
         {"days_of_week": ["Monday"], "weeks_of_month": [5], "start_date": "2026-01-06"}),
        ({"days_of_week": ["Monday"], "start_date": datetime.date(2026, 1, 6)},
         {"days_of_week": ["Monday"], "start_date": "2026-01-06"}),
        ({"days_of_week": ["Monday"], "start_date": "2026-01-06T03:00"},
         {"days_of_week": ["Monday"], "start_date": "2026-01-06T03:00:00"}),
    ],
)
def test_schedules_are_normalised(schedule, expected):
    assert normalise_schedule(schedule) == expected


@pytest.mark.parametrize(
    ("schedule", "field", "message"),
    [
        ({}, "schedule.days_of_week", "is required"),
        ({"days_of_week": ["Funday"]}, "schedule.days_of_week[0]", "expected a day name"),
        ({"days_of_week": ["Monday", "monday"]}, "schedule.days_of_week", "the same day twice"),
        ({"days_of_week": ["Monday"], "weeks_of_month": [6]}, "schedule.weeks_of_month[0]", "5 = the last week"),
        ({"days_of_week": ["Monday"], "weeks_of_month": [2, 2]}, "schedule.weeks_of_month", "distinct"),
        ({"days_of_week": ["Monday"], "weeks_of_month": [2], "interval_weeks": 2}, "schedule", "not both"),
        ({"days_of_week": ["Monday"], "interval_weeks": 0}, "schedule.interval_weeks", "from 1 to 52"),
        ({"days_of_week": ["Monday"], "start_date": "next tuesday"}, "schedule.start_date", "ISO 8601"),
        ({"days_of_week": ["Monday"], "hour": 3}, "schedule", "unknown key(s) hour"),
        (["Monday"], "schedule", "expected a mapping"),
    ],
)
def test_bad_schedules_name_the_field(schedule, field, message):
    with pytest.raises(InputError) as err:
        normalise_schedule(schedule)
    assert err.value.field == field
    assert message in err.value.message


def test_scan_takes_the_plugins_and_only_the_switches_invoke_causcan_has():
    assert scan_parameters("hvcl01", TWO_PLUGINS) == {
        "ClusterName": "hvcl01",
        "CauPluginName": ["Microsoft.WindowsUpdatePlugin", "Microsoft.HotfixPlugin"],
        "CauPluginArguments": [
            {"QueryString": f"UpdateID='{GUID}' and IsInstalled=0"},
            {"HotfixRootFolderPath": "\\\\fs01\\hotfix"},
        ],
        "RunPluginsSerially": True,
        "StopOnPluginFailure": True,
    }


@pytest.mark.parametrize(
    ("run_options", "self_update", "expected"),
    [
        ({}, False, {"ClusterName": "c", "CauPluginName": ["Microsoft.WindowsUpdatePlugin"], "Force": True}),
        ({"max_failed_nodes": 1, "max_retries_per_node": 3, "require_all_nodes_online": True,
          "enable_firewall_rules": False, "reboot_timeout_minutes": 20},
         False,
         {"ClusterName": "c", "CauPluginName": ["Microsoft.WindowsUpdatePlugin"], "MaxFailedNodes": 1,
          "MaxRetriesPerNode": 3, "RequireAllNodesOnline": True, "RebootTimeoutMinutes": 20, "Force": True}),
        ({"pre_update_script": "C:\\p.ps1", "post_update_script": "C:\\q.ps1"}, True,
         {"ClusterName": "c", "CauPluginName": ["Microsoft.WindowsUpdatePlugin"], "PreUpdateScript": "C:\\p.ps1",
          "PostUpdateScript": "C:\\q.ps1", "ForceSelfUpdate": True, "Force": True}),
    ],
)
def test_run_options_map_to_invoke_caurun_parameters(run_options, self_update, expected):
    assert run_parameters("c", DEFAULT_PLUGIN, run_options, force_self_update=self_update) == expected


def test_run_passes_every_multi_plugin_switch_and_no_doubled_quotes():
    parameters = run_parameters("c", TWO_PLUGINS, {})
    assert [k for k in parameters if k in ("RunPluginsSerially", "StopOnPluginFailure", "SeparateReboots")] == [
        "RunPluginsSerially", "StopOnPluginFailure", "SeparateReboots"]
    assert parameters["CauPluginArguments"][0]["QueryString"] == f"UpdateID='{GUID}' and IsInstalled=0"


def test_recovery_is_its_own_parameter_set():
    assert recover_parameters("c") == {"ClusterName": "c", "ForceRecovery": True, "Force": True}


def test_cluster_role_parameters_double_the_updateid_quotes_and_carry_the_schedule():
    schedule = normalise_schedule({"days_of_week": ["Tuesday", "Saturday"], "weeks_of_month": [2, 4], "start_date": "2026-02-01"})
    parameters = cluster_role_parameters("c", TWO_PLUGINS, {"max_failed_nodes": 1, "enable_firewall_rules": True}, schedule)
    assert parameters == {
        "ClusterName": "c",
        "StartDate": "2026-02-01",
        "DaysOfWeek": "Tuesday, Saturday",
        "WeeksOfMonth": [2, 4],
        "CauPluginName": ["Microsoft.WindowsUpdatePlugin", "Microsoft.HotfixPlugin"],
        "CauPluginArguments": [
            {"QueryString": f"UpdateID=''{GUID}'' and IsInstalled=0"},
            {"HotfixRootFolderPath": "\\\\fs01\\hotfix"},
        ],
        "RunPluginsSerially": True,
        "StopOnPluginFailure": True,
        "SeparateReboots": True,
        "MaxFailedNodes": 1,
        "EnableFirewallRules": True,
        "Force": True,
    }


def test_cluster_role_without_schedule_keeps_cau_default_and_interval_uses_the_weekly_set():
    assert "DaysOfWeek" not in cluster_role_parameters("c", DEFAULT_PLUGIN, {}, None)
    weekly = cluster_role_parameters("c", DEFAULT_PLUGIN, {}, {"days_of_week": ["Sunday"], "interval_weeks": 2})
    assert (weekly["DaysOfWeek"], weekly["IntervalWeeks"], "WeeksOfMonth" in weekly) == ("Sunday", 2, False)


def test_rendered_command_quotes_every_value_so_nothing_can_run():
    hostile = parse_plugins([{"name": "Contoso.Plugin", "arguments": {"Note": "x'; Remove-Item C:\\ -Recurse; '$(calc)"}}],
                            registered=["Contoso.Plugin"])
    text = render_command("Invoke-CauRun", run_parameters("c", hostile, {"pre_update_script": "C:\\it's.ps1"}), hostile)
    assert text == (
        "Invoke-CauRun -ClusterName 'c' -CauPluginName 'Contoso.Plugin' "
        "-CauPluginArguments @{'Note'='x''; Remove-Item C:\\ -Recurse; ''$(calc)'} "
        "-PreUpdateScript 'C:\\it''s.ps1' -Force"
    )


def test_rendered_cluster_role_command_shows_the_doubled_quotes():
    text = render_command("Set-CauClusterRole", cluster_role_parameters("c", TWO_PLUGINS, {}, None), TWO_PLUGINS)
    assert f"@{{'QueryString'='UpdateID=''''{GUID}'''' and IsInstalled=0'}}" in text
    assert text.endswith("-RunPluginsSerially -StopOnPluginFailure -SeparateReboots -Force")


def _node(node: str, status: str, *updates: tuple[str, str], **extra: Any) -> dict[str, Any]:
    return {"node": node, "status": status, "updates": [{"id": i, "title": f"KB {i}", "result": r} for i, r in updates], **extra}


def test_node_outcomes_follow_inventory_order_and_keep_every_node():
    raw = [
        _node("HV02", "Failed", ("a", "Succeeded"), ("b", "Failed"), error="install failed"),
        _node("extra", "Succeeded"),
        _node("hv01", "Succeeded", ("a", "Succeeded"), reboots=2),
    ]
    outcomes = node_outcomes(raw, ["hv01", "hv02", "hv03"])
    assert [(o["node"], o["status"]) for o in outcomes] == [
        ("hv01", "succeeded"), ("hv02", "failed"), ("hv03", "not_updated"), ("extra", "succeeded")]
    assert outcomes[0]["installed"] == [{"id": "a", "title": "KB a", "result": "Succeeded"}]
    assert outcomes[0]["reboots"] == 2
    assert outcomes[1]["failed"] == [{"id": "b", "title": "KB b", "result": "Failed"}]
    assert outcomes[1]["error"] == "install failed"
    assert summarise_nodes(outcomes) == {"updates_installed": 2, "updates_failed": 1, "updates_applicable": 0,
                                         "reboots": 2, "failed_nodes": 1}


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (_node("n", "Succeeded", ("x", "Failed")), "failed"),  # a failed update fails the node
        (_node("n", "Succeeded", ("x", "SucceededWithErrors")), "succeeded"),  # OperationResultCode 3
        (_node("n", "Succeeded", ("x", "Aborted")), "failed"),  # OperationResultCode 5
        (_node("n", "SUCCEEDED"), "succeeded"),
        # A shape this code does not know is 'unknown' with CAU's raw value, never 'not_updated'.
        (_node("n", "NotStarted"), "unknown"),
        (_node("n", ""), "unknown"),
        (_node("n", "Succeeded", ("x", "2")), "unknown"),
    ],
)
def test_node_status_mapping(raw, status):
    assert node_outcomes([raw], ["n"])[0]["status"] == status


def test_an_unknown_status_keeps_the_raw_value_and_says_so():
    outcome = node_outcomes([_node("n", "Paused")], ["n"])[0]
    assert (outcome["status"], outcome["cau_status"]) == ("unknown", "Paused")
    assert outcome["error"] == "CAU reported status 'Paused' for this node"
    outcome = node_outcomes([_node("n", "Succeeded", ("x", "2"))], ["n"])[0]
    assert outcome["unknown"] == [{"id": "x", "title": "KB x", "result": "2"}]
    assert outcome["error"] == "CAU reported update result(s) '2'"


@pytest.mark.parametrize(
    ("inventory", "reported"),
    [
        (["hv01.contoso.com", "hv02.contoso.com"], ["HV01", "HV02"]),  # inventory FQDNs, CAU short names
        (["hv01", "hv02"], ["hv01.contoso.com", "HV02.CONTOSO.COM"]),  # and the other way round
        (["HV01", "hv02"], ["hv01", "HV02"]),
    ],
)
def test_nodes_match_by_short_name_or_fqdn_both_ways(inventory, reported):
    outcomes = node_outcomes([_node(name, "Succeeded") for name in reported], inventory)
    assert [(o["node"], o["status"]) for o in outcomes] == [(inventory[0], "succeeded"), (inventory[1], "succeeded")]


def test_fqdns_in_different_domains_are_different_computers():
    outcomes = node_outcomes([_node("hv01.fabrikam.com", "Succeeded")], ["hv01.contoso.com"])
    assert [(o["node"], o["status"]) for o in outcomes] == [
        ("hv01.contoso.com", "not_updated"), ("hv01.fabrikam.com", "succeeded")]


@pytest.mark.parametrize("raw", [None, "junk", [None, 3, {"status": "x"}], [{"node": "n", "reboots": -1}]])
def test_node_outcomes_tolerate_what_a_host_may_send(raw):
    outcomes = node_outcomes(raw, ["n"])
    assert outcomes[0]["node"] == "n" and outcomes[0]["reboots"] == 0


def test_scan_outcomes_list_applicable_updates_per_node():
    outcomes = scan_outcomes([{"node": "n2", "updates": [{"id": "a", "title": "A", "plugin": "P", "junk": 1}]}], ["n1", "n2"])
    assert outcomes == [
        {"node": "n1", "status": "scanned", "applicable": [], "error": None},
        {"node": "n2", "status": "scanned", "applicable": [{"id": "a", "title": "A", "plugin": "P"}], "error": None},
    ]
    assert summarise_nodes(outcomes)["updates_applicable"] == 1
