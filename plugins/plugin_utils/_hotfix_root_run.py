# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Control flow of cau_hotfix_root and cau_hotfix_root_info (for internal collection use only).

Build: read (the server, or the ``stage_dir`` folder), decide with the one diff engine of
``_hotfix_root``, then apply (one ``put_file`` per changed file and one ``apply`` round trip,
or local file operations). A second run reads, finds nothing to do and stops. Info: one read,
every preflight check, nothing changed. The host is a :class:`HostSide`, so the flow is
unit-tested with a fake.
"""

from __future__ import annotations

import base64
import hashlib
import json
import ntpath
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any, Mapping, Protocol

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._hotfix_layout import (
    FIREWALL_RULE_NAME,
    PlannedFile,
)
from ansible_collections.winfleet.updates.plugins.plugin_utils._action import HostModuleFailed
from ansible_collections.winfleet.updates.plugins.plugin_utils._hotfix_root import (
    MANIFEST_NAME,
    SCHEMA_NAME,
    Changes,
    Description,
    Observed,
    account_state,
    build_config,
    hash_sources,
    observe_folder,
    parse_observed,
    plan_changes,
    plugin_arguments,
    preflight_checks,
)


class HostSide(Protocol):
    """The file server, as the action plugin reaches it."""

    name: str

    def run(self, args: dict[str, Any]) -> dict[str, Any]:
        """Run the host module; raise ``HostModuleFailed`` when it fails."""

    def put(self, local_path: str, remote_path: str) -> None:
        """Copy a controller file to the host (one ``put_file``)."""


def read_host(host: HostSide, desc: Description) -> Observed:
    """One round trip: the root, its ACLs, the share, the firewall rule, the account and the
    CAU tools' DefaultHotfixConfig.xml and HotfixConfigSchema.xsd."""
    args = {
        "_operation": "read",
        "_root": desc.local_root,
        "_share_name": desc.share.name if desc.share else None,
        "_share_subpath": list(desc.share_subpath),
        "_config_name": desc.config_name,
        "_manifest_name": MANIFEST_NAME,
        "_firewall_rule": (desc.options.get("firewall_rule") or FIREWALL_RULE_NAME) if desc.share else None,
        "_account": desc.options.get("cau_account") or None,
    }
    try:
        raw = host.run({k: v for k, v in args.items() if v is not None})
    except HostModuleFailed as err:
        failure = err.result.get("msg")
        err.result["msg"] = f"reading the hotfix root on {host.name} failed: {failure}; nothing was changed"
        raise
    return parse_observed(raw)


def _result(
    desc: Description, observed: Observed, changes: Changes, sources: list[PlannedFile]
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "changed": changes.changed,
        "mode": "stage" if observed.local else "apply",
        "root": observed.root_path,
        **{key: getattr(changes, key) for key in ("created", "updated", "unchanged", "stale")},
        "removed": [r["path"] for r in changes.removals],
        **{key: getattr(changes, key) for key in ("foreign", "config_changed", "xml_diff", "warnings")},
        "files": [{"path": s.path, "src": s.src, "sha256": s.sha256} for s in sources],
        "plugin_arguments": plugin_arguments(desc),
    }
    if observed.local:
        return {
            **result,
            "stage_dir": observed.root_path,
            "manifest": str(Path(str(observed.root_path)) / MANIFEST_NAME),
        }
    share = None
    if desc.share:
        created = bool(changes.share and changes.share["create"])
        share = {"name": desc.share.name, "encrypt_data": desc.share.encrypt_data, "created": created}
        share["changed"] = changes.share is not None
    return {
        **result,
        "hotfix_root": desc.root.path if desc.root else None,
        "computer_name": observed.computer_name,
        "root_created": changes.create_root,
        "folders_created": changes.folders,
        "transferred": [t.path for t in changes.transfers],
        "transferred_bytes": sum(t.size for t in changes.transfers),
        "acl_changed": [c["path"] or "." for c in changes.acl],
        "share": share,
        "signing_changed": changes.require_signing,
        "firewall_changed": changes.firewall_rule is not None,
        "done": [],
    }


