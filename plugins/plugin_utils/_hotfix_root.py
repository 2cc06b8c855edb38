# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions of winfleet.updates.cau_hotfix_root on the controller (for internal collection use only).

The module builds a hotfix root for the Microsoft.HotfixPlugin on a file server: the folder
tree, ``DefaultHotfixConfig.xml``, the NTFS ACLs, the SMB share and the firewall rule. The
host-side PowerShell only reads the current state (one round trip) and applies a change set (one
round trip); every decision is taken here, in plain functions over plain data, so it is
unit-tested without a host:

* :func:`describe` turns the module options into a validated :class:`Description` (the plan of
  the tree from ``_hotfix_layout.plan_tree``, the configuration model from
  ``_hotfix_config``), raising :class:`InputError` before any host is contacted;
* :func:`parse_observed` reads the host's answer into :class:`Observed`;
* :func:`plan_changes` compares the two and returns the :class:`Changes` to apply: the files to
  transfer (only those whose sha256 differs), what to prune, the XML to write, the ACLs, the share
  and firewall settings; an empty change set means a second run touches nothing;
* :func:`preflight_checks` wraps ``_hotfix_layout.preflight`` with the checks only the module
  can make (root present, Windows' own schema, content in sync with the description).

Nothing here imports Ansible.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import ntpath
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._hotfix_config import (
    HotfixConfig,
    from_yaml_data,
    merge,
    parse,
    render,
)
from ansible_collections.winfleet.updates.plugins.module_utils._hotfix_layout import (
    CONFIG_FILE_NAME,
    FIREWALL_RULE_NAME,
    Check,
    DesiredAcl,
    HotfixRoot,
    TreePlan,
    desired_acl,
    exe_folders,
    parse_ace,
    plan_tree,
    preflight,
    validate_file_name,
    validate_hotfix_root,
    validate_netbios_name,
    validate_share_name,
)
from ansible_collections.winfleet.updates.plugins.plugin_utils._hotfix_stage import (
    MANIFEST_NAME,
    decode_manifest,
    encode_manifest,
)

__all__ = [
    "HOST_MODULE",
    "AclChange",
    "Changes",
    "Description",
    "Observed",
    "ShareChange",
    "ShareSpec",
    "Source",
    "Transfer",
    "config_bytes_for",
    "describe",
    "diff_entries",
    "parse_observed",
    "plan_changes",
    "plugin_arguments",
    "preflight_checks",
    "read_args",
]

# The host half of the module (plugins/modules/cau_hotfix_root.ps1).
HOST_MODULE = "winfleet.updates.cau_hotfix_root"
# Where Windows keeps the authoritative schema, reported with the check that used it.
WINDOWS_SCHEMA_NAME = "HotfixConfigSchema.xsd"
# FileSystemRights.Synchronize: .NET adds it to every Allow entry, so it never makes a difference.
_SYNCHRONIZE = 0x100000
# Prefix the configuration model gives its errors (it is written for the role's variables).
_ROLE_PREFIX = "cau_hotfix_"

ResolveSource = Callable[[str, str], str]


# --------------------------------------------------------------------------------------------
# Description: the validated options
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShareSpec:
    """The SMB share that publishes the root.

    ``path`` is the local folder behind the share; ``None`` means "use the existing share's
    folder" (it is required only when the share has to be created). ``require_signing`` is the
    server-wide ``RequireSecuritySignature``: it is switched on when asked, never off, because
    other shares of the server depend on it too.
    """

    name: str
    path: str | None
    encrypt_data: bool
    require_signing: bool


@dataclass(frozen=True)
class Description:
    """Everything the options say, validated; what every later step works from.

    ``root`` is the HotfixRootFolderPath the cluster uses (``None`` only when staging without a
    path); ``local_root`` the same folder as a local path on the file server when the options
    tell it (a local root, or a UNC root whose ``share.path`` is given), else the host resolves
    it from the existing share plus ``share_subpath``. ``config`` is the configuration to write
    (defaults included); ``merge_desired`` is the user's part only, set when an existing file
    is merged instead of replaced.
    """

    root: HotfixRoot | None
    local_root: str | None
    share: ShareSpec | None
    share_subpath: tuple[str, ...]
    config: HotfixConfig
    merge_desired: HotfixConfig | None
    plan: TreePlan
    nodes: tuple[str, ...] | None
    firewall: bool
    firewall_rule: str
    cau_account: str | None
    prune: bool
    preflight: bool
    stage_dir: str | None
    is_dfs: bool
    disable_acl_checks: bool
    require_smb_encryption: bool
    config_name: str
    updates_given: bool


def _module_field(name: str) -> str:
    """``cau_hotfix_folder_rules[0].name`` -> ``folder_rules[0].name``: the configuration model
    names the role's variables, the module's options drop the prefix."""
    return name[len(_ROLE_PREFIX) :] if name.startswith(_ROLE_PREFIX) else name


def _without_none(value: Any) -> Any:
    """Drop keys whose value is ``None``: Ansible fills every unset sub-option with ``None``,
    and the models read "absent" and "null" alike only if the key is gone."""
    if isinstance(value, Mapping):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def _rule_list(value: Any, name: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(name, "must be a list of rules")
    return _without_none(value)


def _configs(args: Mapping[str, Any], merge_existing: bool) -> tuple[HotfixConfig, HotfixConfig | None]:
    """The configuration to plan with (defaults included) and, when merging into an existing
    file, the user's part alone (so defaults never overwrite a hand-edited MSU rule)."""
    data = {
        "cau_hotfix_folder_rules": _rule_list(args.get("folder_rules"), "folder_rules"),
        "cau_hotfix_extension_rules": _rule_list(args.get("extension_rules"), "extension_rules"),
    }
    try:
        config = from_yaml_data(data)
        desired = from_yaml_data(data, defaults=False) if merge_existing else None
    except InputError as err:
        raise InputError(_module_field(err.field), err.message) from None
    return config, desired


def _nodes(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise InputError("nodes", "must be a list of the cluster's node NetBIOS names")
    return tuple(validate_netbios_name(n, f"nodes[{i}]") for i, n in enumerate(value))


def _resolve_updates(updates: Any, resolve_src: ResolveSource) -> Any:
    """The updates list with each ``src`` resolved to a controller path (role ``files/``,
    playbook directory...); malformed entries are left for ``plan_tree`` to name."""
    if not isinstance(updates, list):
        return updates
    resolved: list[Any] = []
    for index, item in enumerate(updates):
        if isinstance(item, Mapping):
            item = dict(item)
            src = item.get("src")
            if isinstance(src, str) and src:
                item["src"] = resolve_src(src, f"updates[{index}].src")
        resolved.append(item)
    return resolved


def _local_folder(value: Any, field_name: str) -> str:
    """A local absolute folder on the file server (the folder behind a share)."""
    folder = validate_hotfix_root(value, field_name)
    if folder.kind != "local":
        raise InputError(
            field_name, f"{value!r} must be a local folder on the file server, e.g. D:\\CauHotfix"
        )
    return folder.path


def _is_within(path: str, folder: str) -> bool:
    """Whether Windows path ``path`` is ``folder`` or below it (case-insensitive)."""
    p, f = path.casefold().rstrip("\\"), folder.casefold().rstrip("\\")
    return p == f or p.startswith(f + "\\")


def _share_and_root(
    root: HotfixRoot | None, share_arg: Any, is_dfs: bool
) -> tuple[ShareSpec | None, str | None, tuple[str, ...]]:
    """The share that publishes the root, the root's local path when the options tell it, and
    the folders between the share and the root.

    A UNC root is published by the share it names; a DFS root names a namespace, so the folder
    target's share on this server must be given; a local root is published only when ``share``
    is given (its folder defaults to the root itself).
    """
    spec = _without_none(share_arg) if isinstance(share_arg, Mapping) else None
    if share_arg is not None and spec is None:
        raise InputError("share", "must be a mapping with name, path, encrypt_data, require_signing")
    spec = spec or {}
    name = spec.get("name")
    if name is not None:
        name = validate_share_name(name, "share.name")
    path = _local_folder(spec["path"], "share.path") if spec.get("path") is not None else None
    encrypt = spec.get("encrypt_data", True)
    signing = spec.get("require_signing", False)
    if root is None:
        if spec and name is None:
            raise InputError("share.name", "is required when share is given")
        return (ShareSpec(name, path, encrypt, signing) if name else None), None, ()
    if root.kind == "local":
        if not spec:
            return None, root.path, ()
        if name is None:
            raise InputError("share.name", "is required to publish a local root on an SMB share")
        folder = path or root.path
        if not _is_within(root.path, folder):
            raise InputError("share.path", f"the root {root.path} must be {folder} or a folder below it")
        return ShareSpec(name, folder, encrypt, signing), root.path, ()
    if is_dfs:
        if name is None:
            raise InputError(
                "share.name",
                "a DFS namespace path does not name this file server's share; give share.name (the share "
                "of the DFS folder target on this server) and share.path if it does not exist yet",
            )
        return ShareSpec(name, path, encrypt, signing), path, ()
    if root.share is None:  # a UNC root always has its share
        raise AssertionError("a UNC hotfix root without its share")
    if name is not None and name.casefold() != root.share.casefold():
        raise InputError(
            "share.name",
            f"{name!r} differs from the share in path ({root.path}); the root is published by {root.share}",
        )
    local_root = ntpath.join(path, *root.folders) if path else None
    return ShareSpec(name or root.share, path, encrypt, signing), local_root, root.folders


def _check_integrity(share: ShareSpec | None, require_smb_encryption: bool) -> None:
    """Refuse a share the HotfixPlugin would reject: neither encrypted nor signed, or not
    encrypted while the run requires encryption (seed 003, step 4)."""
    if share is None:
        if require_smb_encryption:
            raise InputError(
                "require_smb_encryption",
                "needs a share to encrypt; give share (or a UNC path) or set it to false",
            )
        return
    if not share.encrypt_data and not share.require_signing:
        raise InputError(
            "share.encrypt_data",
            "the HotfixPlugin needs SMB encryption or signing on the share; set encrypt_data: true "
            "(recommended) or require_signing: true",
        )
    if require_smb_encryption and not share.encrypt_data:
        raise InputError(
            "share.encrypt_data",
            "require_smb_encryption: true makes every run fail on a share that does not encrypt; "
            "set encrypt_data: true",
        )


def _firewall_rule_name(value: Any) -> str:
    """The rule to enable: its English display name by default; on a localised Windows the
    display name differs, so the user gives the local display name or the rule's Name."""
    if value is None or value == "":
        return FIREWALL_RULE_NAME
    if not isinstance(value, str) or not value.strip() or any(ord(c) < 32 for c in value):
        raise InputError("firewall_rule", "must be the rule's display name or Name")
    return value.strip()


def _account(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.strip() or any(ord(c) < 32 for c in value):
        raise InputError("cau_account", "must be an account name such as CONTOSO\\CLUSTER1-CAU$")
    return value.strip()


def describe(args: Mapping[str, Any], resolve_src: ResolveSource) -> Description:
    """Validate every option and build the plan; raises :class:`InputError` naming the option.

    Runs before any host is contacted: bad names, unknown nodes, rule folders without a rule,
    types without a rule, traversal and reserved device names all fail here. ``resolve_src``
    maps an update's ``src`` to a controller path (raising :class:`InputError` for the field it
    is given); names are checked before it runs, so a bad name is reported as such.
    """
    stage_dir = args.get("stage_dir") or None
    want_preflight = bool(args.get("preflight"))
    if stage_dir and want_preflight:
        raise InputError(
            "preflight",
            "checks a file server (ACLs, share, firewall) and cannot be combined with stage_dir, which "
            "builds "
            "the tree on the controller",
        )
    is_dfs = bool(args.get("is_dfs"))
    raw_path = args.get("path")
    root = None
    if raw_path not in (None, ""):
        root = validate_hotfix_root(raw_path, "path", is_dfs)
    elif not stage_dir:
        raise InputError(
            "path",
            "is required: the HotfixRootFolderPath, a local folder on the file server (D:\\CauHotfix) or "
            "\\\\server\\share\\folder; or give stage_dir to build the tree on the controller",
        )
    elif is_dfs:
        raise InputError("is_dfs", "describes path, which is not given")
    merge_existing = bool(args.get("merge_existing_config"))
    config, merge_desired = _configs(args, merge_existing)
    nodes = _nodes(args.get("nodes"))
    updates = _without_none(args.get("updates") or [])
    # Names first (a reserved or traversing name is reported as such, not as "file not found").
    plan_tree(updates, config.folder_rules, nodes, extensions=config.extension_names, field="updates")
    plan = plan_tree(
        _resolve_updates(updates, resolve_src),
        config.folder_rules,
        nodes,
        extensions=config.extension_names,
        field="updates",
    )
    share, local_root, subpath = _share_and_root(root, args.get("share"), is_dfs)
    require_encryption = bool(args.get("require_smb_encryption"))
    if root is not None:
        _check_integrity(share, require_encryption)
    config_name = validate_file_name(args.get("config_name") or CONFIG_FILE_NAME, "config_name")
    if config_name.casefold() == MANIFEST_NAME.casefold():
        raise InputError("config_name", f"{MANIFEST_NAME} is the module's own manifest")
    return Description(
        root=root,
        local_root=local_root,
        share=share,
        share_subpath=subpath,
        config=config,
        merge_desired=merge_desired,
        plan=plan,
        nodes=nodes,
        firewall=bool(args.get("firewall", True)),
        firewall_rule=_firewall_rule_name(args.get("firewall_rule")),
        cau_account=_account(args.get("cau_account")),
        prune=bool(args.get("prune")),
        preflight=want_preflight,
        stage_dir=stage_dir,
        is_dfs=is_dfs,
        disable_acl_checks=bool(args.get("disable_acl_checks")),
        require_smb_encryption=require_encryption,
        config_name=config_name,
        updates_given=bool(plan.files),
    )


def plugin_arguments(desc: Description) -> dict[str, Any]:
    """The Microsoft.HotfixPlugin arguments that use this root, ready for the plug-in YAML of
    ``cau_prepare`` / ``cau_update`` (``_cau_plugins`` writes booleans as ``'True'``)."""
    if desc.root is None:
        return {}
    arguments: dict[str, Any] = {"HotfixRootFolderPath": desc.root.path}
    if desc.require_smb_encryption:
        arguments["RequireSMBEncryption"] = True
    if desc.disable_acl_checks:
        arguments["DisableAclChecks"] = True
    if desc.config_name != CONFIG_FILE_NAME:
        arguments["HotfixConfigFileName"] = desc.config_name
    return arguments


# --------------------------------------------------------------------------------------------
# Sources on the controller
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """One planned file with its controller path and content hash."""

    path: str
    local_path: str
    sha256: str
    size: int
    index: int


# --------------------------------------------------------------------------------------------
# Reading the host
# --------------------------------------------------------------------------------------------


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def read_args(desc: Description, candidate_config: bytes | None) -> dict[str, Any]:
    """Options of the host module's ``read`` operation.

    ``candidate_config`` is the XML about to be written, validated on the host against
    Windows' ``HotfixConfigSchema.xsd`` when present, in the same round trip.
    """
    args: dict[str, Any] = {
        "_operation": "read",
        "_root": desc.local_root,
        "_share_name": desc.share.name if desc.share else None,
        "_share_subpath": list(desc.share_subpath),
        "_config_name": desc.config_name,
        "_manifest_name": MANIFEST_NAME,
        "_firewall_rule": desc.firewall_rule if desc.share else None,
        "_account": desc.cau_account,
        "_candidate_config": _b64(candidate_config),
    }
    return {k: v for k, v in args.items() if v is not None}


@dataclass(frozen=True)
class FileFact:
    """A file under the root as the host hashed it."""

    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class PathAcl:
    """The ACL of one path under the root: inheritance protection and every entry."""

    path: str
    protected: bool
    aces: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class Observed:
    """The host's answer to ``read``; paths are relative to the root, Windows form, ``''`` is
    the root itself; mappings are keyed by the casefolded path (Windows names are
    case-insensitive)."""

    computer_name: str
    temp_dir: str
    root_path: str | None
    root_exists: bool
    folders: Mapping[str, str]
    files: Mapping[str, FileFact]
    reparse_points: tuple[str, ...]
    acl: Mapping[str, PathAcl]
    config: bytes | None
    manifest: bytes | None
    share: Mapping[str, Any] | None
    smb: Mapping[str, Any]
    firewall: Mapping[str, Any] | None
    schema: Mapping[str, Any]
    account: Mapping[str, Any] | None


def _answer(raw: Mapping[str, Any], key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
    value = raw.get(key, default)
    if value is None and default is None:
        return None
    if not isinstance(value, kind):
        raise InputError(f"{HOST_MODULE} answer.{key}", f"unexpected value {value!r}")
    return value


def _decode(value: Any, key: str) -> bytes | None:
    if value is None:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (ValueError, TypeError):
        raise InputError(f"{HOST_MODULE} answer.{key}", "is not base64") from None


def parse_observed(raw: Mapping[str, Any]) -> Observed:
    """Read the host's ``read`` answer into :class:`Observed`, refusing a malformed one with a
    message naming the key (a module/plugin version mismatch, never a traceback)."""
    root = _answer(raw, "root", dict, {})
    folders = {str(p).casefold(): str(p) for p in _answer(raw, "folders", list, [])}
    files: dict[str, FileFact] = {}
    for index, entry in enumerate(_answer(raw, "files", list, [])):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("path"), str):
            raise InputError(f"{HOST_MODULE} answer.files[{index}]", f"unexpected value {entry!r}")
        files[entry["path"].casefold()] = FileFact(
            entry["path"], str(entry.get("sha256", "")).lower(), int(entry.get("size") or 0)
        )
    acl: dict[str, PathAcl] = {}
    for rel, entry in _answer(raw, "acl", dict, {}).items():
        if not isinstance(entry, Mapping):
            raise InputError(f"{HOST_MODULE} answer.acl[{rel!r}]", f"unexpected value {entry!r}")
        acl[str(rel).casefold()] = PathAcl(
            str(rel), bool(entry.get("protected")), tuple(entry.get("aces") or ())
        )
    config = _answer(raw, "config", dict, {})
    manifest = _answer(raw, "manifest", dict, {})
    return Observed(
        computer_name=str(raw.get("computer_name") or ""),
        temp_dir=str(raw.get("temp_dir") or ""),
        root_path=root.get("path"),
        root_exists=bool(root.get("exists")),
        folders=folders,
        files=files,
        reparse_points=tuple(str(p) for p in _answer(raw, "reparse_points", list, [])),
        acl=acl,
        config=_decode(config.get("content"), "config.content") if config.get("present") else None,
        manifest=_decode(manifest.get("content"), "manifest.content") if manifest.get("present") else None,
        share=_answer(raw, "share", dict),
        smb=_answer(raw, "smb", dict, {}),
        firewall=_answer(raw, "firewall", dict),
        schema=_answer(raw, "cau_schema", dict, {}),
        account=_answer(raw, "account", dict),
    )


# --------------------------------------------------------------------------------------------
# Planning the changes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transfer:
    """A planned file the host lacks or holds with other content: copied, then verified."""

    path: str
    local_path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class AclChange:
    """The ACL one path gets: inheritance protection and the explicit entries (SIDs)."""

    path: str
    protect: bool
    entries: tuple[Mapping[str, str], ...]
    before: str
    after: str


@dataclass(frozen=True)
class ShareChange:
    """Create the share, or set its EncryptData flag (``encrypt_data`` None: leave it)."""

    name: str
    path: str
    create: bool
    encrypt_data: bool | None
    before: str
    after: str


@dataclass
class Changes:
    """Everything :func:`plan_changes` decided; ``changed`` is false on a second run."""

    create_root: bool = False
    folders: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)
    removals: list[dict[str, str]] = field(default_factory=list)
    remove_folders: list[str] = field(default_factory=list)
    config: bytes = b""
    old_config: bytes | None = None
    config_changed: bool = False
    xml_diff: str = ""
    manifest: bytes | None = None
    acl: list[AclChange] = field(default_factory=list)
    share: ShareChange | None = None
    require_signing: bool = False
    firewall_rule: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether anything on the host would change."""
        return bool(
            self.create_root
            or self.folders
            or self.transfers
            or self.removals
            or self.remove_folders
            or self.config_changed
            or self.manifest is not None
            or self.acl
            or self.share
            or self.require_signing
            or self.firewall_rule
        )


def config_bytes_for(desc: Description, existing: bytes | None, host: str) -> bytes:
    """The configuration file to write: rendered from the model, or the model merged into the
    file already on the host (``merge_existing_config``), so hand edits survive."""
    if desc.merge_desired is None or existing is None:
        return render(desc.config)
    try:
        current = parse(existing, f"{desc.config_name} on {host}")
    except InputError as err:
        raise InputError(
            "merge_existing_config",
            f"{err}; fix that file or set merge_existing_config: false to replace it; nothing was changed",
        ) from None
    return render(merge(current, desc.merge_desired))


def _flags(value: Any) -> frozenset[str]:
    parts = str(value or "").split(",")
    return frozenset(p.strip().casefold() for p in parts if p.strip() and p.strip().casefold() != "none")


def _entry_key(entry: Mapping[str, Any]) -> tuple[Any, ...]:
    """A comparable form of one ACL entry (SID, rights mask, type, inheritance, propagation)."""
    ace = parse_ace(entry)
    rights = ace.rights | (_SYNCHRONIZE if ace.type == "Allow" else 0)
    lowered = {str(k).casefold(): v for k, v in entry.items()}
    return (
        ace.identity,
        rights,
        ace.type,
        tuple(sorted(_flags(lowered.get("inheritance")))),
        tuple(sorted(_flags(lowered.get("propagation")))),
    )


_RIGHT_NAMES = (
    ("FullControl", 0x1F01FF),
    ("Modify", 0x301BF),
    ("ReadAndExecute", 0x200A9),
    ("Read", 0x20089),
    ("Write", 0x116),
)


def _rights_text(mask: int) -> str:
    bare = mask & ~_SYNCHRONIZE
    for name, bits in _RIGHT_NAMES:
        if bare == bits & ~_SYNCHRONIZE:
            return name
    return hex(bare)


def _acl_text(protect: bool, entries: Sequence[Mapping[str, Any]]) -> str:
    """One readable line per ACL state, for the diff."""
    parts = []
    for entry in entries:
        identity, rights, ace_type, inheritance, propagation = _entry_key(entry)
        flags = ",".join(inheritance + propagation) or "this object"
        parts.append(f"{parse_ace(entry).display} {ace_type} {_rights_text(rights)} ({flags})")
    head = "inheritance off" if protect else "inherits"
    return f"{head}; explicit: " + ("; ".join(sorted(parts)) if parts else "none")


def _desired_acl(rel: str, is_dir: bool, exe: set[str]) -> DesiredAcl:
    """The rule for one path: the root gets the protected set, a folder holding .exe updates
    adds Users ReadAndExecute, everything else simply inherits."""
    if rel == "":
        return desired_acl(root=True)
    if is_dir and rel.casefold() in exe:
        return desired_acl(has_exe=True, root=False)
    return DesiredAcl(False, ())


def _acl_changes(
    desc: Description,
    observed: Observed,
    created_folders: Sequence[str],
    removed: set[str],
    create_root: bool,
) -> list[AclChange]:
    """ACL changes for the root and everything under it: existing paths whose protection or
    explicit entries differ from the rule, plus new paths that need explicit entries (a new
    root, a new .exe folder); other new paths inherit the right ACL by being created."""
    # Users need execute wherever an .exe stays: planned ones, and stale or foreign ones left in
    # place (preflight judges the files that are there, not the plan).
    exe = {f.casefold() for f in exe_folders(desc.plan)}
    exe |= {
        fact.path.rsplit("\\", 1)[0].casefold()
        for key, fact in observed.files.items()
        if key not in removed and "\\" in fact.path and fact.path.upper().endswith(".EXE")
    }
    changes: list[AclChange] = []
    existing: list[tuple[str, bool]] = []
    if observed.root_exists:
        existing.append(("", True))
    existing += [(rel, True) for key, rel in observed.folders.items() if key not in removed]
    existing += [(fact.path, False) for key, fact in observed.files.items() if key not in removed]
    for rel, is_dir in sorted(existing, key=lambda p: (p[0].count("\\") + bool(p[0]), p[0].casefold())):
        want = _desired_acl(rel, is_dir, exe)
        have = observed.acl.get(rel.casefold())
        want_keys = sorted(_entry_key(e) for e in want.entries)
        if have is not None:
            explicit = [a for a in have.aces if not a.get("inherited")]
            if have.protected == want.protect and sorted(_entry_key(a) for a in explicit) == want_keys:
                continue
            before = _acl_text(have.protected, explicit)
        else:
            before = "not readable"
        changes.append(
            AclChange(rel, want.protect, want.entries, before, _acl_text(want.protect, want.entries))
        )
    new = ([""] if create_root else []) + [f for f in created_folders if f.casefold() in exe]
    for rel in new:
        want = _desired_acl(rel, True, exe)
        changes.append(
            AclChange(rel, want.protect, want.entries, "new", _acl_text(want.protect, want.entries))
        )
    changes.sort(key=lambda c: (c.path.count("\\") + bool(c.path), c.path.casefold()))
    return changes


def _same_path(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.casefold().rstrip("\\") == b.casefold().rstrip("\\")


def _share_change(desc: Description, observed: Observed) -> ShareChange | None:
    share = desc.share
    if share is None:
        return None
    have = observed.share or {}
    if not have.get("exists"):
        folder = share.path or (
            observed.root_path if desc.root is not None and desc.root.kind == "local" else None
        )
        if folder is None:
            raise InputError(
                "share.path",
                f"share {share.name} does not exist on {observed.computer_name or 'the host'}; "
                "give share.path, "
                "the local folder to publish (e.g. D:\\CauHotfix); nothing was changed",
            )
        return ShareChange(
            share.name,
            folder,
            True,
            share.encrypt_data,
            "absent",
            f"{folder}, EncryptData={share.encrypt_data}",
        )
    if share.path is not None and not _same_path(share.path, have.get("path")):
        raise InputError(
            "share.path",
            f"share {share.name} on {observed.computer_name} publishes {have.get('path')}, not {share.path}; "
            "fix share.path or the share; nothing was changed",
        )
    if bool(have.get("encrypt_data")) != share.encrypt_data:
        return ShareChange(
            share.name,
            str(have.get("path")),
            False,
            share.encrypt_data,
            f"EncryptData={bool(have.get('encrypt_data'))}",
            f"EncryptData={share.encrypt_data}",
        )
    return None


def _firewall_rule(desc: Description, observed: Observed) -> str | None:
    """The rule to enable, or None when it is on (or not managed: a local root, firewall: false)."""
    if desc.share is None or not desc.firewall:
        return None
    rule = observed.firewall or {}
    if not rule.get("exists"):
        raise InputError(
            "firewall_rule",
            f"the rule '{desc.firewall_rule}' does not exist on {observed.computer_name} (it comes with the "
            "File Server role; on a localised Windows give its local display name or its Name); install the "
            "role, fix firewall_rule, or set firewall: false if the firewall is managed elsewhere; "
            "nothing was changed",
        )
    return None if rule.get("enabled") else desc.firewall_rule


def _empty_folders(observed: Observed, removed: set[str], planned_folders: set[str]) -> list[str]:
    """Folders that only held pruned files, deepest first; folders we did not empty stay."""
    remaining_files = [k for k in observed.files if k not in removed]
    candidates: set[str] = set()
    for key in removed:
        parts = observed.files[key].path.split("\\")[:-1]
        for depth in range(1, len(parts) + 1):
            candidates.add("\\".join(parts[:depth]))
    gone: set[str] = set()
    result: list[str] = []
    for folder in sorted(candidates, key=lambda f: (-f.count("\\"), f.casefold())):
        key = folder.casefold()
        if key in planned_folders or key not in observed.folders:
            continue
        prefix = key + "\\"
        if any(f.startswith(prefix) for f in remaining_files):
            continue
        if any(d.startswith(prefix) and d not in gone for d in observed.folders):
            continue
        gone.add(key)
        result.append(observed.folders[key])
    return result


def plan_changes(desc: Description, observed: Observed, sources: Sequence[Source], config: bytes) -> Changes:
    """Compare the description with the host and decide every change (pure).

    Files are compared by sha256, so an unchanged file is never transferred again; files this
    module placed earlier (the manifest) and no longer listed are removed only with ``prune``
    and only when unmodified; files it never placed are reported as ``foreign`` and kept.
    Raises :class:`InputError` for a host state the module must not paper over (a file where a
    folder must go, an existing share on another folder, a missing firewall rule), before
    anything is changed.
    """
    if observed.root_path is None:
        raise InputError(
            "share.path",
            f"share {desc.share.name if desc.share else '?'} does not exist on {observed.computer_name}, "
            "so the "
            "root's local folder is unknown; give share.path (e.g. D:\\CauHotfix); nothing was changed",
        )
    changes = Changes(create_root=not observed.root_exists, warnings=list(desc.plan.warnings))
    for folder in desc.plan.folders:
        rel = "\\".join(folder)
        if rel.casefold() in observed.files:
            raise InputError(
                "updates", f"{rel} is a file on {observed.computer_name} where a folder must go; remove it"
            )
        if rel.casefold() not in observed.folders:
            changes.folders.append(rel)
    planned: dict[str, Source] = {}
    manifest_files: dict[str, dict[str, str]] = {}
    for source in sources:
        key = source.path.casefold()
        if key in observed.folders:
            raise InputError(
                f"updates[{source.index}].src",
                f"{source.path} is a folder on {observed.computer_name}; remove it",
            )
        planned[key] = source
        have = observed.files.get(key)
        if have is not None and have.sha256 == source.sha256:
            changes.unchanged.append(source.path)
        else:
            (changes.updated if have is not None else changes.created).append(source.path)
            changes.transfers.append(Transfer(source.path, source.local_path, source.sha256, source.size))
        manifest_files[source.path.replace("\\", "/")] = {"sha256": source.sha256}

    placed = decode_manifest(observed.manifest, changes.warnings) if observed.manifest is not None else {}
    placed_keys = {k.replace("/", "\\").casefold() for k in placed}
    removed: set[str] = set()
    for key, entry in sorted(placed.items()):
        rel = key.replace("/", "\\")
        if rel.casefold() in planned:
            continue
        have = observed.files.get(rel.casefold())
        if have is None:
            continue  # already gone: forget it
        if desc.prune and have.sha256 == str(entry.get("sha256", "")).lower():
            changes.removed.append(have.path)
            changes.removals.append({"path": have.path, "sha256": have.sha256})
            removed.add(have.path.casefold())
            continue
        if desc.prune:
            changes.warnings.append(
                f"{have.path} was modified since the module placed it; kept (remove it by hand)"
            )
        changes.stale.append(have.path)
        manifest_files[key] = {"sha256": str(entry.get("sha256", ""))}
    own = {desc.config_name.casefold(), MANIFEST_NAME.casefold()}
    for key, fact in sorted(observed.files.items()):
        if key not in planned and key not in placed_keys and key not in own:
            changes.foreign.append(fact.path)
    planned_folders = {"\\".join(f).casefold() for f in desc.plan.folders}
    changes.remove_folders = _empty_folders(observed, removed, planned_folders)

    changes.config = config
    changes.old_config = observed.config
    if observed.config != config:
        changes.config_changed = True
        changes.xml_diff = _unified(observed.config, config, desc.config_name)
    new_manifest = encode_manifest(manifest_files)
    if new_manifest != observed.manifest and (manifest_files or observed.manifest is not None):
        changes.manifest = new_manifest

    changes.acl = _acl_changes(desc, observed, changes.folders, removed, changes.create_root)
    changes.share = _share_change(desc, observed)
    changes.require_signing = bool(
        desc.share and desc.share.require_signing and not observed.smb.get("require_signing")
    )
    changes.firewall_rule = _firewall_rule(desc, observed)
    if observed.reparse_points:
        changes.warnings.append(
            "links (reparse points) under the root were not followed or secured: "
            + ", ".join(observed.reparse_points)
        )
    return changes


def _unified(old: bytes | None, new: bytes, name: str) -> str:
    old_text = old.decode("utf-8", errors="replace") if old is not None else ""
    return "".join(
        difflib.unified_diff(
            old_text.splitlines(keepends=True),
            new.decode("utf-8").splitlines(keepends=True),
            fromfile=f"a/{name}" if old is not None else "/dev/null",
            tofile=f"b/{name}",
        )
    )


# --------------------------------------------------------------------------------------------
# Preflight
# --------------------------------------------------------------------------------------------


def _schema_errors(observed: Observed, key: str) -> list[str]:
    return [str(e) for e in (observed.schema.get(key) or [])]


def _windows_schema_check(observed: Observed, config_name: str) -> Check:
    """Whether the file validates against Windows' own schema, and whether it was available:
    the collection's XSD encodes the documented structure, Windows' is authoritative."""
    path = observed.schema.get("path") or WINDOWS_SCHEMA_NAME
    if not observed.schema.get("present"):
        return Check(
            "windows_schema",
            True,
            f"{WINDOWS_SCHEMA_NAME} is not installed on {observed.computer_name} (no CAU tools there); "
            "validated against the collection's schema only",
            blocking=False,
        )
    if observed.config is None:
        return Check(
            "windows_schema",
            True,
            f"{path} is available; there is no {config_name} to validate",
            blocking=False,
        )
    errors = _schema_errors(observed, "errors_existing")
    if errors:
        return Check(
            "windows_schema",
            False,
            f"{config_name} does not validate against {path}: " + "; ".join(errors),
            "re-render the file from the model (run the module without preflight)",
        )
    return Check("windows_schema", True, f"{config_name} validates against {path}")


def _sync_check(desc: Description, observed: Observed, sources: Sequence[Source], config: bytes) -> Check:
    """Whether the host holds exactly what the description says (drift since the last run)."""
    missing = [s.path for s in sources if s.path.casefold() not in observed.files]
    different = [
        s.path
        for s in sources
        if s.path.casefold() in observed.files and observed.files[s.path.casefold()].sha256 != s.sha256
    ]
    problems = []
    if missing:
        problems.append("missing: " + ", ".join(missing))
    if different:
        problems.append("different content: " + ", ".join(different))
    if observed.config != config:
        problems.append(f"{desc.config_name} differs from the rendered model")
    if problems:
        return Check(
            "content_in_sync",
            False,
            "; ".join(problems),
            "run the module without preflight to copy the files and write the configuration",
            blocking=False,
        )
    return Check(
        "content_in_sync",
        True,
        f"{len(sources)} file(s) and {desc.config_name} match the description",
        blocking=False,
    )


def preflight_checks(
    desc: Description, observed: Observed, sources: Sequence[Source], config: bytes
) -> list[Check]:
    """Every check the HotfixPlugin makes (``_hotfix_layout.preflight``) on the observed host,
    plus the root's presence, Windows' own schema and, when updates are described, whether the
    content matches them. The module's manifest is left out of the file list: it is ours, and
    the plug-in ignores it harmlessly."""
    if desc.root is None:
        raise AssertionError("preflight needs the hotfix root's path")
    smb = observed.smb
    share_state = None
    if desc.share is not None:
        have = observed.share or {}
        share_state = {
            "name": desc.share.name,
            "encrypt_data": bool(have.get("exists") and have.get("encrypt_data"))
            or bool(smb.get("encrypt_data")),
            "signing_required": bool(smb.get("require_signing")),
        }
    firewall = observed.firewall or {}
    account = None
    if desc.cau_account:
        account = {
            "name": desc.cau_account,
            "is_local_admin": bool((observed.account or {}).get("is_local_admin")),
        }
    state = {
        "root": desc.root.path,
        "is_dfs": desc.is_dfs,
        "disable_acl_checks": desc.disable_acl_checks,
        "require_smb_encryption": desc.require_smb_encryption,
        "acl": {entry.path: list(entry.aces) for entry in observed.acl.values()},
        "files": [f.path for f in observed.files.values() if f.path.casefold() != MANIFEST_NAME.casefold()],
        "share": share_state,
        "firewall_rule_enabled": firewall.get("enabled") if firewall.get("exists") else None,
        "config": {
            "present": observed.config is not None,
            "content": observed.config,
            "schema_errors": [
                f"{WINDOWS_SCHEMA_NAME}: {e}" for e in _schema_errors(observed, "errors_existing")
            ],
        },
        "nodes": list(desc.nodes) if desc.nodes is not None else None,
        "config_name": desc.config_name,
        "account": account,
    }
    where = f"{observed.root_path} on {observed.computer_name}"
    if observed.root_exists:
        checks = [Check("root_folder", True, f"{where} exists")]
    elif observed.root_path is None:
        name = desc.share.name if desc.share else "?"
        checks = [
            Check(
                "root_folder",
                False,
                f"share {name} does not exist on {observed.computer_name}, so the root cannot be found",
                "run the module without preflight, with share.path, to create the root and the share",
            )
        ]
    else:
        checks = [
            Check(
                "root_folder",
                False,
                f"{where} does not exist",
                "run the module without preflight to build it",
            )
        ]
    for check in preflight(state):
        checks.append(check)
        if check.name == "config_file":
            checks.append(_windows_schema_check(observed, desc.config_name))
    if desc.updates_given:
        checks.append(_sync_check(desc, observed, sources, config))
    return checks


# --------------------------------------------------------------------------------------------
# Diff
# --------------------------------------------------------------------------------------------


def _file_lines(entries: Mapping[str, str]) -> str:
    return "".join(
        f"{path}  sha256:{sha[:16]}\n" for path, sha in sorted(entries.items(), key=lambda e: e[0].casefold())
    )


def diff_entries(desc: Description, observed: Observed, changes: Changes) -> list[dict[str, str]]:
    """Ansible diff entries: the configuration XML, the file list (with hashes) and the
    security settings (ACLs, share, signing, firewall)."""
    before_files = {
        f.path: f.sha256 for f in observed.files.values() if f.path.casefold() != MANIFEST_NAME.casefold()
    }
    after_files = {p: s for p, s in before_files.items() if p not in changes.removed}
    for transfer in changes.transfers:
        after_files = {p: s for p, s in after_files.items() if p.casefold() != transfer.path.casefold()}
        after_files[transfer.path] = transfer.sha256
    config_path = next(
        (p for p in before_files if p.casefold() == desc.config_name.casefold()), desc.config_name
    )
    after_files.pop(config_path, None)
    after_files[desc.config_name] = hashlib.sha256(changes.config).hexdigest()
    root = observed.root_path or ""
    entries = [
        {
            "before_header": ntpath.join(root, desc.config_name),
            "after_header": ntpath.join(root, desc.config_name),
            "before": (changes.old_config or b"").decode("utf-8", errors="replace"),
            "after": changes.config.decode("utf-8"),
        },
        {
            "before_header": f"{root} (files)",
            "after_header": f"{root} (files)",
            "before": _file_lines(before_files),
            "after": _file_lines(after_files),
        },
    ]
    before_security: list[str] = []
    after_security: list[str] = []
    for acl in changes.acl:
        before_security.append(f"acl {acl.path or '.'}: {acl.before}\n")
        after_security.append(f"acl {acl.path or '.'}: {acl.after}\n")
    if changes.share:
        before_security.append(f"share {changes.share.name}: {changes.share.before}\n")
        after_security.append(f"share {changes.share.name}: {changes.share.after}\n")
    if changes.require_signing:
        before_security.append("smb server RequireSecuritySignature: False\n")
        after_security.append("smb server RequireSecuritySignature: True\n")
    if changes.firewall_rule:
        before_security.append(f"firewall '{changes.firewall_rule}': disabled\n")
        after_security.append(f"firewall '{changes.firewall_rule}': enabled\n")
    if before_security:
        entries.append(
            {
                "before_header": f"{root} (security)",
                "after_header": f"{root} (security)",
                "before": "".join(before_security),
                "after": "".join(after_security),
            }
        )
    return entries
