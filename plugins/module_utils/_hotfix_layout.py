# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hotfix root layout and safety rules for Microsoft.HotfixPlugin (for internal collection use only).

The Cluster-Aware Updating hotfix plug-in reads a *hotfix root* folder::

    <Root>\\DefaultHotfixConfig.xml
    <Root>\\CAUHotfix_All\\            .msu/.msi/.msp for every node
    <Root>\\<NODE>\\                   updates for one node (its NetBIOS name)
    <Root>\\<scope>\\<RuleName>\\      other file types, installed by a <Folder> rule

and *silently ignores* whatever does not follow that structure. An ignored update is the worst
kind of failure: the run reports success and the node stays unpatched. So this module turns the
user's update list into an explicit plan and refuses, before anything is copied, every input the
plug-in would ignore or misuse. It also holds the security rules the plug-in checks on the root
(NTFS ACLs, SMB encryption/signing, firewall, DFS) as pure functions, so the preflight report the
module returns is computed and unit-tested here rather than in PowerShell.

Nothing here touches a file system or imports Ansible.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError

__all__ = [
    "ALL_NODES_FOLDER",
    "CONFIG_FILE_NAME",
    "DEFAULT_EXTENSIONS",
    "FIREWALL_RULE_NAME",
    "PRIVILEGED_SIDS",
    "SID_ADMINISTRATORS",
    "SID_AUTHENTICATED_USERS",
    "SID_CREATOR_OWNER",
    "SID_EVERYONE",
    "SID_SYSTEM",
    "SID_TRUSTED_INSTALLER",
    "SID_USERS",
    "WELL_KNOWN_SIDS",
    "WRITE_CLASS_MASK",
    "Ace",
    "AclViolation",
    "Check",
    "DesiredAcl",
    "HotfixRoot",
    "PlannedFile",
    "TreePlan",
    "check_acl",
    "desired_acl",
    "exe_folders",
    "find_ignored_files",
    "normalise_identity",
    "parse_ace",
    "parse_rights",
    "plan_tree",
    "preflight",
    "validate_file_name",
    "validate_folder_name",
    "validate_hotfix_root",
    "validate_netbios_name",
    "validate_share_name",
]

# The folder whose updates go to every node (seed 003, example 1).
ALL_NODES_FOLDER = "CAUHotfix_All"
# Default name of the configuration file; the plug-in argument HotfixConfigFileName changes it.
CONFIG_FILE_NAME = "DefaultHotfixConfig.xml"
# File types the plug-in installs outside rule folders with its default configuration.
DEFAULT_EXTENSIONS: tuple[str, ...] = ("MSU", "MSI", "MSP")
# The rule that must be enabled on the SMB server (seed 003, step 5).
FIREWALL_RULE_NAME = "File Server Remote Management (SMB-In)"

# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------

# Characters Win32 refuses in a file or folder name; ':' is also how an alternate data stream
# would be addressed, '\' and '/' would make one name into a path.
_INVALID_NAME_CHARS = frozenset('<>:"/\\|?*') | frozenset(chr(c) for c in range(32))
# Win32 maps these names (with or without an extension) to devices: writing "NUL.msu" loses the
# file, "COM1" may block. The superscript digits are reserved too since Windows 10.
_RESERVED_DEVICE_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"COM{d}" for d in "123456789\u00b9\u00b2\u00b3"]
    + [f"LPT{d}" for d in "123456789\u00b9\u00b2\u00b3"]
)
# NTFS limit for one path component.
_MAX_NAME_LENGTH = 255

# NetBIOS computer names: at most 15 characters. We accept the DNS-compatible subset Windows
# setup recommends (letters, digits, hyphen, underscore) because the name is also a folder name
# and a cluster node name; other NetBIOS-legal punctuation only causes trouble downstream.
_NETBIOS_RE = re.compile(r"[A-Za-z0-9_-]{1,15}")
# Words Windows reserves as computer names (Microsoft KB 909264; the multi-word ones cannot
# occur because a space is not allowed anyway), and our own all-nodes folder, which a node
# folder must never shadow.
_NETBIOS_RESERVED = frozenset(
    {
        "ANONYMOUS",
        "BATCH",
        "BUILTIN",
        "DIALUP",
        "DOMAIN",
        "ENTERPRISE",
        "INTERACTIVE",
        "INTERNET",
        "LOCAL",
        "NETWORK",
        "NULL",
        "PROXY",
        "RESTRICTED",
        "SELF",
        "SERVER",
        "SERVICE",
        "SYSTEM",
        "USERS",
        "WORLD",
        ALL_NODES_FOLDER.upper(),
    }
)


def _check_component(name: Any, field_name: str, what: str) -> str:
    """Shared rules of a single Windows path component (file or folder name).

    Each refused form is one the plug-in or Win32 would turn into something else: a traversal
    (``..``), a different folder (separators, drive letters), a stream (``:``), a device name,
    or a name Win32 silently trims (trailing dot or space), which would make two planned names
    collide on the server although they differ on the controller.
    """
    if not isinstance(name, str) or not name:
        raise InputError(field_name, f"must be a non-empty {what} name (a string)")
    if name in (".", ".."):
        raise InputError(field_name, f"{name!r} is a path traversal, not a {what} name")
    bad = sorted({c for c in name if c in _INVALID_NAME_CHARS})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        raise InputError(
            field_name,
            f"{name!r} contains {shown}; a {what} name may not contain path separators, drive or "
            'stream separators (:), control characters or any of < > " | ? *',
        )
    if name[-1] in ". ":
        raise InputError(field_name, f"{name!r} ends with a dot or space, which Windows strips; remove it")
    if name[0] == " ":
        raise InputError(field_name, f"{name!r} starts with a space; remove it")
    if len(name) > _MAX_NAME_LENGTH:
        raise InputError(field_name, f"{what} name is {len(name)} characters; NTFS allows {_MAX_NAME_LENGTH}")
    stem = name.split(".", 1)[0].rstrip(" ").upper()
    if stem in _RESERVED_DEVICE_NAMES:
        raise InputError(
            field_name,
            f"{name!r} is the reserved device name {stem} (reserved with or without an extension); "
            "choose another name",
        )
    return name


