# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Control flow of winfleet.updates.cau_hotfix_root (for internal collection use only).

Three ways to run, all from one validated :class:`Description`:

* ``stage_dir``: build the tree on the controller (``_hotfix_stage.stage_tree``); no host is
  contacted at all, so the task can run against ``localhost``;
* ``preflight``: one read round trip, then every check with pass/fail and the fix; nothing is
  changed;
* otherwise: one read round trip, the change set decided on the controller, a ``put_file`` per
  file whose sha256 differs, and one apply round trip. A second run reads, finds nothing to do
  and stops: no transfer, no apply.

The host is reached through :class:`HostSide` (the action plugin's ``_execute_module`` and
``_transfer_file``), so this flow is unit-tested with a fake host.
"""

from __future__ import annotations

import base64
import hashlib
import ntpath
import uuid
from pathlib import Path
from typing import Any, Protocol, Sequence

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._hotfix_config import render
from ansible_collections.winfleet.updates.plugins.module_utils._hotfix_layout import TreePlan
from ansible_collections.winfleet.updates.plugins.plugin_utils._action import HostModuleFailed
from ansible_collections.winfleet.updates.plugins.plugin_utils._hotfix_root import (
    WINDOWS_SCHEMA_NAME,
    Changes,
    Description,
    Observed,
    Source,
    config_bytes_for,
    diff_entries,
    parse_observed,
    plan_changes,
    plugin_arguments,
    preflight_checks,
    read_args,
)
from ansible_collections.winfleet.updates.plugins.plugin_utils._hotfix_stage import (
    MANIFEST_NAME,
    file_sha256,
    stage_tree,
)

__all__ = ["HostSide", "hash_sources", "run_hotfix_root"]


class HostSide(Protocol):
    """The file server, as the action plugin reaches it."""

    name: str

    def run(self, args: dict[str, Any]) -> dict[str, Any]:
        """Run the host module with ``args``; raise ``HostModuleFailed`` when it fails."""

    def put(self, local_path: str, remote_path: str) -> None:
        """Copy a controller file to the host (one ``put_file``)."""


def hash_sources(plan: TreePlan) -> list[Source]:
    """sha256 and size of every planned file, each source read once even when it fans out to
    several nodes; a missing source fails here, before any host round trip."""
    hashes: dict[str, tuple[str, int]] = {}
    sources: list[Source] = []
    for planned in plan.files:
        path = Path(planned.src)
        if planned.src not in hashes:
            if not path.is_file():
                raise InputError(
                    f"updates[{planned.index}].src", f"{planned.src} is not a file on the controller"
                )
            hashes[planned.src] = (file_sha256(path), path.stat().st_size)
        sha, size = hashes[planned.src]
        sources.append(Source(planned.relative_path, planned.src, sha, size, planned.index))
    return sources


def run_hotfix_root(
    desc: Description, host: HostSide | None, *, check_mode: bool = False, diff: bool = False
) -> dict[str, Any]:
    """Stage, check or build the hotfix root; returns the module result."""
    if desc.stage_dir:
        return _stage(desc, check_mode=check_mode, diff=diff)
    if host is None:
        raise InputError("path", "a file server is needed unless stage_dir is given")
    sources = hash_sources(desc.plan)
    candidate = render(desc.config) if desc.merge_desired is None else None
    observed = _read(host, desc, candidate)
    if desc.preflight:
        return _preflight(desc, observed, sources)
    _refuse_rejected(observed, "errors_candidate")
    config = config_bytes_for(desc, observed.config, observed.computer_name or host.name)
    changes = plan_changes(desc, observed, sources, config)
    result = _result(desc, observed, changes, sources)
    if diff:
        result["diff"] = diff_entries(desc, observed, changes)
    if check_mode or not changes.changed:
        return result
    return _apply(desc, host, observed, changes, result)


# --------------------------------------------------------------------------------------------
# Stage
# --------------------------------------------------------------------------------------------


def _stage(desc: Description, *, check_mode: bool, diff: bool) -> dict[str, Any]:
    """Build the tree on the controller. Merging needs a file to merge into: without one the
    full configuration (defaults included) is written, as it would be on a server."""
    if desc.stage_dir is None:
        raise AssertionError("staging needs stage_dir")
    stage = Path(desc.stage_dir)
    merging = desc.merge_desired is not None and (stage / desc.config_name).is_file()
    outcome = stage_tree(
        desc.plan,
        desc.merge_desired if merging and desc.merge_desired is not None else desc.config,
        stage,
        desc.prune,
        check_mode=check_mode,
        config_name=desc.config_name,
        merge_existing=merging,
        field="updates",
    )
    result: dict[str, Any] = {
        "mode": "stage",
        "stage_dir": str(stage.absolute()),
        **outcome.to_dict(),
        "plugin_arguments": plugin_arguments(desc),
    }
    result["warnings"] = list(outcome.warnings) + [
        f"the staged {desc.config_name} does not validate: {e}" for e in outcome.schema_errors
    ]
    result["manifest"] = str(stage.absolute() / MANIFEST_NAME)
    if diff:
        before = outcome.unchanged + outcome.updated + outcome.removed + outcome.stale + outcome.foreign
        after = outcome.unchanged + outcome.updated + outcome.created + outcome.stale + outcome.foreign
        entries: list[dict[str, str]] = [{"prepared": outcome.xml_diff}] if outcome.xml_diff else []
        entries.append(
            {
                "before_header": f"{stage} (files)",
                "after_header": f"{stage} (files)",
                "before": "".join(f"{p}\n" for p in sorted(before, key=str.casefold)),
                "after": "".join(f"{p}\n" for p in sorted(after, key=str.casefold)),
            }
        )
        result["diff"] = entries
    return result


# --------------------------------------------------------------------------------------------
# Read and preflight
# --------------------------------------------------------------------------------------------


def _read(host: HostSide, desc: Description, candidate: bytes | None) -> Observed:
    try:
        raw = host.run(read_args(desc, candidate))
    except HostModuleFailed as err:
        err.result["msg"] = (
            f"reading the hotfix root on {host.name} failed: {err.result.get('msg')}; nothing was changed"
        )
        raise
    return parse_observed(raw)


def _refuse_rejected(observed: Observed, key: str) -> None:
    """Stop before any change when Windows' own schema rejects the file about to be written:
    the plug-in would refuse it at the first cluster run."""
    errors = [str(e) for e in (observed.schema.get(key) or [])]
    if errors:
        raise InputError(
            WINDOWS_SCHEMA_NAME,
            f"the configuration rendered from folder_rules/extension_rules does not validate against "
            f"{observed.schema.get('path') or WINDOWS_SCHEMA_NAME} on {observed.computer_name} (Windows' "
            f"authoritative schema): {'; '.join(errors)}; nothing was changed",
        )


def _preflight(desc: Description, observed: Observed, sources: Sequence[Source]) -> dict[str, Any]:
    """Every check, changing nothing. A configuration that cannot be merged is a finding here
    (the config_file check says why), not an error."""
    try:
        config = config_bytes_for(desc, observed.config, observed.computer_name)
    except InputError:
        config = render(desc.config)
    checks = preflight_checks(desc, observed, sources, config)
    failed = [c for c in checks if not c.passed]
    blocking = [c.name for c in failed if c.blocking]
    return {
        "changed": False,
        "mode": "preflight",
        "root": observed.root_path,
        "hotfix_root": desc.root.path if desc.root else None,
        "computer_name": observed.computer_name,
        "checks": [c.to_dict() for c in checks],
        "preflight_passed": not blocking,
        "failed_checks": [c.name for c in failed],
        "blocking_failures": blocking,
        "windows_schema": {
            "available": bool(observed.schema.get("present")),
            "path": observed.schema.get("path"),
            "errors": list(observed.schema.get("errors_existing") or []),
        },
        "plugin_arguments": plugin_arguments(desc),
        "account": _account_note(desc, observed),
    }


# --------------------------------------------------------------------------------------------
# Result of a build
# --------------------------------------------------------------------------------------------


def _account_note(desc: Description, observed: Observed) -> dict[str, Any] | None:
    """Who must hold rights on the file server; the module reports it and changes nothing."""
    if not desc.cau_account:
        return None
    seen = observed.account or {}
    server = observed.computer_name or "the file server"
    return {
        "name": desc.cau_account,
        "resolved": bool(seen.get("resolved")),
        "sid": seen.get("sid"),
        "is_local_admin": bool(seen.get("is_local_admin")),
        "needs": f"membership of Administrators on {server} (or Distributed COM Users plus one of "
        "Power Users, "
        "Server Operators, Print Operators, and WMI root\\CIMV2 Execute Methods + Remote Enable); in "
        "self-updating mode this is the CAU clustered role's computer object "
        "(Get-CauClusterRole ResourceGroupName)",
    }


def _server_warning(desc: Description, observed: Observed) -> list[str]:
    """A UNC root naming another server than the one the task runs on is probably a mistake
    (or an alias, which is why this is a warning)."""
    root = desc.root
    if root is None or root.kind != "unc" or desc.is_dfs or not root.server or not observed.computer_name:
        return []
    short = root.server.split(".", 1)[0]
    if short.isdigit() or short.casefold() == observed.computer_name.casefold():
        return []
    return [
        f"path names the server {root.server} but the task runs on {observed.computer_name}; make sure the "
        "name points to this file server"
    ]


def _result(
    desc: Description, observed: Observed, changes: Changes, sources: Sequence[Source]
) -> dict[str, Any]:
    warnings = list(changes.warnings) + _server_warning(desc, observed)
    account = _account_note(desc, observed)
    if account and not account["is_local_admin"]:
        warnings.append(
            f"{account['name']} is not a local administrator on {observed.computer_name}; "
            "the HotfixPlugin run "
            "needs that (the module does not change group membership)"
        )
    share = None
    if desc.share is not None:
        have = observed.share or {}
        share = {
            "name": desc.share.name,
            "path": changes.share.path if changes.share else have.get("path"),
            "encrypt_data": desc.share.encrypt_data,
            "created": bool(changes.share and changes.share.create),
            "changed": changes.share is not None,
        }
    return {
        "changed": changes.changed,
        "mode": "apply",
        "root": observed.root_path,
        "hotfix_root": desc.root.path if desc.root else None,
        "computer_name": observed.computer_name,
        "root_created": changes.create_root,
        "folders_created": list(changes.folders),
        "created": changes.created,
        "updated": changes.updated,
        "unchanged": changes.unchanged,
        "removed": changes.removed,
        "stale": changes.stale,
        "foreign": changes.foreign,
        "transferred": [t.path for t in changes.transfers],
        "transferred_bytes": sum(t.size for t in changes.transfers),
        "config_changed": changes.config_changed,
        "xml_diff": changes.xml_diff,
        "acl_changed": [c.path or "." for c in changes.acl],
        "share": share,
        "signing_changed": changes.require_signing,
        "firewall_changed": changes.firewall_rule is not None,
        "files": [{"path": s.path, "src": s.local_path, "sha256": s.sha256} for s in sources],
        "plugin_arguments": plugin_arguments(desc),
        "account": account,
        "warnings": warnings,
        "done": [],
    }


# --------------------------------------------------------------------------------------------
# Transfer and apply
# --------------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _apply_args(
    desc: Description, observed: Observed, changes: Changes, incoming: dict[str, str]
) -> dict[str, Any]:
    """The change set in the host module's vocabulary; the host applies it in a fixed order
    (root, its ACL, folders, ACLs, files, configuration, removals, manifest, share, signing,
    firewall) and reports each step it finished."""
    args: dict[str, Any] = {
        "_operation": "apply",
        "_root": observed.root_path,
        "_create_root": changes.create_root,
        "_folders": list(changes.folders),
        "_acl": [
            {"path": c.path, "protect": c.protect, "entries": [dict(e) for e in c.entries]}
            for c in changes.acl
        ],
        "_files": [
            {"path": t.path, "source": incoming[t.path], "sha256": t.sha256} for t in changes.transfers
        ],
        "_config_name": desc.config_name,
        "_remove": list(changes.removals),
        "_remove_folders": list(changes.remove_folders),
        "_manifest_name": MANIFEST_NAME,
        "_require_signing": changes.require_signing,
    }
    if changes.config_changed:
        args["_config"] = {
            "content": _b64(changes.config),
            "sha256": hashlib.sha256(changes.config).hexdigest(),
        }
    if changes.manifest is not None:
        args["_manifest"] = {"content": _b64(changes.manifest)}
    if changes.share is not None:
        args["_share"] = {
            "name": changes.share.name,
            "path": changes.share.path,
            "create": changes.share.create,
            "encrypt_data": changes.share.encrypt_data,
        }
    if changes.firewall_rule:
        args["_enable_firewall_rule"] = changes.firewall_rule
    return args


class _TransferFailed(Exception):
    def __init__(self, path: str, error: Exception, placed: list[str]) -> None:
        super().__init__(str(error))
        self.path = path
        self.error = error
        self.placed = placed


def _transfer(host: HostSide, observed: Observed, changes: Changes) -> dict[str, str]:
    """Copy each changed file to a uniquely named file in the host's temp folder (no extra
    round trip to create a directory); the apply step verifies each sha256 before using it."""
    if not observed.temp_dir:
        raise InputError(f"{host.name}", "the host did not report a temporary folder for the transfer")
    token = uuid.uuid4().hex[:12]
    incoming: dict[str, str] = {}
    placed: list[str] = []
    for number, transfer in enumerate(changes.transfers):
        remote = ntpath.join(observed.temp_dir, f"winfleet-hotfix-{token}-{number}.part")
        try:
            host.put(transfer.local_path, remote)
        except Exception as err:  # any transport error: report it with what was left behind
            raise _TransferFailed(transfer.path, err, placed) from None
        placed.append(remote)
        incoming[transfer.path] = remote
    return incoming


def _apply(
    desc: Description, host: HostSide, observed: Observed, changes: Changes, result: dict[str, Any]
) -> dict[str, Any]:
    try:
        incoming = _transfer(host, observed, changes)
    except _TransferFailed as failure:
        cleaned = _cleanup(host, failure.placed)
        result.update(
            failed=True,
            changed=False,
            msg=f"copying {failure.path} to {host.name} failed: {failure.error}; "
            "nothing under the hotfix root was "
            f"changed ({cleaned})",
            transferred=[],
        )
        return result
    try:
        answer = host.run(_apply_args(desc, observed, changes, incoming))
    except HostModuleFailed as err:
        done = list(err.result.get("done") or [])
        step = err.result.get("failed_step") or "?"
        summary = "; ".join(done) if done else "nothing"
        result.update(
            failed=True,
            changed=bool(done),
            done=done,
            failed_step=step,
            msg=f"applying the hotfix root on {host.name} failed at '{step}': {err.result.get('msg')}. "
            f"Done before the failure: {summary}. Nothing after it was applied; fix the cause and run "
            "again (the module is idempotent)",
        )
        return result
    result["done"] = list(answer.get("done") or [])
    result["changed"] = True
    return result


def _cleanup(host: HostSide, placed: list[str]) -> str:
    """Best effort: remove the files already copied to the temp folder."""
    if not placed:
        return "no file had been copied"
    try:
        host.run({"_operation": "cleanup", "_incoming": placed})
    except Exception as err:  # the connection may be what failed
        return f"the {len(placed)} file(s) already copied to the temp folder could not be removed: {err}"
    return f"the {len(placed)} file(s) already copied to the temp folder were removed"
