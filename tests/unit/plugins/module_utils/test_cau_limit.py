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


@pytest.mark.parametrize(
    ("limit", "hosts", "selected"),
    [
        ("hvcl01", ["hv01", "hv02"], ("HVCL01",)),
        ("HVCL01", ["hv01", "hv02"], ("HVCL01",)),  # group names compare case-insensitively
        ("hvcl*", ["hv01", "hv02"], ("HVCL01",)),
        ("hvcl01,svcl01", ["hv01", "hv02", "sv01", "sv02"], ("HVCL01", "svcl01")),
        ("cau_clusters", ["hv01", "hv02", "sv01", "sv02"], ("HVCL01", "svcl01")),
        ("all", ["hv01", "hv02", "sv01", "sv02", "coord01"], ("HVCL01", "svcl01")),
        ("svcl01:fs01", ["sv01", "sv02", "fs01"], ("svcl01",)),
    ],
)
def test_cluster_groups_select_whole_clusters(limit, hosts, selected):
    result = clusters_for_limit(limit, hosts, CLUSTERS, GROUPS, "cau_clusters")
    assert result.names == selected
    assert result.message.startswith(f"--limit {limit}: updating whole cluster(s) ")


def test_the_message_names_the_nodes_and_coordinator():
    result = clusters_for_limit("hvcl01", ["hv01", "hv02"], CLUSTERS, GROUPS, "cau_clusters")
    assert result.message == "--limit hvcl01: updating whole cluster(s) HVCL01 (group hvcl01: nodes hv01, hv02, coordinator coord01)"
    assert result.groups == {"HVCL01": "hvcl01"}


@pytest.mark.parametrize(
    ("limit", "hosts", "message"),
    [
        ("hv01", ["hv01"], "'hv01' would split cluster HVCL01: hv01 in, hv02 out. CAU updates a cluster as a whole; use --limit hvcl01"),
        ("hvcl01:!hv02", ["hv01"], "would split cluster HVCL01: hv01 in, hv02 out"),
        ("hv01,hv02", ["hv01", "hv02"], "'hv01,hv02' names hv01, hv02 of cluster HVCL01 but not its group"),
        ("coord01", ["coord01"], "names coord01 of cluster HVCL01 but not its group"),
        ("cau-cluster-svcl01,sv01,sv02", ["sv01", "sv02"], "Use --limit svcl01"),
        ("fs01", ["fs01"], "'fs01' selects no cluster of the cau_clusters group"),
    ],
)
def test_limits_that_would_split_or_miss_a_cluster_are_refused(limit, hosts, message):
    with pytest.raises(InputError) as caught:
        clusters_for_limit(limit, hosts, CLUSTERS, GROUPS, "cau_clusters")
    assert caught.value.field == "--limit"
    assert message in caught.value.message


def test_prepare_needs_the_coordinator_of_a_remote_cluster_with_plugins():
    with pytest.raises(InputError, match="leaves out coord01, the coordinator of cluster HVCL01"):
        clusters_for_limit("hvcl01", ["hv01", "hv02"], CLUSTERS, GROUPS, "cau_clusters", require_coordinators=True)
    result = clusters_for_limit("hvcl01,coord01", ["hv01", "hv02", "coord01"], CLUSTERS, GROUPS, "cau_clusters",
                                require_coordinators=True)
    assert result.names == ("HVCL01",)


def test_limit_elements_split_like_ansible():
    assert limit_elements("a,b:c , d") == ["a", "b", "c", "d"]
