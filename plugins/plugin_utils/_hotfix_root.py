# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cau_hotfix_root and cau_hotfix_root_info on the controller (for internal collection use only).

One diff engine for both places a hotfix root can be built: :func:`plan_changes` compares the
description with an :class:`Observed` state and decides every change. The state comes from the
file server (one ``read`` round trip of the host module) or from a local folder on the
controller (``stage_dir``, :func:`observe_folder`); the change set is applied by the host module
(one ``apply`` round trip after one ``put_file`` per changed file) or by ``apply_folder``.
The configuration written is always Microsoft's DefaultHotfixConfig.xml (read where the CAU
tools are installed, or ``base_config``) plus the rules, in the base's shape (_hotfix_config).
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import json
import ntpath
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._hotfix_config import (
    BUILTIN_BASE,
    Rule,
    add_rules,
    read_rules,
    rules_from_options,
    schema_errors,
)
from ansible_collections.winfleet.updates.plugins.module_utils._hotfix_layout import (
    CONFIG_FILE_NAME,
    DEFAULT_EXTENSIONS,
    FIREWALL_RULE_NAME,
    Check,
    HotfixRoot,
    PlannedFile,
    desired_acl,
    display,
    is_local_admin,
    plan_tree,
    preflight,
    rights_mask,
    rights_text,
    validate_file_name,
    validate_hotfix_root,
    validate_netbios_name,
    validate_share_name,
)

HOST_MODULE = "winfleet.updates.cau_hotfix_root"
MANIFEST_NAME = ".winfleet_hotfix_stage.json"
# Where the CAU tools keep Microsoft's base file and schema (the host module reads both there).
CAU_MODULE_DIR = "%SystemRoot%\\System32\\WindowsPowerShell\\v1.0\\Modules\\ClusterAwareUpdating"
SCHEMA_NAME = "HotfixConfigSchema.xsd"
NOTHING_CHANGED = "nothing was changed"
ResolvePath = Callable[[str, str], str]


# --------------------------------------------------------------------------------------------
# Description: every option validated, every problem reported at once
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    name: str
    path: str | None
    encrypt_data: bool
    require_signing: bool


@dataclass
class Description:
    root: HotfixRoot | None
    local_root: str | None
    share: Share | None
    share_subpath: tuple[str, ...]
    rules: list[Rule]
    files: list[PlannedFile]
    warnings: list[str]
    nodes: list[str] | None
    options: Mapping[str, Any]
    stage_dir: str | None
    config_name: str
    base_config: str | None


def _share(
    root: HotfixRoot | None, spec: Mapping[str, Any], is_dfs: bool
) -> tuple[Share | None, str | None, tuple[str, ...]]:
    """The share publishing the root, the root's local path when the options tell it, and the
    folders between share and root. A UNC root is published by its share; a DFS path names a
    namespace, so the folder target's share must be named; a local root only when given."""
    name = validate_share_name(spec["name"], "share.name") if spec.get("name") is not None else None
    path = None
    if spec.get("path") is not None:
        folder = validate_hotfix_root(spec["path"], "share.path")
        if folder.kind != "local":
            raise InputError(
                "share.path",
                f"{spec['path']!r} must be a local folder on the file server, e.g. D:\\CauHotfix",
            )
        path = folder.path

    def make(name: str, share_path: str | None) -> Share:
        return Share(name, share_path, spec.get("encrypt_data", True), spec.get("require_signing", False))

    if root is None or root.kind == "local":
        local = root.path if root else None
        if not spec:
            return None, local, ()
        if name is None:
            raise InputError("share.name", "is required to publish a local root on an SMB share")
        folder = path or local
        if root and not (root.path.casefold() + "\\").startswith(folder.casefold().rstrip("\\") + "\\"):
            raise InputError("share.path", f"the root {root.path} must be {folder} or a folder below it")
        return make(name, folder), local, ()
    if is_dfs:
        if name is None:
            raise InputError(
                "share.name",
                "a DFS namespace path does not name this file server's share; give share.name (the share of "
                "the DFS folder target on this server)",
            )
        return make(name, path), path, ()
    if name is not None and name.casefold() != root.share.casefold():
        raise InputError(
            "share.name",
            f"{name!r} differs from the share in path ({root.path}); the root is published by {root.share}",
        )
    return make(root.share, path), ntpath.join(path, *root.folders) if path else None, root.folders


