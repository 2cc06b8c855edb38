"""Every PowerShell file of the collection parses (tree-sitter-powershell stands in for a host)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.static.powershell import syntax_errors

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(p for pattern in ("*.ps1", "*.psm1") for p in (REPO_ROOT / "plugins").rglob(pattern))


def test_there_are_scripts_to_check():
    assert any(p.name == "virtio_probe.ps1" for p in SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_script_parses(script):
    errors = syntax_errors(script.read_bytes())
    assert not errors, (
        f"{script.name} does not parse: {errors}. (If the code is valid PowerShell the grammar may not "
        "know the construct: bare comma lists as arguments and negative literals after operators are known "
        "gaps; write @('a', 'b') and (-1) instead.)"
    )


def test_the_checker_finds_a_broken_script():
    assert syntax_errors(b"$x = @{ a = 1\nif ($x {\n")


def test_powershell_sent_through_cloud_assistant_parses():
    """Inline PowerShell the ECS module sends (RunCommand content), and its documented examples,
    are checked like script files."""
    from ansible_collections.winfleet.updates.plugins.module_utils._ecs_cloud_assistant import VIRTIO_PLUGIN_CONTENT
    from tests.static.test_module_contract import load_docs

    contents = [VIRTIO_PLUGIN_CONTENT]
    for task in yaml.safe_load(load_docs("ecs_cloud_assistant")["EXAMPLES"]):
        if task["winfleet.updates.ecs_cloud_assistant"].get("content"):
            contents.append(task["winfleet.updates.ecs_cloud_assistant"]["content"])
    assert len(contents) == 2
    for content in contents:
        assert not syntax_errors(content.encode("utf-8")), content
