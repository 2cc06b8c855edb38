"""This repository works as an AWX project: jobs find the collection in the execution environment.

AWX runs ``ansible-playbook`` from the project checkout, so the developer ``ansible.cfg`` applies;
its collections path must still reach the EE's collections (docs/awx.md, "Import the project").
"""

from __future__ import annotations

import configparser

from tests.release.conftest import REPO_ROOT


def test_developer_ansible_cfg_keeps_the_standard_collection_paths():
    config = configparser.ConfigParser()
    config.read(REPO_ROOT / "ansible.cfg")
    paths = config["defaults"]["collections_path"].split(":")
    assert paths[0] == ".collections", "the checkout itself comes first for developers"
    assert "/usr/share/ansible/collections" in paths, "an execution environment installs collections there"
    assert "~/.ansible/collections" in paths