def validate_file_name(name: Any, field: str = "name") -> str:
    """Return ``name`` if it is a safe Windows file name, else raise :class:`InputError`."""
    return _check_component(name, field, "file")


def validate_folder_name(name: Any, field: str = "name") -> str:
    """Return ``name`` if it is a safe rule folder name, else raise :class:`InputError`.

    A rule folder called ``CAUHotfix_All`` would read as the all-nodes folder nested in itself,
    so that name is refused as well.
    """
    _check_component(name, field, "folder")
    if name.casefold() == ALL_NODES_FOLDER.casefold():
        raise InputError(field, f"{ALL_NODES_FOLDER} is the all-nodes folder, not a rule folder name")
    return name


def validate_netbios_name(name: Any, field: str = "node") -> str:
    """Return the upper-case NetBIOS name of a cluster node, or raise :class:`InputError`.

    The plug-in matches per-node folders against the node's NetBIOS name, so a FQDN or a name
    longer than 15 characters would create a folder that no node ever reads.
    """
    if not isinstance(name, str) or not name:
        raise InputError(field, "must be a node's NetBIOS name, e.g. NODE1")
    if "." in name:
        short = name.split(".", 1)[0]
        raise InputError(field, f"{name!r} looks like a DNS name; use the NetBIOS name ({short.upper()!r})")
    if len(name) > 15:
        raise InputError(field, f"{name!r} is {len(name)} characters; a NetBIOS name has at most 15")
    if not _NETBIOS_RE.fullmatch(name):
        raise InputError(field, f"{name!r} may contain only letters, digits, '-' and '_'")
    if name.startswith("-"):
        raise InputError(field, f"{name!r} may not start with '-'")
    if name.isdigit():
        raise InputError(field, f"{name!r} is all digits, which Windows refuses as a computer name")
    upper = name.upper()
    if upper in _NETBIOS_RESERVED or upper in _RESERVED_DEVICE_NAMES:
        raise InputError(field, f"{name!r} is a reserved name and cannot be a computer name")
    return upper


# --------------------------------------------------------------------------------------------
# Hotfix root path
# --------------------------------------------------------------------------------------------

_DNS_LABEL_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_SHARE_INVALID = frozenset('\\/:*?"<>|') | frozenset(chr(c) for c in range(32))
# Administrative shares expose a whole drive or the IPC channel: ACLs set there would be
# applied far beyond the hotfix root.
_ADMIN_SHARE_RE = re.compile(r"(?:[A-Za-z]\$|ADMIN\$|IPC\$|PRINT\$)", re.IGNORECASE)


@dataclass(frozen=True)
class HotfixRoot:
    """A validated HotfixRootFolderPath.

    ``kind`` is ``local`` (``D:\\CauHotfix``) or ``unc`` (``\\\\fs01\\CauHotfix\\Root``).
    ``is_dfs`` records that the path is a DFS namespace path, which the plug-in's ACL check
    cannot handle: such a root needs ``DisableAclChecks='True'``.
    """

    path: str
    kind: str
    server: str | None = None
    share: str | None = None
    folders: tuple[str, ...] = ()
    is_dfs: bool = False


def _validate_server(server: str, field_name: str) -> str:
    """Accept a NetBIOS name, a DNS name or an IP address as the SMB server of a UNC path."""
    try:
        ipaddress.ip_address(server)
        return server
    except ValueError:
        pass
    labels = server.split(".")
    if len(server) > 253 or not all(_DNS_LABEL_RE.fullmatch(label) for label in labels):
        raise InputError(
            field_name,
            f"server {server!r} is not a valid host name (letters, digits and '-' per label) or IP address",
        )
    if len(labels) == 1 and len(server) > 15:
        raise InputError(field_name, f"server {server!r} is longer than a NetBIOS name; use its DNS name")
    return server


def _validate_share(share: str, field_name: str) -> str:
    """A share name the hotfix root may live on: legal, and not an administrative share."""
    if not share or len(share) > 80:
        raise InputError(field_name, f"share name {share!r} must be 1-80 characters")
    bad = sorted({c for c in share if c in _SHARE_INVALID})
    if bad:
        raise InputError(field_name, f"share name {share!r} contains {', '.join(map(repr, bad))}")
    if _ADMIN_SHARE_RE.fullmatch(share):
        raise InputError(
            field_name, f"{share!r} is an administrative share; publish the hotfix root on a dedicated share"
        )
    return share


def validate_share_name(name: Any, field: str = "share.name") -> str:
    """Return ``name`` if it is a share the hotfix root may be published on, else raise
    :class:`InputError`: the same rule as the share part of a UNC root, for callers that name
    the share separately (the module's ``share`` option, a DFS folder target)."""
    if not isinstance(name, str):
        raise InputError(field, "must be a share name (a string), e.g. CauHotfix")
    return _validate_share(name, field)


