"""Which clusters the inventory describes and where plug-ins go (module_utils._cau_placement)."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils._cau_placement import (
    parse_third_party_plugins,
    plan_clusters,
    validate_plugin_binary,
)
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError

DLL = "C:\\Program Files\\Contoso\\Contoso.FirmwarePlugin.dll"
CONTOSO = {"name": "Contoso.FirmwarePlugin", "path": DLL}


def cluster(name: str, mode: str, nodes: list[str], **extra: Any) -> dict[str, dict[str, Any]]:
    """The variables each node of one cluster sees (as if set on the cluster's group)."""
    return {node: {"cau_cluster_name": name, "cau_mode": mode, **extra} for node in nodes}


def plan(variables: dict[str, dict[str, Any]], inventory: list[str] | None = None, targets: list[str] | None = None):
    hosts = list(variables)
    return plan_clusters(hosts, variables, inventory or [*hosts, "coord01", "coord02"], targets or [])


def test_remote_updating_places_third_party_plugins_on_the_coordinator_only():
    variables = cluster("hvcl01", "remote_updating", ["hv01", "hv02"], cau_coordinator="coord01",
                        cau_third_party_plugins=[CONTOSO], cau_plugins=["Contoso.FirmwarePlugin"])
    result = plan(variables).as_dict()
    assert result["plugin_hosts"] == [{"host": "coord01", "plugins": [{**CONTOSO, "allow_unc_path": False}]}]
    (entry,) = result["clusters"]
    assert (entry["runner"], entry["coordinator"], entry["pseudo_host"]) == ("coord01", "coord01", "cau-cluster-hvcl01")
    assert entry["registered_plugins"] == ["Contoso.FirmwarePlugin"]


def test_self_updating_places_third_party_plugins_on_every_node_and_runs_on_the_first():
    variables = cluster("svcl01", "self_updating", ["sv01", "sv02", "sv03"], cau_third_party_plugins=[CONTOSO])
    result = plan(variables).as_dict()
    assert [entry["host"] for entry in result["plugin_hosts"]] == ["sv01", "sv02", "sv03"]
    assert result["clusters"][0]["runner"] == "sv01"
    assert result["clusters"][0]["plugin_names"] == ["Microsoft.WindowsUpdatePlugin"]  # the default plug-in


def test_self_updating_may_run_its_cmdlets_from_a_named_host_even_a_node():
    variables = cluster("svcl01", "self_updating", ["sv01", "sv02"], cau_coordinator="sv02")
    assert plan(variables).clusters[0].runner == "sv02"


def test_self_updating_run_from_a_coordinator_registers_plugins_there_too():
    """The cmdlets check -CauPluginName on the computer they run on: the coordinator needs the plug-in."""
    variables = cluster("svcl01", "self_updating", ["sv01", "sv02"], cau_coordinator="coord01",
                        cau_third_party_plugins=[CONTOSO])
    result = plan(variables, inventory=["coord01", *variables]).as_dict()
    assert [entry["host"] for entry in result["plugin_hosts"]] == ["coord01", "sv01", "sv02"]
    assert result["clusters"][0]["plugin_hosts"] == ["sv01", "sv02", "coord01"]


def test_no_third_party_plugins_means_no_plugin_hosts():
    variables = cluster("hvcl01", "remote_updating", ["hv01", "hv02"], cau_coordinator="coord01")
    assert plan(variables).as_dict()["plugin_hosts"] == []


def test_a_coordinator_of_two_clusters_gets_each_plugin_once_in_inventory_order():
    fabrikam = {"name": "Fabrikam.Bios", "path": "D:\\Fabrikam\\Bios.dll"}
    variables = {
        **cluster("a", "remote_updating", ["a1", "a2"], cau_coordinator="coord02", cau_third_party_plugins=[CONTOSO]),
        **cluster("b", "remote_updating", ["b1", "b2"], cau_coordinator="coord01", cau_third_party_plugins=[fabrikam, CONTOSO]),
        **cluster("c", "remote_updating", ["c1", "c2"], cau_coordinator="coord02", cau_third_party_plugins=[CONTOSO]),
    }
    result = plan(variables, inventory=["coord01", "coord02", *variables]).as_dict()
    local = {"allow_unc_path": False}
    assert result["plugin_hosts"] == [
        {"host": "coord01", "plugins": [{**fabrikam, **local}, {**CONTOSO, **local}]},
        {"host": "coord02", "plugins": [{**CONTOSO, **local}]},
    ]
    assert [c["name"] for c in result["clusters"]] == ["a", "b", "c"]


def test_clusters_come_in_inventory_order_and_targets_select_case_insensitively():
    variables = {**cluster("zeta", "self_updating", ["z1"]), **cluster("Alpha", "self_updating", ["a1"])}
    assert [c.name for c in plan(variables).clusters] == ["zeta", "Alpha"]
    assert [c.name for c in plan(variables, targets=["ALPHA"]).clusters] == ["Alpha"]


def test_run_settings_switches_and_schedule_are_validated_and_kept():
    variables = cluster(
        "svcl01", "self_updating", ["sv01", "sv02", "sv03"],
        cau_plugins=["Microsoft.WindowsUpdatePlugin", "Microsoft.HotfixPlugin"],
        cau_run_plugins_serially=True, cau_stop_on_plugin_failure="true",
        cau_max_failed_nodes=1, cau_max_retries_per_node=5, cau_force_recovery=True,
        cau_schedule={"days_of_week": ["Tuesday"], "interval_weeks": 2},
    )
    entry = plan(variables).as_dict()["clusters"][0]
    assert (entry["run_plugins_serially"], entry["stop_on_plugin_failure"], entry["separate_reboots"]) == (True, True, False)
    assert entry["run_options"] == {"max_failed_nodes": 1, "max_retries_per_node": 5}
    assert entry["force_recovery"] is True
    assert entry["schedule"] == {"days_of_week": ["Tuesday"], "interval_weeks": 2}


@pytest.mark.parametrize(
    ("variables", "field", "message"),
    [
        pytest.param(cluster("hvcl01", "remote_updating", ["hv01", "hv02"], cau_coordinator="hv02"),
                     "hvcl01.cau_coordinator", "hv02 is a node of cluster hvcl01; in remote_updating mode", id="coordinator-is-node"),
        pytest.param(cluster("hvcl01", "remote_updating", ["hv01", "hv02"]),
                     "hvcl01.cau_coordinator", "is required in remote_updating mode", id="no-coordinator"),
        pytest.param(cluster("hvcl01", "remote_updating", ["hv01"], cau_coordinator="ghost"),
                     "hvcl01.cau_coordinator", "'ghost' is not a host of the inventory", id="unknown-coordinator"),
        pytest.param(cluster("hvcl01", "remote", ["hv01"], cau_coordinator="coord01"),
                     "hvcl01.cau_mode", "expected self_updating or remote_updating", id="bad-mode"),
        pytest.param({"hv01": {"cau_mode": "self_updating"}}, "hv01.cau_cluster_name", "is not set", id="no-cluster-name"),
        pytest.param(cluster("hv cl", "self_updating", ["hv01"]), "hv01.cau_cluster_name", "network name", id="bad-cluster-name"),
        pytest.param({**cluster("c", "self_updating", ["n1"]), **cluster("c", "remote_updating", ["n2"], cau_coordinator="coord01")},
                     "c.cau_mode", "the nodes of cluster c disagree (n1: 'self_updating', n2: 'remote_updating')", id="disagree"),
        pytest.param(cluster("c", "self_updating", ["n1"], cau_plugins=["Contoso.FirmwarePlugin"]),
                     "c.cau_plugins[0].name", "unknown plug-in 'Contoso.FirmwarePlugin'", id="undeclared-plugin"),
        pytest.param(cluster("c", "self_updating", ["n1"], cau_plugins=[{"name": "Microsoft.HotfixPlugin",
                                                                         "arguments": {"RootPath": "x"}}]),
                     "c.cau_plugins[0].arguments.RootPath", "is not an argument of Microsoft.HotfixPlugin", id="bad-argument"),
        pytest.param(cluster("c", "self_updating", ["n1"], cau_separate_reboots=True),
                     "c.cau_separate_reboots", "only applies when several plug-ins", id="switch-with-one-plugin"),
        pytest.param(cluster("c", "self_updating", ["n1"], cau_run_plugins_serially="often"),
                     "c.cau_run_plugins_serially", "expected true or false", id="switch-not-bool"),
        pytest.param(cluster("c", "self_updating", ["n1", "n2"], cau_max_failed_nodes=2),
                     "c.cau_max_failed_nodes", "CAU accepts 0 to 1", id="max-failed-nodes"),
        pytest.param(cluster("c", "self_updating", ["n1"], cau_max_retries_per_node=99),
                     "c.cau_max_retries_per_node", "CAU's maximum is 64", id="retries"),
        pytest.param(cluster("c", "remote_updating", ["n1"], cau_coordinator="coord01", cau_schedule={"days_of_week": ["Monday"]}),
                     "c.cau_schedule", "only applies to self_updating clusters", id="schedule-remote"),
        pytest.param(cluster("c", "self_updating", ["n1"], cau_schedule={"days_of_week": ["Someday"]}),
                     "c.cau_schedule.days_of_week[0]", "expected a day name", id="bad-schedule"),
        pytest.param(cluster("c", "self_updating", ["n1"], cau_third_party_plugins=[{"name": "Microsoft.HotfixPlugin", "path": DLL}]),
                     "c.cau_third_party_plugins[0].name", "built into CAU", id="builtin-declared"),
    ],
)
def test_inventory_mistakes_name_the_cluster_and_variable(variables, field, message):
    with pytest.raises(InputError) as err:
        plan(variables)
    assert err.value.field == field
    assert message in err.value.message


def test_one_host_cannot_register_a_plugin_from_two_binaries():
    other = {"name": "Contoso.FirmwarePlugin", "path": "D:\\Other\\Contoso.dll"}
    variables = {
        **cluster("a", "remote_updating", ["a1"], cau_coordinator="coord01", cau_third_party_plugins=[CONTOSO]),
        **cluster("b", "remote_updating", ["b1"], cau_coordinator="coord01", cau_third_party_plugins=[other]),
    }
    with pytest.raises(InputError, match="one host can register a plug-in from one binary"):
        plan(variables)


def test_an_empty_group_an_unknown_target_and_a_clashing_host_name_are_errors():
    with pytest.raises(InputError, match="the inventory group has no hosts"):
        plan_clusters([], {}, [], group="prod_clusters")
    with pytest.raises(InputError) as err:
        plan(cluster("hvcl01", "self_updating", ["hv01"]), targets=["hvcl02"])
    assert (err.value.field, "known clusters: hvcl01" in err.value.message) == ("clusters[0]", True)
    with pytest.raises(InputError, match="already an inventory host"):
        plan(cluster("hvcl01", "self_updating", ["hv01"]), inventory=["hv01", "cau-cluster-hvcl01"])


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ("Contoso", "cau_third_party_plugins", "expected a list"),
        ([{"name": "Contoso.X"}], "cau_third_party_plugins[0].path", "absolute path of the plug-in's .dll"),
        ([{"name": "Contoso.X", "path": DLL, "version": 2}], "cau_third_party_plugins[0]", "unknown key(s) version"),
        ([CONTOSO, {"name": "contoso.firmwareplugin", "path": DLL}], "cau_third_party_plugins[1].name", "already declared"),
        ([{"name": "Contoso X", "path": DLL}], "cau_third_party_plugins[0].name", "not a valid plug-in name"),
        ([{"name": "Contoso.X", "path": "\\\\fs01\\p\\X.dll"}], "cau_third_party_plugins[0].path",
         "is a UNC path: CAU would load the plug-in's code from a share on every host that runs it. Install the "
         "plug-in on each of those hosts (its publisher's installer) and give its local path, or set "
         "cau_third_party_plugins[0].allow_unc_path: true to register it from the share anyway"),
        ([{"name": "Contoso.X", "path": DLL, "allow_unc_path": "yes"}], "cau_third_party_plugins[0].allow_unc_path",
         "expected true or false"),
    ],
)
def test_third_party_plugin_declarations_are_checked(raw, field, message):
    with pytest.raises(InputError) as err:
        parse_third_party_plugins(raw)
    assert (err.value.field, message in err.value.message) == (field, True)


@pytest.mark.parametrize("path", [DLL, "D:\\p.dll"])
def test_plugin_binaries_accepted(path):
    assert validate_plugin_binary(path) == path


def test_a_unc_plugin_binary_only_when_explicitly_allowed():
    unc = "\\\\fs01\\plugins\\Contoso.DLL"
    with pytest.raises(InputError, match="is a UNC path"):
        validate_plugin_binary(unc)
    assert validate_plugin_binary(unc, allow_unc=True) == unc
    declared = parse_third_party_plugins([{"name": "Contoso.X", "path": unc, "allow_unc_path": True}])
    assert (declared[0].path, declared[0].allow_unc_path) == (unc, True)


@pytest.mark.parametrize("path", ["Contoso.dll", "C:\\plugins\\Contoso.exe", "C:\\a\nb.dll", "/opt/contoso.dll", "\\\\server\\x.dll", None])
def test_plugin_binaries_refused(path):
    with pytest.raises(InputError, match="absolute path of the plug-in's .dll"):
        validate_plugin_binary(path)
