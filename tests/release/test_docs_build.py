"""antsibull-docs generates the reference of every module and role, offline (what ``make docs`` runs)."""

from __future__ import annotations

import subprocess

from antsibull_docs_parser.rst import rst_escape

from tests.release.conftest import BIN_DIR, REPO_ROOT, tool_env
from tests.static.playbooks import ROLES
from tests.static.test_module_contract import MODULE_NAMES, load_docs


def test_reference_has_a_page_per_module_and_role(tmp_path):
    completed = subprocess.run([str(BIN_DIR / "antsibull-docs"), "collection", "--use-current", "--dest-dir", str(tmp_path),
                                "winfleet.updates"], cwd=REPO_ROOT, env=tool_env(), capture_output=True, text=True,
                               timeout=300, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    pages = tmp_path / "collections" / "winfleet" / "updates"
    for module in MODULE_NAMES:
        page = (pages / f"{module}_module.rst").read_text(encoding="utf-8")
        # the page holds the text as RST, escaped the way antsibull-docs escapes it (Cluster\-Aware)
        assert rst_escape(load_docs(module)["DOCUMENTATION"]["short_description"]) in page, \
            f"{module}: the reference page is not the module's (an error page?)"
        for option in load_docs(module)["DOCUMENTATION"].get("options") or {}:
            assert option in page, f"{module}: option {option} missing from the reference"
    for role in ROLES:
        assert (pages / f"{role}_role.rst").exists(), f"no reference page for role {role}"
    index = (pages / "index.rst").read_text(encoding="utf-8")
    assert all(name in index for name in MODULE_NAMES + ROLES)