def validate_hotfix_root(
    path: Any, field: str = "cau_hotfix_root_path", is_dfs: bool | None = None
) -> HotfixRoot:
    """Validate HotfixRootFolderPath: a local absolute folder or a UNC path.

    Forward slashes are accepted and normalised. Device paths (``\\\\?\\``, ``\\\\.\\``), relative
    and drive-relative paths, and a bare drive root are refused: the module sets a restrictive
    ACL on the root, which must never be a whole volume. ``is_dfs`` is the user's (or the
    caller's) statement that the UNC path is a DFS namespace; we cannot tell from the string
    alone, because ``\\\\contoso.com\\ns`` and ``\\\\fs01.contoso.com\\share`` look alike.
    """
    if not isinstance(path, str) or not path.strip():
        raise InputError(field, r"must be a local path (D:\CauHotfix) or a UNC path (\\server\share\folder)")
    text = path.strip().replace("/", "\\")
    if text.startswith(("\\\\?\\", "\\\\.\\")):
        raise InputError(field, f"{path!r} is a device path; give a plain local or UNC path")
    if text.startswith("\\\\"):
        parts = text[2:].split("\\")
        while parts and parts[-1] == "":
            parts.pop()
        if len(parts) < 2 or "" in parts:
            raise InputError(field, f"{path!r} must be \\\\server\\share or \\\\server\\share\\folder")
        server = _validate_server(parts[0], field)
        share = _validate_share(parts[1], field)
        folders = tuple(_check_component(p, field, "folder") for p in parts[2:])
        normal = "\\\\" + "\\".join([server, share, *folders])
        return HotfixRoot(normal, "unc", server, share, folders, bool(is_dfs))
    match = re.fullmatch(r"([A-Za-z]):(\\.*)?", text)
    if not match or match.group(2) is None:
        raise InputError(
            field, f"{path!r} is not absolute; use a local path like D:\\CauHotfix or a UNC path"
        )
    parts = [p for p in match.group(2).split("\\") if p != ""]
    if not parts:
        raise InputError(field, f"{path!r} is a drive root; use a dedicated folder such as D:\\CauHotfix")
    if is_dfs:
        raise InputError(field, f"{path!r} is a local path; only a UNC path can be a DFS namespace path")
    folders = tuple(_check_component(p, field, "folder") for p in parts)
    normal = match.group(1).upper() + ":\\" + "\\".join(folders)
    return HotfixRoot(normal, "local", None, None, folders, False)


# --------------------------------------------------------------------------------------------
# Tree plan
# --------------------------------------------------------------------------------------------

_UPDATE_KEYS = frozenset({"src", "nodes", "rule"})


@dataclass(frozen=True)
class PlannedFile:
    """One update file and where it goes, relative to the hotfix root.

    ``parts`` is the relative path as components (``("NODE2", "node2-only.msi")``);
    ``relative_path`` joins them with backslashes, as the plug-in sees them.
    """

    src: str
    parts: tuple[str, ...]
    scope: str
    rule: str | None
    index: int

    @property
    def relative_path(self) -> str:
        """The Windows form ``NODE2\\node2-only.msi``."""
        return "\\".join(self.parts)

    @property
    def name(self) -> str:
        """The file name on the server."""
        return self.parts[-1]


@dataclass(frozen=True)
class TreePlan:
    """Every file of a hotfix root and the folders that hold them.

    ``folders`` lists each directory (relative parts) parents first; ``warnings`` holds things
    that are legal but probably not what the user meant (a rule no file uses, one update both in
    CAUHotfix_All and a node folder).
    """

    files: tuple[PlannedFile, ...]
    folders: tuple[tuple[str, ...], ...]
    warnings: tuple[str, ...] = ()

    def relative_paths(self) -> list[str]:
        """All file paths, Windows form, in plan order."""
        return [f.relative_path for f in self.files]


def _rule_names(folder_rules: Iterable[Any]) -> dict[str, str]:
    """casefold -> name for rule objects (anything with ``.name``), mappings or plain strings."""
    names: dict[str, str] = {}
    for rule in folder_rules:
        if isinstance(rule, str):
            name = rule
        elif isinstance(rule, Mapping):
            name = rule.get("name")
        else:
            name = getattr(rule, "name", None)
        if isinstance(name, str):
            names[name.casefold()] = name
    return names


def _extension_of(name: str) -> str:
    """``update.MSU`` -> ``MSU``; no extension -> empty string."""
    return name.rsplit(".", 1)[1].upper() if "." in name else ""


