"""--limit mapped to whole clusters, or refused when it would split one."""

from __future__ import annotations

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils._cau_limit import clusters_for_limit, limit_elements
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError

CLUSTERS = [
    {"name": "HVCL01", "nodes": ["hv01", "hv02"], "coordinator": "coord01", "mode": "remote_updating",
     "pseudo_host": "cau-cluster-HVCL01", "third_party_plugins": [{"name": "Contoso.FirmwarePlugin"}]},
    {"name": "svcl01", "nodes": ["sv01", "sv02"], "coordinator": None, "mode": "self_updating",
     "pseudo_host": "cau-cluster-svcl01", "third_party_plugins": []},
]
GROUPS = {"HVCL01": "hvcl01", "svcl01": "svcl01"}


GROUP_MEMBERS = {"all": ["coord01", "hv01", "hv02", "sv01", "sv02", "fs01"], "cau_clusters": ["hv01", "hv02", "sv01", "sv02"],
                 "hvcl01": ["hv01", "hv02"], "svcl01": ["sv01", "sv02"], "cau_coordinators": ["coord01"]}


def limited(limit, hosts, **kwargs):
    return clusters_for_limit(limit, hosts, CLUSTERS, GROUPS, "cau_clusters", GROUP_MEMBERS, **kwargs)


@pytest.mark.parametrize(
    ("limit", "hosts", "leads"),
    [
        ("hvcl01", ["hv01", "hv02"], {"HVCL01": "hv01"}),
        ("HVCL01", ["hv01", "hv02"], {"HVCL01": "hv01"}),  # group names compare case-insensitively
        ("hvcl*", ["hv01", "hv02"], {"HVCL01": "hv01"}),
        ("hvcl01,svcl01", ["hv01", "hv02", "sv01", "sv02"], {"HVCL01": "hv01", "svcl01": "sv01"}),
        ("cau_clusters", ["hv01", "hv02", "sv01", "sv02"], {"HVCL01": "hv01", "svcl01": "sv01"}),
        ("all", ["hv01", "hv02", "sv01", "sv02", "coord01"], {"HVCL01": "hv01", "svcl01": "sv01"}),
        ("svcl01:fs01", ["sv01", "sv02", "fs01"], {"svcl01": "sv01"}),
        # a node stands for its whole cluster, and runs it (AWX "relaunch on failed hosts" lists it)
        ("hv02", ["hv02"], {"HVCL01": "hv02"}),
        ("hv01,hv02", ["hv01", "hv02"], {"HVCL01": "hv01"}),
        ("hv02,sv02", ["hv02", "sv02"], {"HVCL01": "hv02", "svcl01": "sv02"}),
        # a coordinator of one cluster runs it; with a node or group it is only the coordinator
        ("coord01", ["coord01"], {"HVCL01": "coord01"}),
        ("hvcl01,coord01", ["hv01", "hv02", "coord01"], {"HVCL01": "hv01"}),
        # the names the playbooks print for a cluster
        ("cau-cluster-svcl01,sv01,sv02", ["sv01", "sv02"], {"svcl01": "sv01"}),
        ("cau-cluster-HVCL01,coord01", ["coord01"], {"HVCL01": "coord01"}),
    ],
)
def test_limits_naming_clusters_or_their_hosts_select_whole_clusters(limit, hosts, leads):
    result = limited(limit, hosts)
    assert result.leads == leads
    assert result.names == tuple(leads)
    assert result.message.startswith(f"--limit {limit}: updating whole cluster(s) ")


def test_the_message_names_the_nodes_the_coordinator_and_the_play_host():
    result = limited("hv02", ["hv02"])
    assert result.message == ("--limit hv02: updating whole cluster(s) HVCL01 (group hvcl01: nodes hv01, hv02, "
                              "coordinator coord01; play host hv02)")


@pytest.mark.parametrize(
    ("limit", "hosts", "message"),
    [
        ("hvcl01:!hv02", ["hv01"], "'hvcl01:!hv02' would split cluster HVCL01: hv01 in, hv02 out. CAU updates a "
                                   "cluster as a whole; do not exclude its nodes, use --limit hvcl01"),
        ("hvcl01:&hv01", ["hv01"], "would split cluster HVCL01: hv01 in, hv02 out"),
        ("all:!sv02", ["hv01", "hv02", "sv01", "coord01", "fs01"], "would split cluster svcl01: sv01 in, sv02 out"),
        ("cau-cluster-svcl01,fs01", ["fs01"], "names cluster svcl01 but none of its inventory hosts is inside the "
                                              "limit, and Ansible only runs inventory hosts; use --limit svcl01"),
        ("fs01", ["fs01"], "'fs01' selects no cluster of the cau_clusters group"),
    ],
)
def test_limits_that_would_split_or_cannot_run_a_cluster_are_refused(limit, hosts, message):
    with pytest.raises(InputError) as caught:
        limited(limit, hosts)
    assert caught.value.field == "--limit"
    assert message in caught.value.message


def test_a_shared_coordinator_alone_cannot_run_two_clusters():
    clusters = [{**CLUSTERS[0], "third_party_plugins": []},
                {**CLUSTERS[0], "name": "HVCL02", "nodes": ["hv03", "hv04"], "pseudo_host": "cau-cluster-HVCL02"}]
    with pytest.raises(InputError, match="selects clusters HVCL01, HVCL02 only through their shared coordinator "
                                         "coord01; .* --limit hvcl01,hvcl02"):
        clusters_for_limit("coord01", ["coord01"], clusters, {"HVCL01": "hvcl01", "HVCL02": "hvcl02"},
                           "cau_clusters", GROUP_MEMBERS)


def test_prepare_needs_the_coordinator_of_a_remote_cluster_with_plugins():
    with pytest.raises(InputError, match="leaves out coord01, the coordinator of cluster HVCL01"):
        limited("hvcl01", ["hv01", "hv02"], require_coordinators=True)
    result = limited("hvcl01,coord01", ["hv01", "hv02", "coord01"], require_coordinators=True)
    assert result.names == ("HVCL01",)


def test_limit_elements_split_like_ansible():
    assert limit_elements("a,b:c , d") == ["a", "b", "c", "d"]
