# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name; this file holds its documentation.

DOCUMENTATION = r"""
module: cau_plan
short_description: Read and validate the Cluster-Aware Updating layout of the inventory
version_added: 0.1.0
description:
  - Reads the CAU variables of every host in the clusters group (see C(docs/cau.md)) and returns the
    failover clusters in inventory order, each with its mode, nodes, coordinator, the host that runs
    the CAU cmdlets, its plug-ins and run settings, and the hosts every third-party plug-in must be
    registered on (every node in self-updating mode, the coordinator in remote-updating mode).
  - "Validates everything before any host is contacted; the first mistake fails the task with the
    cluster and variable it concerns, for example
    C(hvcl01.cau_coordinator: hv01 is a node of cluster hvcl01; in remote_updating mode ...)."
  - Runs on the controller without contacting any host; use it with C(run_once=true).
options:
  clusters_group:
    description: The inventory group whose child groups are the clusters and whose hosts are their nodes.
    type: str
    default: cau_clusters
  clusters:
    description:
      - The clusters to return, by C(cau_cluster_name) (case-insensitive); empty returns every cluster.
      - A name the inventory does not know is an error that lists the known clusters.
    type: list
    elements: str
    default: []
  limit:
    description:
      - The playbook's C(--limit) (C(ansible_limit)). When set, only the clusters it selects are returned,
        each as a whole; a limit may name a cluster's group, its nodes, its coordinator or C(cau-cluster-<name>).
        A limit that would split a cluster (names it, then excludes some of its nodes), or that leaves a
        selected cluster no inventory host inside the limit to run as, is an error naming the cluster and
        the limit to use.
    type: str
  limited_hosts:
    description: The hosts the limit selected in the calling play (C(ansible_play_hosts_all)).
    type: list
    elements: str
    default: []
  limit_needs_coordinators:
    description: Also require the coordinators of remote-updating clusters with third-party plug-ins in the limit
      (C(cau_prepare) registers plug-ins there).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Reads only; runs unchanged in check mode.
  diff_mode:
    support: none
    description: Changes nothing.
  platform:
    support: full
    platforms: posix
    description: Runs on the controller.
notes:
  - Each cluster's plays run as its RV(clusters[].lead), an inventory host of the cluster inside the limit, which the
    role C(winfleet.updates.cau_plan) adds to the group C(cau_plan_clusters); planning twice in one run works.
  - "Variables read from each node (set them on the cluster's group): C(cau_cluster_name), C(cau_mode),
    C(cau_coordinator), C(cau_plugins), C(cau_run_plugins_serially), C(cau_stop_on_plugin_failure),
    C(cau_separate_reboots), C(cau_third_party_plugins), C(cau_schedule), C(cau_force_recovery),
    C(cau_max_failed_nodes), C(cau_max_retries_per_node), C(cau_require_all_nodes_online),
    C(cau_reboot_timeout_minutes), C(cau_pre_update_script), C(cau_post_update_script),
    C(cau_enable_firewall_rules)."
seealso:
  - module: winfleet.updates.cau_run
  - module: winfleet.updates.cau_plugin
author:
  - winfleet.updates maintainers (@winfleet)
"""

EXAMPLES = r"""
- name: Read the clusters of the inventory
  winfleet.updates.cau_plan:
    clusters: [hvcl01]
  run_once: true
  register: clusters
"""

RETURN = r"""
clusters:
  description: The selected clusters in inventory order.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The cluster's network name (C(cau_cluster_name)).
      type: str
    mode:
      description: C(self_updating) or C(remote_updating).
      type: str
    nodes:
      description: The cluster's nodes (inventory hosts) in inventory order.
      type: list
      elements: str
    coordinator:
      description: The update coordinator (C(cau_coordinator)), or null.
      type: str
    runner:
      description: The inventory host the CAU cmdlets run on (the coordinator, else the first node).
      type: str
    pseudo_host:
      description: The name the playbooks print for this cluster (C(cau-cluster-<name>)); a limit may name it.
      type: str
    lead:
      description:
        - The inventory host this cluster's plays run as, inside the limit (the first node inside it, else
          the coordinator; without a limit the first node). Its own connection is not used.
      type: str
    plugins:
      description: The plug-ins of the run (C(cau_plugins), default Microsoft.WindowsUpdatePlugin).
      type: list
      elements: raw
    plugin_names:
      description: The plug-in names in run order, in their registered spelling.
      type: list
      elements: str
    registered_plugins:
      description: The declared third-party plug-ins.
      type: list
      elements: str
    run_options:
      description: The validated run settings that are set (max_failed_nodes, ...).
      type: dict
    schedule:
      description: The validated self-updating schedule, or null.
      type: dict
    third_party_plugins:
      description: The declared third-party plug-ins with their binaries.
      type: list
      elements: dict
    plugin_hosts:
      description: The hosts this cluster's third-party plug-ins go on.
      type: list
      elements: str
plugin_hosts:
  description: Per host (inventory order), the third-party plug-ins to install and register there.
  returned: success
  type: list
  elements: dict
  sample: [{host: coord01, plugins: [{name: Contoso.FirmwarePlugin, path: 'C:\Program Files\Contoso\Contoso.FirmwarePlugin.dll'}]}]
limit_message:
  description: With O(limit), which whole clusters the limit selects; otherwise null.
  returned: success
  type: str
  sample: "--limit hv02: updating whole cluster(s) hvcl01 (group hvcl01: nodes hv01, hv02, coordinator coord01; play host hv02)"
"""