def plan_tree(
    updates: Any,
    folder_rules: Iterable[Any],
    nodes: Iterable[str] | None = None,
    *,
    extensions: Iterable[str] = DEFAULT_EXTENSIONS,
    field: str = "cau_hotfix_updates",
) -> TreePlan:
    """Compute the target of every update and refuse what the plug-in would ignore or misuse.

    ``updates`` is the role's list of ``{src, nodes: [...], rule: Name}``; no ``nodes`` means
    ``CAUHotfix_All``. ``folder_rules`` are the configured rules (objects with ``.name``, or
    names); ``extensions`` the extension rules of the configuration, i.e. the file types the
    plug-in installs outside a rule folder. ``nodes``, when given, is the cluster's node list;
    a node outside it would get a folder that nobody reads.
    """
    if not isinstance(updates, Sequence) or isinstance(updates, (str, bytes)):
        raise InputError(field, "must be a list of {src, nodes, rule} entries")
    rules = _rule_names(folder_rules)
    exts = {e.upper().lstrip(".") for e in extensions}
    known_nodes = None if nodes is None else {validate_netbios_name(n, "nodes") for n in nodes}
    files: list[PlannedFile] = []
    seen: dict[str, int] = {}
    used_rules: set[str] = set()
    for index, item in enumerate(updates):
        where = f"{field}[{index}]"
        if isinstance(item, str):
            item = {"src": item}
        if not isinstance(item, Mapping):
            raise InputError(where, "must be a mapping with src and optionally nodes and rule")
        unknown = sorted(set(item) - _UPDATE_KEYS)
        if unknown:
            raise InputError(where, f"unknown keys {unknown}; valid keys are src, nodes, rule")
        src = item.get("src")
        if not isinstance(src, str) or not src:
            raise InputError(f"{where}.src", "must be the path of the update file on the controller")
        name = validate_file_name(posixpath.basename(src.rstrip("/")), f"{where}.src")
        rule_value = item.get("rule")
        rule: str | None = None
        if rule_value is not None:
            validate_folder_name(rule_value, f"{where}.rule")
            rule = rules.get(rule_value.casefold())
            if rule is None:
                defined = ", ".join(sorted(rules.values())) or "none"
                raise InputError(
                    f"{where}.rule",
                    f"rule {rule_value!r} is not defined in cau_hotfix_folder_rules (defined: {defined}); "
                    "the plug-in ignores a rule folder without a <Folder> rule",
                )
            used_rules.add(rule.casefold())
        else:
            ext = _extension_of(name)
            if ext not in exts:
                allowed = ", ".join("." + e.lower() for e in sorted(exts)) or "none"
                raise InputError(
                    f"{where}.src",
                    f"{name!r}: the plug-in installs only {allowed} outside a rule folder and would "
                    "ignore this file; set rule: <Name> and define that rule in cau_hotfix_folder_rules",
                )
        node_list = item.get("nodes")
        scopes: list[str]
        if node_list is None or node_list == []:
            scopes = [ALL_NODES_FOLDER]
        else:
            if isinstance(node_list, str) or not isinstance(node_list, Sequence):
                raise InputError(f"{where}.nodes", "must be a list of node NetBIOS names")
            scopes = []
            for n_index, node in enumerate(node_list):
                upper = validate_netbios_name(node, f"{where}.nodes[{n_index}]")
                if known_nodes is not None and upper not in known_nodes:
                    raise InputError(
                        f"{where}.nodes[{n_index}]",
                        f"{upper} is not a node of the cluster (nodes: {', '.join(sorted(known_nodes))})",
                    )
                if upper in scopes:
                    raise InputError(f"{where}.nodes[{n_index}]", f"{upper} is listed twice")
                scopes.append(upper)
        for scope in scopes:
            parts = (scope, rule, name) if rule else (scope, name)
            target = "\\".join(parts)
            key = target.casefold()
            if key in seen:
                raise InputError(
                    where,
                    f"target {target} is also the target of {field}[{seen[key]}]; "
                    "two files cannot share one path (Windows names are case-insensitive)",
                )
            seen[key] = index
            files.append(PlannedFile(src, parts, scope, rule, index))
    warnings: list[str] = []
    for folded, rule_name in rules.items():
        if folded not in used_rules:
            warnings.append(f"folder rule {rule_name} has no files; it is kept in the configuration")
    all_names = {f.name.casefold() for f in files if f.scope == ALL_NODES_FOLDER and f.rule is None}
    for f in files:
        if f.scope != ALL_NODES_FOLDER and f.rule is None and f.name.casefold() in all_names:
            warnings.append(
                f"{f.name} is both in {ALL_NODES_FOLDER} and in {f.scope}; {f.scope} will run it twice"
            )
    folders: set[tuple[str, ...]] = set()
    for f in files:
        for depth in range(1, len(f.parts)):
            folders.add(f.parts[:depth])
    for folder in folders:
        target = "\\".join(folder)
        clash = seen.get(target.casefold())
        if clash is not None:
            raise InputError(
                f"{field}[{clash}]",
                f"target {target} would be both a file and a rule folder; rename the file or the rule",
            )
    ordered = tuple(sorted(folders, key=lambda p: (len(p), [s.casefold() for s in p])))
    return TreePlan(tuple(files), ordered, tuple(warnings))


def find_ignored_files(
    paths: Iterable[str],
    folder_rules: Iterable[Any] | None,
    nodes: Iterable[str] | None = None,
    *,
    extensions: Iterable[str] = DEFAULT_EXTENSIONS,
    config_name: str = CONFIG_FILE_NAME,
) -> list[str]:
    """Explain each observed file (relative to the root) the plug-in would ignore.

    Used by preflight on what a server (or a stage directory) actually holds: files outside the
    structure, types without an extension rule, rule folders without a rule, nesting deeper than
    ``<scope>\\<rule>\\file``, per-node folders that are not a (known) node name.
    ``folder_rules=None`` means the rules are unknown (no usable configuration): rule folders
    are then not judged, so one broken file does not produce a second, derived finding.
    """
    rules = None if folder_rules is None else _rule_names(folder_rules)
    exts = {e.upper().lstrip(".") for e in extensions}
    known = None if nodes is None else {n.upper() for n in nodes}
    findings: list[str] = []
    for raw in paths:
        parts = [p for p in raw.replace("/", "\\").split("\\") if p]
        shown = "\\".join(parts)
        if len(parts) == 1:
            if parts[0].casefold() != config_name.casefold():
                findings.append(f"{shown}: a file in the root other than {config_name} is ignored")
            continue
        scope = parts[0]
        if scope.casefold() != ALL_NODES_FOLDER.casefold():
            try:
                upper = validate_netbios_name(scope)
            except InputError:
                findings.append(f"{shown}: {scope} is neither {ALL_NODES_FOLDER} nor a NetBIOS node name")
                continue
            if known is not None and upper not in known:
                findings.append(f"{shown}: {scope} is not a node of the cluster")
                continue
        if len(parts) == 2:
            if _extension_of(parts[1]) not in exts:
                findings.append(f"{shown}: no extension rule for this file type outside a rule folder")
        elif len(parts) == 3:
            if rules is not None and parts[1].casefold() not in rules:
                findings.append(f"{shown}: rule folder {parts[1]} has no <Folder> rule in the configuration")
        else:
            findings.append(f"{shown}: nested deeper than <scope>\\<rule>\\<file>")
    return findings


# --------------------------------------------------------------------------------------------
# NTFS ACL rules
# --------------------------------------------------------------------------------------------