def _integrity(share: Share | None, require_encryption: bool) -> None:
    """Refuse what the plug-in rejects: a share neither encrypted nor signed, or not encrypted
    while the run requires encryption."""
    if share is None and require_encryption:
        raise InputError(
            "require_smb_encryption",
            "needs a share to encrypt; give share (or a UNC path) or set it to false",
        )
    if share and not share.encrypt_data and not share.require_signing:
        raise InputError(
            "share.encrypt_data",
            "the HotfixPlugin needs SMB encryption or signing on the share; set encrypt_data: true "
            "(recommended) or require_signing: true",
        )
    if share and require_encryption and not share.encrypt_data:
        raise InputError(
            "share.encrypt_data",
            "require_smb_encryption: true makes every run fail on a share that does not encrypt; "
            "set encrypt_data: true",
        )


def describe(args: Mapping[str, Any], resolve: ResolvePath) -> Description:
    """Validate every option before any host is contacted; all problems in one error, the
    first naming the option (``InputError.field``). ``resolve`` finds a relative controller
    path (playbook directory, inventory directory, current directory)."""
    errors: list[InputError] = []

    def attempt(step: Callable[[], Any], default: Any = None) -> Any:
        try:
            return step()
        except InputError as err:
            errors.append(err)
            return default

    stage_dir, is_dfs = args.get("stage_dir") or None, bool(args.get("is_dfs"))
    root = None
    if args.get("path"):
        root = attempt(lambda: validate_hotfix_root(args["path"], "path", is_dfs))
    elif not stage_dir:
        errors.append(
            InputError(
                "path",
                "is required: the HotfixRootFolderPath, a local folder on the file server (D:\\CauHotfix) or "
                "\\\\server\\share\\folder; or give stage_dir to build the tree on the controller",
            )
        )
    rules = rules_from_options(args.get("folder_rules") or [], args.get("extension_rules") or [], errors)
    nodes = None
    if args.get("nodes") is not None:
        checked = [
            attempt(lambda n=n, i=i: validate_netbios_name(n, f"nodes[{i}]"))
            for i, n in enumerate(args["nodes"])
        ]
        nodes = [n for n in checked if n is not None]
    extensions = list(DEFAULT_EXTENSIONS) + [r.name for r in rules if r.kind == "Extension"]
    rule_folders = [r.name for r in rules if r.kind == "Folder"]
    files, warnings = plan_tree(args.get("updates") or [], rule_folders, nodes, extensions, errors)
    named, resolved = {e.field for e in errors}, {}
    for planned in files:
        if planned.src not in resolved and f"updates[{planned.index}].src" not in named:
            resolved[planned.src] = attempt(lambda p=planned: resolve(p.src, f"updates[{p.index}].src"))
    files = [replace(f, src=resolved[f.src]) for f in files if resolved.get(f.src)]
    share_spec = args.get("share") or {}
    share, local_root, subpath = attempt(lambda: _share(root, share_spec, is_dfs), (None, None, ()))
    if args.get("path"):
        attempt(lambda: _integrity(share, bool(args.get("require_smb_encryption"))))
    wanted = args.get("config_name") or CONFIG_FILE_NAME
    config_name = attempt(lambda: validate_file_name(wanted, "config_name"), CONFIG_FILE_NAME)
    if config_name.casefold() == MANIFEST_NAME.casefold():
        errors.append(InputError("config_name", f"{MANIFEST_NAME} is the module's own manifest"))
    base = args.get("base_config") or None
    if base and base != "builtin":
        base = attempt(lambda: resolve(base, "base_config"))
    if stage_dir:
        stage_dir = attempt(lambda: resolve(stage_dir, "stage_dir"))
        if stage_dir and not base:
            errors.append(
                InputError(
                    "base_config",
                    "is required with stage_dir: the controller has no CAU tools; copy "
                    f"DefaultHotfixConfig.xml from {CAU_MODULE_DIR} on a machine that has them and give "
                    "its path (or base_config: builtin to use this collection's assumption of the format)",
                )
            )
    if errors:
        raise InputError(errors[0].field, errors[0].message + "".join(f"; also {e}" for e in errors[1:]))
    return Description(
        root, local_root, share, subpath, rules, files, warnings, nodes, args, stage_dir, config_name, base
    )