def _diff(desc: Description, observed: Observed, changes: Changes) -> list[dict[str, str]]:
    """The configuration XML, the file list with hashes, and the security settings."""
    root = observed.root_path or ""
    own = (MANIFEST_NAME.casefold(), desc.config_name.casefold())
    before = {f["path"]: f["sha256"] for k, f in observed.files.items() if k not in own}
    removed = {r["path"] for r in changes.removals}
    after = {p: s for p, s in before.items() if p not in removed}
    after.update({t.path: t.sha256 for t in changes.transfers})

    def lines(files: Mapping[str, str]) -> str:
        return "".join(
            f"{p}  sha256:{s[:16]}\n" for p, s in sorted(files.items(), key=lambda e: e[0].casefold())
        )

    def entry(header: str, old: str, new: str) -> dict[str, str]:
        return {"before_header": header, "after_header": header, "before": old, "after": new}

    config_before = (observed.config or b"").decode("utf-8", "replace")
    entries = [
        entry(ntpath.join(root, desc.config_name), config_before, changes.config.decode("utf-8", "replace")),
        entry(f"{root} (files)", lines(before), lines(after)),
    ]
    security = [(f"acl {c['path'] or '.'}", c["before"], c["after"]) for c in changes.acl]
    if changes.share:
        security.append((f"share {changes.share['name']}", changes.share["before"], changes.share["after"]))
    if changes.require_signing:
        security.append(("smb server RequireSecuritySignature", "False", "True"))
    if changes.firewall_rule:
        security.append((f"firewall '{changes.firewall_rule}'", "disabled", "enabled"))
    if security:
        old = "".join(f"{name}: {value}\n" for name, value, _after in security)
        new = "".join(f"{name}: {value}\n" for name, _before, value in security)
        entries.append(entry(f"{root} (security)", old, new))
    return entries


def run_build(desc: Description, host: HostSide | None, *, check_mode: bool, diff: bool) -> dict[str, Any]:
    """Build the root on the file server (``host``), or in ``stage_dir`` on the controller."""
    sources = hash_sources(desc.files)
    if desc.stage_dir:
        observed = observe_folder(Path(desc.stage_dir).absolute(), desc.config_name)
    else:
        observed = read_host(host, desc)
    changes = plan_changes(desc, observed, sources, build_config(desc, observed))
    result = _result(desc, observed, changes, sources)
    if diff:
        result["diff"] = _diff(desc, observed, changes)
    if desc.options.get("cau_account") and not observed.local:
        account = result["account"] = account_state(desc, observed)
        if not account["is_local_admin"]:
            changes.warnings.append(
                f"{account['name']} is not a local administrator on {observed.computer_name} "
                f"({account['how']}); the HotfixPlugin run needs that (the module does not change group "
                "membership)"
            )
    if check_mode or not changes.changed:
        return result
    if observed.local:
        apply_folder(Path(str(observed.root_path)), desc, changes)
        return result
    return _apply(desc, host, observed, changes, result)


def run_info(desc: Description, host: HostSide) -> dict[str, Any]:
    """Every preflight check, changing nothing."""
    sources = hash_sources(desc.files)
    observed = read_host(host, desc)
    checks = preflight_checks(desc, observed, sources)
    failed = [c for c in checks if not c.passed]
    blocking = [c.name for c in failed if c.blocking]
    return {
        "changed": False,
        "root": observed.root_path,
        "hotfix_root": desc.root.path if desc.root else None,
        "computer_name": observed.computer_name,
        "checks": [c.to_dict() for c in checks],
        "preflight_passed": not blocking,
        "failed_checks": [c.name for c in failed],
        "blocking_failures": blocking,
        "account": account_state(desc, observed) if desc.options.get("cau_account") else None,
        "windows_schema": {
            "available": observed.schema is not None,
            "path": ntpath.join(observed.tools_dir, SCHEMA_NAME),
        },
        "plugin_arguments": plugin_arguments(desc),
    }


# --------------------------------------------------------------------------------------------
# Applying: a local folder, or the file server
# --------------------------------------------------------------------------------------------