# Well-known SIDs of the identities the security rules name (seed 003, step 3).
SID_ADMINISTRATORS = "S-1-5-32-544"
SID_SYSTEM = "S-1-5-18"
SID_CREATOR_OWNER = "S-1-3-0"
SID_TRUSTED_INSTALLER = "S-1-5-80-956008885-3418522408-1831038044-1853292631-2271478464"
SID_USERS = "S-1-5-32-545"
SID_EVERYONE = "S-1-1-0"
SID_AUTHENTICATED_USERS = "S-1-5-11"

# Names (English, with and without authority prefix) -> SID. Hosts with a localised OS print
# localised names; the module sends SIDs, names are for humans writing YAML.
WELL_KNOWN_SIDS: Mapping[str, str] = {
    "administrators": SID_ADMINISTRATORS,
    "builtin\\administrators": SID_ADMINISTRATORS,
    "system": SID_SYSTEM,
    "nt authority\\system": SID_SYSTEM,
    "local system": SID_SYSTEM,
    "creator owner": SID_CREATOR_OWNER,
    "trustedinstaller": SID_TRUSTED_INSTALLER,
    "nt service\\trustedinstaller": SID_TRUSTED_INSTALLER,
    "users": SID_USERS,
    "builtin\\users": SID_USERS,
    "everyone": SID_EVERYONE,
    "authenticated users": SID_AUTHENTICATED_USERS,
    "nt authority\\authenticated users": SID_AUTHENTICATED_USERS,
}
_SID_NAMES = {
    SID_ADMINISTRATORS: "BUILTIN\\Administrators",
    SID_SYSTEM: "NT AUTHORITY\\SYSTEM",
    SID_CREATOR_OWNER: "CREATOR OWNER",
    SID_TRUSTED_INSTALLER: "NT SERVICE\\TrustedInstaller",
    SID_USERS: "BUILTIN\\Users",
    SID_EVERYONE: "Everyone",
    SID_AUTHENTICATED_USERS: "NT AUTHORITY\\Authenticated Users",
}
# The only identities that may hold write/modify-class rights on the root and below.
PRIVILEGED_SIDS = frozenset({SID_ADMINISTRATORS, SID_SYSTEM, SID_CREATOR_OWNER, SID_TRUSTED_INSTALLER})
# Groups every member of Users belongs to: a grant to them is a grant to Users.
_USERS_EQUIVALENT = frozenset({SID_USERS, SID_AUTHENTICATED_USERS, SID_EVERYONE})

# FileSystemRights bits (System.Security.AccessControl.FileSystemRights).
_RIGHT_BITS: Mapping[str, int] = {
    "readdata": 0x1,
    "listdirectory": 0x1,
    "writedata": 0x2,
    "createfiles": 0x2,
    "appenddata": 0x4,
    "createdirectories": 0x4,
    "readextendedattributes": 0x8,
    "writeextendedattributes": 0x10,
    "executefile": 0x20,
    "traverse": 0x20,
    "deletesubdirectoriesandfiles": 0x40,
    "readattributes": 0x80,
    "writeattributes": 0x100,
    "write": 0x116,
    "delete": 0x10000,
    "readpermissions": 0x20000,
    "read": 0x20089,
    "readandexecute": 0x200A9,
    "modify": 0x301BF,
    "changepermissions": 0x40000,
    "takeownership": 0x80000,
    "synchronize": 0x100000,
    "fullcontrol": 0x1F01FF,
}
# Generic rights appear in inherit-only entries (CREATOR OWNER often holds GENERIC_ALL,
# 268435456); they map onto the file-specific bits as Windows does.
_GENERIC_MAP = {
    0x10000000: 0x1F01FF,  # GENERIC_ALL
    0x20000000: 0x1200A0,  # GENERIC_EXECUTE
    0x40000000: 0x120116,  # GENERIC_WRITE
    0x80000000: 0x120089,  # GENERIC_READ
}
# Bits that let an identity change what the plug-in will run: write, append, attributes,
# delete, and rewriting the ACL or taking ownership (which leads to all of them).
WRITE_CLASS_MASK = 0x2 | 0x4 | 0x10 | 0x40 | 0x100 | 0x10000 | 0x40000 | 0x80000
_READ_MASK = 0x1 | 0x8 | 0x80 | 0x20000  # ReadData, ReadEA, ReadAttributes, ReadPermissions
_EXECUTE_MASK = 0x20
# Synchronize is harmless and always present in Windows' own masks.
_SYNCHRONIZE = 0x100000
_SID_RE = re.compile(r"S-1-\d+(?:-\d+)+", re.IGNORECASE)


def normalise_identity(identity: Any, field: str = "identity") -> str:
    """Return the SID for a well-known name or a SID; other names unchanged (case kept).

    Domain and local accounts we cannot resolve stay names: they are simply not privileged.
    """
    if not isinstance(identity, str) or not identity.strip():
        raise InputError(field, "must be an account name or SID (e.g. BUILTIN\\Users or S-1-5-32-545)")
    text = identity.strip()
    if _SID_RE.fullmatch(text):
        return text.upper()
    return WELL_KNOWN_SIDS.get(text.casefold(), text)


def _display(identity: str) -> str:
    return _SID_NAMES.get(identity, identity)


def parse_rights(rights: Any, field: str = "rights") -> int:
    """FileSystemRights as names (``FullControl``, ``"ReadAndExecute, Synchronize"``, a list) or
    an integer mask (signed or unsigned, generic bits mapped) -> specific-rights mask."""
    if isinstance(rights, bool):
        raise InputError(field, "must be rights names or an integer mask, not a boolean")
    if isinstance(rights, int):
        mask = rights & 0xFFFFFFFF
    else:
        if isinstance(rights, str):
            names = [n.strip() for n in rights.split(",")]
        elif isinstance(rights, Sequence):
            names = []
            for entry in rights:
                if not isinstance(entry, str):
                    raise InputError(field, f"{entry!r} is not a rights name")
                names.extend(n.strip() for n in entry.split(","))
        else:
            raise InputError(field, "must be rights names or an integer mask")
        mask = 0
        for name in names:
            if not name:
                continue
            bit = _RIGHT_BITS.get(name.casefold())
            if bit is None:
                valid = "FullControl, Modify, Write, ReadAndExecute, Read, ..."
                raise InputError(field, f"unknown right {name!r}; use FileSystemRights names ({valid})")
            mask |= bit
        if mask == 0:
            raise InputError(field, "names no rights")
    for generic, specific in _GENERIC_MAP.items():
        if mask & generic:
            mask = (mask & ~generic) | specific
    return mask


