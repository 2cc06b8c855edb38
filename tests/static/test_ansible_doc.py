"""``ansible-doc`` renders every module of the collection from the checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.static.test_module_contract import MODULE_NAMES

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_ansible_doc_renders_every_module():
    names = [f"winfleet.updates.{name}" for name in MODULE_NAMES]
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg")}
    completed = subprocess.run([str(Path(sys.executable).parent / "ansible-doc"), "--json", *names],
                               cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    docs = json.loads(completed.stdout)
    assert sorted(docs) == sorted(names)
    for name in names:
        assert docs[name]["doc"]["options"] or docs[name]["doc"]["short_description"]
    text = subprocess.run([str(Path(sys.executable).parent / "ansible-doc"), "winfleet.updates.virtio_probe"],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert text.returncode == 0 and "required_capabilities" in text.stdout and "[WARNING]" not in text.stderr
