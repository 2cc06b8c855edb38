"""The built tarball holds what users run and nothing of the development checkout (galaxy.yml build_ignore)."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from tests.release.conftest import GALAXY, REPO_ROOT

# Development-only paths: none of them, nor anything below them, may be in the tarball.
MUST_NOT_SHIP = [
    ".venv", ".collections", ".ci", ".git", ".gitignore", ".ansible-lint", ".pytest_cache", ".hypothesis",
    "Makefile", "ansible.cfg", "pyproject.toml", "requirements-dev.txt", "execution-environment.yml",
    "benchmarks", "hacking", "build", "demo", "lab", "reports",
    "tests/simlab", "tests/unit", "tests/integration", "tests/static", "tests/release", "tests/conftest.py",
    "extensions/molecule", "changelogs/.plugin-cache.yaml",
]
# Files that must ship: what users read and run, and what ansible-builder and ansible-test read
# from an installed collection.
MUST_SHIP = [
    "README.md", "COPYING", "meta/runtime.yml", "meta/execution-environment.yml", "requirements.txt", "bindep.txt",
    "changelogs/changelog.yaml", "changelogs/config.yaml",
]
# Directories whose every file (bar caches) ships.
SHIPPED_TREES = ["plugins", "roles", "playbooks", "docs", "changelogs/fragments", "extensions/awx"]


def members(tarball: Path) -> set[str]:
    with tarfile.open(tarball) as archive:
        return {member.name.rstrip("/") for member in archive.getmembers()}


def test_nothing_of_the_development_checkout_leaks(built_tarball):
    names = members(built_tarball)
    leaked = sorted(name for name in names for path in MUST_NOT_SHIP if name == path or name.startswith(f"{path}/"))
    assert not leaked, f"development files in the tarball (add them to build_ignore in galaxy.yml): {leaked}"
    assert not [name for name in names if "__pycache__" in name or name.endswith((".pyc", ".retry"))]
    shipped_tests = {name for name in names if name == "tests" or name.startswith("tests/")}
    assert shipped_tests <= {"tests", "tests/sanity"} | {name for name in names if name.startswith("tests/sanity/")}, \
        f"only tests/sanity (ansible-test ignore files) ships, not {sorted(shipped_tests)}"


@pytest.mark.parametrize("path", MUST_SHIP)
def test_required_file_ships(built_tarball, path):
    assert path in members(built_tarball)


@pytest.mark.parametrize("tree", SHIPPED_TREES)
def test_every_file_of_the_shipped_trees_ships(built_tarball, tree):
    expected = {str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / tree).rglob("*")
                if p.is_file() and "__pycache__" not in p.parts}
    assert expected, f"{tree} is empty"
    assert expected <= members(built_tarball), sorted(expected - members(built_tarball))


def test_manifest_names_the_collection_and_its_dependencies(built_tarball):
    with tarfile.open(built_tarball) as archive:
        manifest = json.load(archive.extractfile("MANIFEST.json"))["collection_info"]
    assert (manifest["namespace"], manifest["name"], manifest["version"]) == (GALAXY["namespace"], GALAXY["name"], GALAXY["version"])
    assert manifest["dependencies"] == GALAXY["dependencies"]
    assert manifest["license"] == GALAXY["license"]
