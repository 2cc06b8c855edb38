"""docs/cau.md's inventory example must work for remote updating: a second hop needs delegation.

The connection variables it uses are checked against the psrp connection plugin's own
documentation, so a misspelt variable (silently ignored by Ansible) fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from ansible.plugins.connection import psrp

DOC = (Path(__file__).resolve().parents[2] / "docs" / "cau.md").read_text(encoding="utf-8")
PSRP_VARIABLES = {
    variable["name"]
    for option in yaml.safe_load(psrp.DOCUMENTATION)["options"].values()
    for variable in option.get("vars", [])
}


def _yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", DOC, re.S)


def test_the_inventory_example_delegates_credentials_for_the_second_hop():
    inventory = yaml.safe_load(_yaml_blocks()[0])
    connection = inventory["all"]["vars"]
    assert connection["ansible_connection"] == "psrp"
    assert connection["ansible_psrp_auth"] == "kerberos" and connection["ansible_psrp_negotiate_delegate"] is True
    assert "cau_coordinator" in str(inventory)


def test_every_psrp_variable_in_the_cau_docs_is_one_the_plugin_reads():
    used = set(re.findall(r"\bansible_psrp_[a-z_]+", DOC))
    assert used and used <= PSRP_VARIABLES, used - PSRP_VARIABLES


def test_the_second_hop_section_gives_the_three_ways_and_the_limit_rules_are_documented():
    second_hop = DOC[DOC.index("### Second hop"):]
    assert "ansible_psrp_negotiate_delegate: true" in second_hop
    assert "ansible_psrp_auth: credssp" in second_hop
    assert "ansible_become_method: runas" in second_hop
    assert "Add-CauClusterRole" in second_hop
    assert "### `--limit`" in DOC and "would **split** a cluster" in DOC
