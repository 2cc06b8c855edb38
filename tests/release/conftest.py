"""Release checks: build the collection as a user or Galaxy would receive it, then inspect it."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(sys.executable).parent
GALAXY = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text(encoding="utf-8"))


def tool_env() -> dict[str, str]:
    """The environment make gives the tools: the developer ansible.cfg and the venv first on PATH."""
    return {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
            "PATH": f"{BIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}"}


@pytest.fixture(scope="session")
def built_tarball(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``ansible-galaxy collection build`` of this checkout, into a temporary directory."""
    out = tmp_path_factory.mktemp("collection")
    completed = subprocess.run([str(BIN_DIR / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(out)],
                               cwd=REPO_ROOT, env=tool_env(), capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr
    tarball = out / f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"
    assert tarball.is_file(), completed.stdout
    return tarball


@pytest.fixture(scope="session")
def installed_collection(built_tarball: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tarball unpacked where a collections path would hold it: ``<root>/ansible_collections/ns/name``."""
    root = tmp_path_factory.mktemp("collections")
    target = root / "ansible_collections" / GALAXY["namespace"] / GALAXY["name"]
    target.mkdir(parents=True)
    with tarfile.open(built_tarball) as archive:
        archive.extractall(target, filter="data")
    return target