def plugin_arguments(desc: Description) -> dict[str, Any]:
    """The Microsoft.HotfixPlugin arguments that use this root (docs/cau_arguments.md)."""
    if desc.root is None:
        return {}
    arguments: dict[str, Any] = {"HotfixRootFolderPath": desc.root.path}
    if desc.options.get("require_smb_encryption"):
        arguments["RequireSMBEncryption"] = True
    if desc.options.get("disable_acl_checks"):
        arguments["DisableAclChecks"] = True
    if desc.config_name != CONFIG_FILE_NAME:
        arguments["HotfixConfigFileName"] = desc.config_name
    return arguments


def sha256_file(path: str | Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def hash_sources(files: list[PlannedFile]) -> list[PlannedFile]:
    """The planned files with the sha256 and size of their source, each source read once."""
    cache: dict[str, tuple[str, int]] = {}
    for f in files:
        if f.src not in cache:
            if not Path(f.src).is_file():
                raise InputError(f"updates[{f.index}].src", f"{f.src} is not a file on the controller")
            cache[f.src] = (sha256_file(f.src), Path(f.src).stat().st_size)
    return [replace(f, sha256=cache[f.src][0], size=cache[f.src][1]) for f in files]


# --------------------------------------------------------------------------------------------
# Observed state: the file server's answer, or a local folder
# --------------------------------------------------------------------------------------------


@dataclass
class Observed:
    """A hotfix root as found; mappings keyed by the casefolded relative path ('' = root)."""

    computer_name: str
    root_path: str | None
    root_exists: bool
    folders: dict[str, str] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    reparse_points: list[str] = field(default_factory=list)
    acl: dict[str, dict[str, Any]] = field(default_factory=dict)
    config: bytes | None = None
    manifest: bytes | None = None
    share: dict[str, Any] | None = None
    smb: dict[str, Any] = field(default_factory=dict)
    firewall: dict[str, Any] | None = None
    base: bytes | None = None
    schema: bytes | None = None
    tools_dir: str = CAU_MODULE_DIR
    account: dict[str, Any] | None = None
    temp_dir: str = ""
    local: bool = False


def parse_observed(raw: Mapping[str, Any]) -> Observed:
    """The host module's ``read`` answer; a malformed one is named, never a traceback."""

    def b64(value: Any, key: str) -> bytes | None:
        try:
            return None if value is None else base64.b64decode(value, validate=True)
        except (ValueError, TypeError):
            raise InputError(f"{HOST_MODULE} answer.{key}", "is not base64") from None

    try:
        tools, root = raw.get("cau_tools") or {}, raw.get("root") or {}
        return Observed(
            computer_name=str(raw.get("computer_name") or ""),
            root_path=root.get("path"),
            root_exists=bool(root.get("exists")),
            folders={str(p).casefold(): str(p) for p in raw.get("folders") or []},
            files={
                f["path"].casefold(): {**f, "sha256": str(f["sha256"]).lower()}
                for f in raw.get("files") or []
            },
            reparse_points=list(raw.get("reparse_points") or []),
            acl={str(k).casefold(): {**v, "path": str(k)} for k, v in (raw.get("acl") or {}).items()},
            config=b64(raw.get("config"), "config"),
            manifest=b64(raw.get("manifest"), "manifest"),
            share=raw.get("share"),
            smb=dict(raw.get("smb") or {}),
            firewall=raw.get("firewall"),
            base=b64(tools.get("config"), "cau_tools.config"),
            schema=b64(tools.get("schema"), "cau_tools.schema"),
            tools_dir=str(tools.get("folder") or CAU_MODULE_DIR),
            account=raw.get("account"),
            temp_dir=str(raw.get("temp_dir") or ""),
        )
    except (AttributeError, KeyError, TypeError) as err:
        raise InputError(
            f"{HOST_MODULE} answer",
            f"unexpected shape ({err!r}); the host module and the action plugin are from different versions",
        ) from None


def _manifest_files(data: bytes | None) -> dict[str, dict[str, Any]]:
    """``{posix relative path: {sha256, size, mtime}}``; a damaged manifest reads as empty (then
    prune removes nothing this time: the safe direction)."""
    try:
        return {str(k): dict(v) for k, v in (json.loads(data or b"{}").get("files") or {}).items()}
    except (ValueError, AttributeError, TypeError):
        return {}


def observe_folder(stage: Path, config_name: str) -> Observed:
    """A local folder as :class:`Observed`. Size and modification time are compared with the
    manifest first; a file is hashed only when they differ. Links are reported, not followed."""
    observed = Observed("localhost", str(stage), stage.is_dir(), local=True)
    if not stage.is_dir():
        if stage.exists():
            raise InputError("stage_dir", f"{stage} exists and is not a directory")
        return observed
    manifest_path, config_path = stage / MANIFEST_NAME, stage / config_name
    observed.manifest = manifest_path.read_bytes() if manifest_path.is_file() else None
    observed.config = config_path.read_bytes() if config_path.is_file() else None
    known = _manifest_files(observed.manifest)
    for dirpath, dirnames, filenames in os.walk(stage):
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            rel = "\\".join(path.relative_to(stage).parts)
            if path.is_symlink():
                observed.reparse_points.append(rel)
                dirnames[:] = [d for d in dirnames if d != name]
            elif path.is_dir():
                observed.folders[rel.casefold()] = rel
            else:
                stat, entry = path.stat(), known.get(rel.replace("\\", "/"), {})
                same = entry.get("size") == stat.st_size and entry.get("mtime") == str(stat.st_mtime_ns)
                sha256 = entry["sha256"] if same else sha256_file(path)
                observed.files[rel.casefold()] = {"path": rel, "size": stat.st_size, "sha256": sha256}
    return observed


# --------------------------------------------------------------------------------------------
# The diff engine
# --------------------------------------------------------------------------------------------


@dataclass
class Changes:
    """The change set; the lists of paths are the module's result, the rest what to apply."""

    create_root: bool = False
    folders: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    transfers: list[PlannedFile] = field(default_factory=list)
    removals: list[dict[str, str]] = field(default_factory=list)
    remove_folders: list[str] = field(default_factory=list)
    config: bytes = b""
    config_changed: bool = False
    xml_diff: str = ""
    manifest: dict[str, dict[str, str]] | None = None
    acl: list[dict[str, Any]] = field(default_factory=list)
    share: dict[str, Any] | None = None
    require_signing: bool = False
    firewall_rule: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        files = (
            self.folders
            or self.transfers
            or self.removals
            or self.remove_folders
            or self.manifest is not None
        )
        security = self.acl or self.share or self.require_signing or self.firewall_rule
        return bool(self.create_root or files or self.config_changed or security)


def _acl_key(entry: Mapping[str, Any]) -> tuple[Any, ...]:
    def flags(value: Any) -> tuple[str, ...]:
        parts = (p.strip().casefold() for p in str(value or "None").split(","))
        return tuple(sorted(p for p in parts if p != "none"))

    allow = entry.get("type", "Allow")
    mask = rights_mask(entry["rights"]) | (0x100000 if allow == "Allow" else 0)
    return (
        str(entry["identity"]).upper(),
        mask,
        allow,
        flags(entry.get("inheritance")),
        flags(entry.get("propagation")),
    )


def _acl_text(protect: bool, entries: list[Mapping[str, Any]]) -> str:
    keys = map(_acl_key, entries)
    parts = sorted(
        f"{display(k[0])} {k[2]} {rights_text(k[1])} ({','.join(k[3] + k[4]) or 'this object'})" for k in keys
    )
    return ("inheritance off" if protect else "inherits") + "; explicit: " + ("; ".join(parts) or "none")


def _acl_changes(observed: Observed, changes: Changes, exe: set[str], gone: set[str]) -> list[dict[str, Any]]:
    """ACLs of the root and everything below that differ from the rule, plus new paths that
    need explicit entries (a new root, a new .exe folder); other new paths simply inherit."""
    paths = [("", True)]  # the root exists, or is created
    paths += [(p, True) for k, p in observed.folders.items() if k not in gone]
    paths += [(f["path"], False) for k, f in observed.files.items() if k not in gone]
    paths += [(f, True) for f in changes.folders if f.casefold() in exe]
    result = []
    for rel, is_dir in paths:
        protect, entries = desired_acl(root=rel == "", has_exe=is_dir and rel.casefold() in exe)
        have = observed.acl.get(rel.casefold())
        if have is not None:
            explicit = [a for a in have.get("aces") or [] if not a.get("inherited")]
            same = sorted(map(_acl_key, explicit)) == sorted(map(_acl_key, entries))
            if bool(have.get("protected")) == protect and same:
                continue
            before = _acl_text(bool(have.get("protected")), explicit)
        else:
            before = (
                "new" if (rel == "" and changes.create_root) or rel in changes.folders else "not readable"
            )
        after = _acl_text(protect, entries)
        result.append({"path": rel, "protect": protect, "entries": entries, "before": before, "after": after})
    return sorted(result, key=lambda c: (c["path"].count("\\") + bool(c["path"]), c["path"].casefold()))


def _prune(
    desc: Description, observed: Observed, changes: Changes, planned: set[str], manifest: dict
) -> set[str]:
    """Files the manifest says this module placed and no longer listed: removed with ``prune``
    when unmodified, else kept as ``stale`` (and kept in the manifest). Returns the removed keys."""
    gone: set[str] = set()
    for key, entry in sorted(_manifest_files(observed.manifest).items()):
        rel = key.replace("/", "\\").casefold()
        have = observed.files.get(rel)
        if rel in planned or have is None:
            continue
        if desc.options.get("prune") and have["sha256"] == entry.get("sha256"):
            changes.removals.append({"path": have["path"], "sha256": have["sha256"]})
            gone.add(rel)
            continue
        if desc.options.get("prune"):
            changes.warnings.append(
                f"{have['path']} was modified since the module placed it; kept (remove it by hand)"
            )
        changes.stale.append(have["path"])
        manifest[key] = {"sha256": str(entry.get("sha256"))}
    return gone


def plan_changes(desc: Description, observed: Observed, sources: list[PlannedFile], config: bytes) -> Changes:
    """Every change, decided on the controller (pure). Files compare by sha256; files this
    module placed (the manifest) and no longer listed are removed only with ``prune`` and only
    unmodified; files it never placed are ``foreign`` and kept. A host state the module must not
    paper over raises :class:`InputError` before anything changes."""
    server = observed.computer_name
    if observed.root_path is None:
        raise InputError(
            "share.path",
            f"share {desc.share.name if desc.share else '?'} does not exist on {server}, so the root's local "
            f"folder is unknown; give share.path (e.g. D:\\CauHotfix); {NOTHING_CHANGED}",
        )
    changes = Changes(create_root=not observed.root_exists, warnings=list(desc.warnings), config=config)
    folders = {"\\".join(s.parts[:d]) for s in sources for d in range(1, len(s.parts))}
    folders = sorted(folders, key=lambda f: (f.count("\\"), f.casefold()))
    for folder in folders:
        if folder.casefold() in observed.files:
            raise InputError(
                "updates",
                f"{folder} is a file on {server} where a folder must go; remove it; {NOTHING_CHANGED}",
            )
        if folder.casefold() not in observed.folders:
            changes.folders.append(folder)
    manifest: dict[str, dict[str, str]] = {}
    for source in sources:
        have = observed.files.get(source.path.casefold())
        if source.path.casefold() in observed.folders:
            raise InputError(
                "updates", f"{source.path} is a folder on {server}; remove it; {NOTHING_CHANGED}"
            )
        if have is not None and have["sha256"] == source.sha256:
            changes.unchanged.append(source.path)
        else:
            (changes.updated if have else changes.created).append(source.path)
            changes.transfers.append(source)
        manifest["/".join(source.parts)] = {"sha256": source.sha256}
    planned = {s.path.casefold() for s in sources}
    gone = _prune(desc, observed, changes, planned, manifest)
    placed = _manifest_files(observed.manifest)
    own = {desc.config_name.casefold(), MANIFEST_NAME.casefold()} | {
        k.replace("/", "\\").casefold() for k in placed
    }
    changes.foreign = [f["path"] for k, f in sorted(observed.files.items()) if k not in planned | own]
    remaining = [k for k in observed.files if k not in gone]
    emptied = {k.rsplit("\\", d)[0] for k in gone for d in range(1, k.count("\\") + 1)}
    for folder in sorted(emptied, key=lambda f: -f.count("\\")):
        if folder not in {f.casefold() for f in folders} and not any(
            k.startswith(folder + "\\") for k in remaining
        ):
            changes.remove_folders.append(observed.folders.get(folder, folder))
            remaining = [k for k in remaining if k != folder]
    if observed.config != config:
        changes.config_changed = True
        old = (observed.config or b"").decode("utf-8", "replace").splitlines(keepends=True)
        new = config.decode("utf-8", "replace").splitlines(keepends=True)
        diff = difflib.unified_diff(old, new, f"a/{desc.config_name}", f"b/{desc.config_name}")
        changes.xml_diff = "".join(diff)
    unchanged_manifest = {k: v.get("sha256") for k, v in placed.items()} == {
        k: v["sha256"] for k, v in manifest.items()
    }
    if not unchanged_manifest and (manifest or observed.manifest is not None):
        changes.manifest = manifest
    if observed.reparse_points:
        links = ", ".join(observed.reparse_points)
        changes.warnings.append(
            f"links (reparse points) under the root were not followed or secured: {links}"
        )
    if observed.local:
        return changes
    exe = {s.path.rsplit("\\", 1)[0].casefold() for s in sources if s.path.upper().endswith(".EXE")}
    exe |= {
        k.rsplit("\\", 1)[0] for k in observed.files if k not in gone and "\\" in k and k.endswith(".exe")
    }
    changes.acl = _acl_changes(observed, changes, exe, gone)
    changes.share = _share_change(desc, observed)
    changes.require_signing = bool(
        desc.share and desc.share.require_signing and not observed.smb.get("require_signing")
    )
    changes.firewall_rule = _firewall_change(desc, observed)
    return changes


def _share_change(desc: Description, observed: Observed) -> dict[str, Any] | None:
    share, have, server = desc.share, observed.share or {}, observed.computer_name
    if share is None:
        return None
    change = {
        "name": share.name,
        "path": have.get("path"),
        "create": False,
        "encrypt_data": share.encrypt_data,
    }
    if not have.get("exists"):
        folder = share.path or (observed.root_path if desc.root and desc.root.kind == "local" else None)
        if folder is None:
            raise InputError(
                "share.path",
                f"share {share.name} does not exist on {server}; give share.path, the local folder to "
                f"publish (e.g. D:\\CauHotfix); {NOTHING_CHANGED}",
            )
        after = f"{folder}, EncryptData={share.encrypt_data}"
        return {**change, "path": folder, "create": True, "before": "absent", "after": after}
    if share.path and share.path.casefold().rstrip("\\") != str(have.get("path")).casefold().rstrip("\\"):
        raise InputError(
            "share.path",
            f"share {share.name} on {server} publishes {have.get('path')}, not {share.path}; fix "
            f"share.path or the share; {NOTHING_CHANGED}",
        )
    if bool(have.get("encrypt_data")) == share.encrypt_data:
        return None
    before, after = f"EncryptData={bool(have.get('encrypt_data'))}", f"EncryptData={share.encrypt_data}"
    return {**change, "before": before, "after": after}


def _firewall_change(desc: Description, observed: Observed) -> str | None:
    rule, name = observed.firewall or {}, desc.options.get("firewall_rule") or FIREWALL_RULE_NAME
    if desc.share is None or not desc.options.get("firewall", True):
        return None
    if not rule.get("exists"):
        raise InputError(
            "firewall_rule",
            f"the rule '{name}' does not exist on {observed.computer_name} (it comes with the File Server "
            "role; on a localised Windows give its local display name or its Name); install the role, fix "
            f"firewall_rule, or set firewall: false if the firewall is managed elsewhere; {NOTHING_CHANGED}",
        )
    return None if rule.get("enabled") else name


# --------------------------------------------------------------------------------------------
# Base configuration and preflight
# --------------------------------------------------------------------------------------------


def base_and_schemas(desc: Description, observed: Observed) -> tuple[bytes, list[tuple[bytes, str]], str]:
    """Microsoft's file and the schemas to validate against: ``base_config`` (a controller file,
    with the schema beside it), ``builtin`` (our assumption, explicit opt-in), or the host's CAU
    tools; the file server's installed schema always counts too (one read, validated here once)."""
    schemas = []
    if observed.schema is not None:
        installed = f"{ntpath.join(observed.tools_dir, SCHEMA_NAME)} on {observed.computer_name}"
        schemas.append((observed.schema, installed))
    if desc.base_config == "builtin":
        return BUILTIN_BASE, schemas, "the built-in base (base_config: builtin)"
    if desc.base_config:
        beside = Path(desc.base_config).with_name(SCHEMA_NAME)
        if beside.is_file():
            schemas.insert(0, (beside.read_bytes(), str(beside)))
        return Path(desc.base_config).read_bytes(), schemas, desc.base_config
    if observed.base is None:
        raise InputError(
            "base_config",
            f"Microsoft's DefaultHotfixConfig.xml was not found in {observed.tools_dir} on "
            f"{observed.computer_name} (no CAU tools there); install RSAT-Clustering-PowerShell on it, or "
            "copy the file from a cluster node to the controller and give its path as base_config; "
            f"base_config: builtin uses this collection's assumption of the format; {NOTHING_CHANGED}",
        )
    where = f"{ntpath.join(observed.tools_dir, CONFIG_FILE_NAME)} on {observed.computer_name}"
    return observed.base, schemas, where


def build_config(desc: Description, observed: Observed) -> bytes:
    """The configuration to write, validated against each Windows schema there is."""
    base, schemas, where = base_and_schemas(desc, observed)
    config = add_rules(base, desc.rules, where)
    for schema, schema_path in schemas:
        problems = schema_errors(config, schema, desc.config_name)
        if problems:
            raise InputError(
                SCHEMA_NAME,
                f"{desc.config_name} built from {where} and folder_rules/extension_rules does not validate "
                f"against Windows' {schema_path}: {'; '.join(problems)}; {NOTHING_CHANGED}",
            )
    return config


def account_state(desc: Description, observed: Observed) -> dict[str, Any]:
    """The update account as the server sees it, and whether it is a local administrator."""
    admin, how = is_local_admin(observed.account or {})
    return {
        **(observed.account or {}),
        "name": desc.options["cau_account"],
        "is_local_admin": admin,
        "how": how,
    }


def _root_folder_check(desc: Description, observed: Observed) -> Check:
    where = f"{observed.root_path} on {observed.computer_name}"
    if observed.root_exists:
        return Check("root_folder", True, f"{where} exists")
    if observed.root_path is not None:
        return Check("root_folder", False, f"{where} does not exist", "run cau_hotfix_root to build it")
    detail = f"share {desc.share.name if desc.share else '?'} does not exist on {observed.computer_name}"
    fix = "run cau_hotfix_root with share.path to create the root and the share"
    return Check("root_folder", False, f"{detail}, so the root cannot be found", fix)


def _content_check(desc: Description, observed: Observed, sources: list[PlannedFile]) -> Check:
    """Whether the files and the configuration match the description (never blocking)."""
    have = {s.path: observed.files.get(s.path.casefold()) for s in sources}
    missing = [s.path for s in sources if have[s.path] is None]
    different = [s.path for s in sources if have[s.path] is not None and have[s.path]["sha256"] != s.sha256]
    problems = (["missing: " + ", ".join(missing)] if missing else []) + (
        ["different content: " + ", ".join(different)] if different else []
    )
    try:
        if observed.config != add_rules(base_and_schemas(desc, observed)[0], desc.rules, "base"):
            problems.append(f"{desc.config_name} differs from the base plus the described rules")
    except InputError as err:
        problems.append(f"{desc.config_name} cannot be compared: {err.message}")
    detail = "; ".join(problems) or f"{len(sources)} file(s) and {desc.config_name} match the description"
    fix = "run cau_hotfix_root to copy the files and write the configuration" if problems else ""
    return Check("content_in_sync", not problems, detail, fix, False)


def preflight_checks(desc: Description, observed: Observed, sources: list[PlannedFile]) -> list[Check]:
    """Every check of ``_hotfix_layout.preflight`` on the observed server, plus the root's
    presence and, when updates are described, whether the content matches them."""
    config: dict[str, Any] = {"present": observed.config is not None}
    if observed.config is not None:
        try:
            extensions, folders, problems = read_rules(observed.config, desc.config_name)
            config.update(rules=(extensions, folders), problems=problems)
        except InputError as err:
            config.update(problems=[err.message])
    schema = {"available": observed.schema is not None, "path": ntpath.join(observed.tools_dir, SCHEMA_NAME)}
    if observed.schema is not None and observed.config is not None:
        schema["errors"] = schema_errors(observed.config, observed.schema, desc.config_name)
    share, smb, firewall = None, observed.smb, observed.firewall or {}
    if desc.share is not None:
        encrypted = bool((observed.share or {}).get("exists") and observed.share.get("encrypt_data"))
        encrypted = encrypted or bool(smb.get("encrypt_data"))
        share = {
            "name": desc.share.name,
            "encrypt_data": encrypted,
            "signing_required": bool(smb.get("require_signing")),
        }
    state = {
        **{
            key: bool(desc.options.get(key))
            for key in ("is_dfs", "disable_acl_checks", "require_smb_encryption")
        },
        "root": desc.root.path,
        "acl": {v.get("path", k): list(v.get("aces") or []) for k, v in observed.acl.items()},
        "files": [f["path"] for k, f in observed.files.items() if k != MANIFEST_NAME.casefold()],
        "share": share,
        "firewall_rule_enabled": firewall.get("enabled") if firewall.get("exists") else None,
        "config": config,
        "schema": schema,
        "nodes": desc.nodes,
        "config_name": desc.config_name,
        "account": account_state(desc, observed) if desc.options.get("cau_account") else None,
    }
    checks = [_root_folder_check(desc, observed), *preflight(state)]
    return checks + [_content_check(desc, observed, sources)] if sources else checks