@dataclass(frozen=True)
class Ace:
    """One access control entry as Get-Acl reports it (identity normalised to a SID when known)."""

    identity: str
    rights: int
    type: str = "Allow"
    inherited: bool = False

    @property
    def display(self) -> str:
        """A readable identity for messages."""
        return _display(self.identity)


def parse_ace(data: Any, field: str = "ace") -> Ace:
    """Build an :class:`Ace` from ``{identity, rights, type, inherited}`` (PowerShell names
    ``IdentityReference``, ``FileSystemRights``, ``AccessControlType``, ``IsInherited`` work too)."""
    if isinstance(data, Ace):
        return data
    if not isinstance(data, Mapping):
        raise InputError(field, "must be a mapping with identity, rights, type, inherited")
    lowered = {str(k).casefold(): v for k, v in data.items()}
    identity = lowered.get("identity", lowered.get("identityreference"))
    rights = lowered.get("rights", lowered.get("filesystemrights"))
    ace_type = lowered.get("type", lowered.get("accesscontroltype", "Allow"))
    inherited = lowered.get("inherited", lowered.get("isinherited", False))
    if rights is None:
        raise InputError(f"{field}.rights", "is required")
    if isinstance(ace_type, int) and not isinstance(ace_type, bool):
        ace_type = {0: "Allow", 1: "Deny"}.get(ace_type, ace_type)
    if not isinstance(ace_type, str) or ace_type.casefold() not in ("allow", "deny"):
        raise InputError(f"{field}.type", f"{ace_type!r} must be Allow or Deny")
    if not isinstance(inherited, bool):
        raise InputError(f"{field}.inherited", "must be true or false")
    return Ace(
        normalise_identity(identity, f"{field}.identity"),
        parse_rights(rights, f"{field}.rights"),
        "Allow" if ace_type.casefold() == "allow" else "Deny",
        inherited,
    )


@dataclass(frozen=True)
class AclViolation:
    """One finding on one path. ``blocking`` means the plug-in's own ACL check fails the run."""

    path: str
    identity: str
    problem: str
    fix: str
    blocking: bool = True


def _right_names(mask: int) -> str:
    """The composite right equal to ``mask`` (``Modify``...), else the single rights it holds."""
    for name in ("FullControl", "Modify", "ReadAndExecute", "Read", "Write"):
        bits = _RIGHT_BITS[name.casefold()]
        if mask & ~_SYNCHRONIZE == bits & ~_SYNCHRONIZE:
            return name
    singles = [
        "WriteData",
        "AppendData",
        "WriteExtendedAttributes",
        "DeleteSubdirectoriesAndFiles",
        "WriteAttributes",
        "Delete",
        "ChangePermissions",
        "TakeOwnership",
        "ReadData",
        "ReadExtendedAttributes",
        "ExecuteFile",
        "ReadAttributes",
        "ReadPermissions",
    ]
    return ", ".join(n for n in singles if mask & _RIGHT_BITS[n.casefold()]) or hex(mask)


def check_acl(
    path: str, aces: Iterable[Any], has_exe: bool = False, field: str = "acl"
) -> list[AclViolation]:
    """Return every violation of the hotfix root security rules on one path.

    Rules (seed 003, step 3): only Administrators, SYSTEM, CREATOR OWNER and TrustedInstaller
    may hold write/modify-class rights (blocking: the plug-in refuses the root); Users must be
    able to read, and to execute where ``.exe`` updates are installed (blocking); anybody else
    should hold at most Read, plus execute where ``.exe`` files are (not blocking: the plug-in
    accepts it, but it is more than the desired ACL grants). Deny entries never violate; a deny
    of read to Users (or Everyone / Authenticated Users) removes the read Users need.
    """
    parsed = [parse_ace(a, f"{field}[{i}]") for i, a in enumerate(aces)]
    violations: list[AclViolation] = []
    allowed_mask = _READ_MASK | (_EXECUTE_MASK if has_exe else 0) | _SYNCHRONIZE
    for ace in parsed:
        if ace.type != "Allow" or ace.identity in PRIVILEGED_SIDS:
            continue
        where = "inherited from a parent" if ace.inherited else "explicit"
        if ace.rights & WRITE_CLASS_MASK:
            fix = (
                "disable inheritance on the hotfix root without copying entries (the module sets the "
                "desired ACL), or remove the entry on the parent"
                if ace.inherited
                else f"remove the entry for {ace.display} or reduce it to Read"
            )
            violations.append(
                AclViolation(
                    path,
                    ace.display,
                    f"{ace.display} holds {_right_names(ace.rights)} ({where}); only "
                    "Administrators, SYSTEM, CREATOR OWNER and TrustedInstaller may write or modify",
                    fix,
                )
            )
        elif ace.rights & ~allowed_mask:
            violations.append(
                AclViolation(
                    path,
                    ace.display,
                    f"{ace.display} holds {_right_names(ace.rights)} ({where}); "
                    + ("at most ReadAndExecute is needed here" if has_exe else "at most Read is needed here"),
                    f"reduce {ace.display} to {'ReadAndExecute' if has_exe else 'Read'}",
                    blocking=False,
                )
            )
    granted = 0
    denied = 0
    for ace in parsed:
        if ace.identity in _USERS_EQUIVALENT:
            if ace.type == "Allow":
                granted |= ace.rights
            else:
                denied |= ace.rights
    effective = granted & ~denied
    need = _READ_MASK | (_EXECUTE_MASK if has_exe else 0)
    if effective & need != need:
        what = "read and execute" if has_exe else "read"
        violations.append(
            AclViolation(
                path,
                _display(SID_USERS),
                f"Users cannot {what} here" + (" (a Deny entry removes it)" if denied & need else ""),
                f"grant BUILTIN\\Users {'ReadAndExecute' if has_exe else 'Read'} and remove Deny entries for Users",
            )
        )
    return violations