def _write(target: Path, data: bytes = b"", source: PlannedFile | None = None) -> None:
    """Write through a temporary file beside the target, then rename: nobody sees half a
    file, a link at the target is replaced, not followed, and a source that changed since it
    was hashed is not placed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".stage-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        if source:
            shutil.copyfile(source.src, temporary)
            with open(temporary, "rb") as copied:
                if hashlib.file_digest(copied, "sha256").hexdigest() != source.sha256:
                    raise InputError("updates", f"{source.src} changed while it was being copied; run again")
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def apply_folder(stage: Path, desc: Description, changes: Changes) -> None:
    """Apply a change set to a local folder, in the host module's order."""
    resolved = stage.resolve()
    targets = [stage.joinpath(*source.parts) for source in changes.transfers]
    for target in targets:  # links are the one way out of the stage: all checked before any write
        if resolved != target.parent.resolve() and resolved not in target.parent.resolve().parents:
            raise InputError(
                "stage_dir", f"{target} resolves outside the stage directory {stage}; remove the link"
            )
    for source, target in zip(changes.transfers, targets):
        _write(target, source=source)
    if changes.config_changed:
        _write(stage / desc.config_name, changes.config)
    for removal in changes.removals:
        stage.joinpath(*removal["path"].split("\\")).unlink(missing_ok=True)
    for folder in changes.remove_folders:
        stage.joinpath(*folder.split("\\")).rmdir()
    if changes.manifest is not None:  # size and mtime let the next run skip hashing unchanged files
        files = {}
        for key, entry in sorted(changes.manifest.items()):
            info = stage.joinpath(*key.split("/")).stat()
            files[key] = {**entry, "size": info.st_size, "mtime": str(info.st_mtime_ns)}
        manifest = json.dumps({"version": 2, "files": files}, indent=2, sort_keys=True) + "\n"
        _write(stage / MANIFEST_NAME, manifest.encode())


def _apply(
    desc: Description, host: HostSide, observed: Observed, changes: Changes, result: dict[str, Any]
) -> dict[str, Any]:
    token, incoming = uuid.uuid4().hex[:12], {}
    for number, transfer in enumerate(changes.transfers):
        remote = ntpath.join(observed.temp_dir, f"winfleet-hotfix-{token}-{number}.part")
        try:
            host.put(transfer.src, remote)
        except Exception as err:  # any transport error: report it with what was left behind
            cleaned = _cleanup(host, list(incoming.values()))
            result.update(
                failed=True,
                changed=False,
                transferred=[],
                msg=f"copying {transfer.path} to {host.name} failed: {err}; nothing under the hotfix root "
                f"was changed ({cleaned})",
            )
            return result
        incoming[transfer.path] = remote
    args: dict[str, Any] = {
        "_operation": "apply",
        "_root": observed.root_path,
        "_create_root": changes.create_root,
        "_folders": changes.folders,
        "_acl": [{k: c[k] for k in ("path", "protect", "entries")} for c in changes.acl],
        "_files": [
            {"path": t.path, "source": incoming[t.path], "sha256": t.sha256} for t in changes.transfers
        ],
        "_config_name": desc.config_name,
        "_remove": changes.removals,
        "_remove_folders": changes.remove_folders,
        "_manifest_name": MANIFEST_NAME,
        "_require_signing": changes.require_signing,
    }
    if changes.config_changed:
        content, sha256 = (
            base64.b64encode(changes.config).decode(),
            hashlib.sha256(changes.config).hexdigest(),
        )
        args["_config"] = {"content": content, "sha256": sha256}
    if changes.manifest is not None:
        args["_manifest"] = changes.manifest
    if changes.share:
        args["_share"] = {k: changes.share[k] for k in ("name", "path", "create", "encrypt_data")}
    if changes.firewall_rule:
        args["_enable_firewall_rule"] = changes.firewall_rule
    try:
        answer = host.run(args)
    except HostModuleFailed as err:
        done, step = list(err.result.get("done") or []), err.result.get("failed_step") or "?"
        result.update(
            failed=True,
            changed=bool(done),
            done=done,
            failed_step=step,
            msg=f"applying the hotfix root on {host.name} failed at '{step}': {err.result.get('msg')}. "
            f"Done before the failure: {'; '.join(done) if done else 'nothing'}. Nothing after it was "
            "applied; fix the cause and run again (the module is idempotent)",
        )
        return result
    result.update(done=list(answer.get("done") or []), changed=True)
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