@dataclass(frozen=True)
class DesiredAcl:
    """The ACL the module sets on a path.

    ``protect`` disables inheritance from the parent without copying its entries, so that a
    permissive parent (e.g. Users: Modify on a data volume) cannot leak into the root.
    ``entries`` are ``{identity (SID), rights, type, inheritance, propagation}`` dicts.
    """

    protect: bool
    entries: tuple[Mapping[str, str], ...]


def desired_acl(has_exe: bool = False, *, root: bool = True) -> DesiredAcl:
    """The ACL satisfying the security rules: the root gets the full protected set with Users
    Read; a folder below that holds ``.exe`` updates (``root=False``) keeps inheritance and adds
    Users ReadAndExecute, so execute is granted only where it is needed."""
    inherit = "ContainerInherit, ObjectInherit"
    users_rights = "ReadAndExecute, Synchronize" if has_exe else "Read, Synchronize"
    users = {
        "identity": SID_USERS,
        "rights": users_rights,
        "type": "Allow",
        "inheritance": inherit,
        "propagation": "None",
    }
    if not root:
        return DesiredAcl(False, (users,))
    full = "FullControl"
    entries = (
        {
            "identity": SID_ADMINISTRATORS,
            "rights": full,
            "type": "Allow",
            "inheritance": inherit,
            "propagation": "None",
        },
        {
            "identity": SID_SYSTEM,
            "rights": full,
            "type": "Allow",
            "inheritance": inherit,
            "propagation": "None",
        },
        # CREATOR OWNER applies to children only: it gives the creator of a file (always an
        # administrator here) control of that file, never of the root itself.
        {
            "identity": SID_CREATOR_OWNER,
            "rights": full,
            "type": "Allow",
            "inheritance": inherit,
            "propagation": "InheritOnly",
        },
        {
            "identity": SID_TRUSTED_INSTALLER,
            "rights": full,
            "type": "Allow",
            "inheritance": inherit,
            "propagation": "None",
        },
        users,
    )
    return DesiredAcl(True, entries)


def exe_folders(plan: TreePlan) -> list[str]:
    """Relative folders (Windows form) that receive ``.exe`` updates and so need Users execute."""
    folders = {"\\".join(f.parts[:-1]) for f in plan.files if _extension_of(f.name) == "EXE"}
    return sorted(folders, key=str.casefold)


# --------------------------------------------------------------------------------------------
# Preflight
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One preflight finding: what was checked, whether it passed, why, and how to fix it.

    ``blocking`` tells whether the HotfixPlugin itself would fail the run on it; a non-blocking
    failure is a weakness the plug-in tolerates (or a file it would silently skip).
    """

    name: str
    passed: bool
    detail: str
    fix: str = ""
    blocking: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the module result."""
        return {
            "name": self.name,
            "passed": self.passed,
            "detail": self.detail,
            "fix": self.fix,
            "blocking": self.blocking,
        }


def _is_under(path: str, folder: str) -> bool:
    p, f = path.casefold().strip("\\"), folder.casefold().strip("\\")
    return f == "" or p == f or p.startswith(f + "\\")


def preflight(observed: Mapping[str, Any]) -> list[Check]:
    """Every check the HotfixPlugin makes on a hotfix root, from an observed state.

    ``observed`` keys (all optional except ``root``):

    - ``root``: HotfixRootFolderPath; ``is_dfs``: DFS namespace path; ``disable_acl_checks``:
      the plug-in argument DisableAclChecks; ``require_smb_encryption``: RequireSMBEncryption.
    - ``acl``: ``{relative path ('' for the root): [ace, ...]}``.
    - ``files``: relative paths of every file found under the root.
    - ``share``: ``{name, encrypt_data, signing_required}`` (UNC roots).
    - ``firewall_rule_enabled``: the "File Server Remote Management (SMB-In)" rule.
    - ``config``: ``{present, content (bytes), schema_errors: [...]}`` where ``schema_errors``
      come from the host's HotfixConfigSchema.xsd when the module found it.
    - ``nodes``: the cluster's node names; ``config_name``: HotfixConfigFileName.
    - ``account``: ``{name, is_local_admin}`` for the account that runs the update.

    The result always lists the same checks in the same order; failed ones carry the fix.
    """
    # Imported here: _hotfix_config imports this module for its name rules.
    from ansible_collections.winfleet.updates.plugins.module_utils import _hotfix_config

    checks: list[Check] = []
    try:
        root = validate_hotfix_root(observed.get("root"), "root", bool(observed.get("is_dfs")))
        checks.append(Check("root_path", True, f"{root.kind} path {root.path}"))
    except InputError as err:
        root = None
        checks.append(
            Check("root_path", False, err.message, "give a local absolute path or \\\\server\\share\\folder")
        )
    is_dfs = bool(observed.get("is_dfs"))
    disable_acl = bool(observed.get("disable_acl_checks"))
    if is_dfs and not disable_acl:
        checks.append(
            Check(
                "dfs_acl_checks",
                False,
                "the root is a DFS namespace path; the plug-in's ACL check does not work through DFS",
                "pass DisableAclChecks='True' in the HotfixPlugin arguments",
            )
        )
    else:
        detail = "DFS path with DisableAclChecks='True'" if is_dfs else "not a DFS namespace path"
        checks.append(Check("dfs_acl_checks", True, detail))

    # Configuration file: present, well formed, valid (ours and, when given, the host's XSD).
    config_name = observed.get("config_name") or CONFIG_FILE_NAME
    config_state = observed.get("config") or {}
    config_obj = None
    if not config_state.get("present"):
        checks.append(
            Check(
                "config_file",
                False,
                f"{config_name} is missing in the root",
                "let the module render it from the model",
            )
        )
    else:
        content = config_state.get("content")
        if isinstance(content, str):
            content = content.encode("utf-8")
        errors = list(config_state.get("schema_errors") or [])
        if content is not None:
            errors.extend(_hotfix_config.validate(content))
            if not errors:
                config_obj = _hotfix_config.parse(content)
        if errors:
            checks.append(
                Check(
                    "config_file",
                    False,
                    f"{config_name} is invalid: " + "; ".join(errors),
                    "re-render it from the model",
                )
            )
        else:
            checks.append(Check("config_file", True, f"{config_name} is present and valid"))

    # Files the plug-in would skip.
    files = [str(p) for p in observed.get("files") or []]
    rule_names: list[str] | None = None
    extensions = list(DEFAULT_EXTENSIONS)
    if config_obj is not None:
        rule_names = [r.name for r in config_obj.folder_rules]
        extensions = [r.name for r in config_obj.extension_rules]
    ignored = find_ignored_files(
        files, rule_names, observed.get("nodes"), extensions=extensions, config_name=config_name
    )
    if ignored:
        checks.append(
            Check(
                "tree_structure",
                False,
                "the plug-in will ignore: " + "; ".join(ignored),
                "move the files into CAUHotfix_All, a node folder or a configured rule folder, or remove them",
                blocking=False,
            )
        )
    else:
        checks.append(Check("tree_structure", True, f"{len(files)} file(s), all inside the structure"))

    # NTFS ACLs, path by path (root first).
    acl_map: Mapping[str, Any] = observed.get("acl") or {}
    exe_dirs = {"\\".join(p.replace("/", "\\").split("\\")[:-1]) for p in files if _extension_of(p) == "EXE"}
    if not acl_map:
        checks.append(Check("ntfs_acl", False, "no ACL was observed", "run preflight on the file server"))
    for rel in sorted(acl_map, key=lambda p: (p.count("\\"), p.casefold())):
        # Execute is needed on a folder that holds .exe updates and on everything inside it.
        has_exe = any(_is_under(rel, d) for d in exe_dirs)
        found = check_acl(rel or "\\", acl_map[rel], has_exe=has_exe, field=f"acl[{rel!r}]")
        name = f"ntfs_acl[{rel or '.'}]"
        if not found:
            checks.append(
                Check(name, True, "only Administrators, SYSTEM, CREATOR OWNER, TrustedInstaller can write")
            )
            continue
        blocking = any(v.blocking for v in found) and not disable_acl
        detail = "; ".join(v.problem for v in found)
        if disable_acl:
            detail += " (DisableAclChecks='True': the plug-in will not check, the root is still unsafe)"
        checks.append(
            Check(name, False, detail, "; ".join(dict.fromkeys(v.fix for v in found)), blocking=blocking)
        )

    # SMB data integrity and firewall (only meaningful when the root is on a share).
    if root is not None and root.kind == "unc":
        share = observed.get("share") or {}
        encrypt = bool(share.get("encrypt_data"))
        signing = bool(share.get("signing_required"))
        if observed.get("require_smb_encryption") and not encrypt:
            checks.append(
                Check(
                    "smb_integrity",
                    False,
                    "RequireSMBEncryption='True' but the share does not encrypt data: the run will fail",
                    f"Set-SmbShare -Name {root.share} -EncryptData $true",
                )
            )
        elif encrypt or signing:
            checks.append(
                Check("smb_integrity", True, "SMB encryption" if encrypt else "SMB signing required")
            )
        else:
            checks.append(
                Check(
                    "smb_integrity",
                    False,
                    "the share neither encrypts data nor requires signing; updates can be tampered with in transit",
                    f"Set-SmbShare -Name {root.share} -EncryptData $true (or require SMB signing on the server)",
                )
            )
        enabled = observed.get("firewall_rule_enabled")
        if enabled:
            checks.append(Check("firewall_smb_in", True, f"'{FIREWALL_RULE_NAME}' is enabled"))
        else:
            checks.append(
                Check(
                    "firewall_smb_in",
                    False,
                    f"'{FIREWALL_RULE_NAME}' is " + ("disabled" if enabled is False else "not observed"),
                    f"Enable-NetFirewallRule -DisplayName '{FIREWALL_RULE_NAME}'",
                )
            )
    elif root is not None:
        checks.append(Check("smb_integrity", True, "local root: no SMB share involved"))
        checks.append(Check("firewall_smb_in", True, "local root: no SMB share involved"))
    else:
        for name in ("smb_integrity", "firewall_smb_in"):
            checks.append(
                Check(name, False, "not evaluated: the root path is invalid", "fix root_path first")
            )

    account = observed.get("account")
    if isinstance(account, Mapping):
        name = account.get("name") or "the update account"
        if account.get("is_local_admin"):
            checks.append(
                Check("update_account", True, f"{name} is a local administrator on the file server")
            )
        else:
            checks.append(
                Check(
                    "update_account",
                    False,
                    f"{name} is not a local administrator on the file server",
                    f"add {name} to the file server's Administrators group (in self-updating mode, the CAU "
                    "role's computer account: Get-CauClusterRole ResourceGroupName)",
                )
            )
    return checks
