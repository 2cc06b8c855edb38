# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hotfix root layout, ACL rules and preflight of Microsoft.HotfixPlugin (for internal collection use only).

The plug-in reads a *hotfix root* and silently ignores whatever does not follow its structure
("How Cluster-Aware Updating plug-ins work",
https://learn.microsoft.com/en-us/windows-server/failover-clustering/cluster-aware-updating-plug-ins)::

    <Root>\\DefaultHotfixConfig.xml
    <Root>\\CAUHotfix_All\\            .msu/.msi/.msp for every node
    <Root>\\<NODE>\\                   updates for one node (its NetBIOS name)
    <Root>\\<scope>\\<RuleName>\\      other file types, installed by a <Folder> rule

An ignored update is a run that reports success on an unpatched node, so the user's list is
turned into an explicit plan that refuses, before anything is copied, every input the plug-in
would ignore. The security rules the same page lists (NTFS, SMB, firewall, DFS, the account)
are pure functions here; the preflight report is computed from an observed state.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable, Mapping

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError

ALL_NODES_FOLDER = "CAUHotfix_All"
CONFIG_FILE_NAME = "DefaultHotfixConfig.xml"
DEFAULT_EXTENSIONS = ("MSU", "MSI", "MSP")
FIREWALL_RULE_NAME = "File Server Remote Management (SMB-In)"

# Win32 file naming rules ("Naming Files, Paths, and Namespaces",
# https://learn.microsoft.com/en-us/windows/win32/fileio/naming-a-file).
_INVALID_CHARS = frozenset('<>:"/\\|?*') | frozenset(chr(c) for c in range(32))
_DEVICE_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{p}{d}" for p in ("COM", "LPT") for d in "123456789"]
)
# NetBIOS computer names: at most 15 characters ("Naming conventions in Active Directory",
# https://learn.microsoft.com/en-us/troubleshoot/windows-server/active-directory/naming-conventions-for-computer-domain-site-ou).
_NETBIOS_RE = re.compile(r"[A-Za-z0-9_-]{1,15}")  # with fullmatch: "$" matches before a trailing newline
_ADMIN_SHARE_RE = re.compile(r"(?:[A-Za-z]\$|ADMIN\$|IPC\$)", re.IGNORECASE)


def validate_file_name(name: Any, field: str = "name", what: str = "file") -> str:
    """One Windows path component (a file, folder or share name): no traversal, separators,
    streams, devices or a name Win32 would silently trim (two planned names could then collide on
    the server). Else :class:`InputError`."""
    if not isinstance(name, str) or not name:
        raise InputError(field, f"must be a non-empty {what} name (a string)")
    if name in (".", ".."):
        raise InputError(field, f"{name!r} is a path traversal, not a {what} name")
    bad = sorted({c for c in name if c in _INVALID_CHARS})
    if bad:
        raise InputError(
            field,
            f"{name!r} contains {', '.join(map(repr, bad))}; a {what} name may not contain path separators, "
            'drive or stream separators (:), control characters or any of < > " | ? *',
        )
    if name[-1] in ". ":
        raise InputError(field, f"{name!r} ends with a dot or space, which Windows strips; remove it")
    stem = name.split(".", 1)[0].rstrip(" ").upper()
    if stem in _DEVICE_NAMES:
        raise InputError(
            field,
            f"{name!r} is the reserved device name {stem} (reserved with or without an extension); "
            "choose another name",
        )
    return name


def validate_netbios_name(name: Any, field: str = "node") -> str:
    """The upper-case NetBIOS name of a node: the plug-in matches node folders against it, so a
    FQDN or a longer name would make a folder no node reads."""
    if "." in name:
        short = name.split(".", 1)[0].upper()
        raise InputError(field, f"{name!r} looks like a DNS name; use the NetBIOS name ({short!r})")
    if not _NETBIOS_RE.fullmatch(name):
        raise InputError(field, f"{name!r} is not a NetBIOS name: 1-15 letters, digits, '-' and '_'")
    return name.upper()


def validate_share_name(name: Any, field: str = "share.name") -> str:
    """A share the root may be published on: legal, and not an administrative share (ACLs set
    there would reach far beyond the root)."""
    if _ADMIN_SHARE_RE.fullmatch(validate_file_name(name, field, "share")):
        raise InputError(
            field, f"{name!r} is an administrative share; publish the hotfix root on a dedicated share"
        )
    return name


@dataclass(frozen=True)
class HotfixRoot:
    """A validated HotfixRootFolderPath: ``local`` (``D:\\CauHotfix``) or ``unc``."""

    path: str
    kind: str
    server: str | None = None
    share: str | None = None
    folders: tuple[str, ...] = ()


def validate_hotfix_root(path: Any, field: str = "path", is_dfs: bool = False) -> HotfixRoot:
    """A local absolute folder or a UNC path; never a device path, a relative path or a bare
    drive root (the module sets a restrictive ACL on the root, never on a whole volume)."""
    if not isinstance(path, str) or not path.strip():
        raise InputError(field, r"must be a local path (D:\CauHotfix) or a UNC path (\\server\share\folder)")
    text = path.strip().replace("/", "\\")
    if text.startswith(("\\\\?\\", "\\\\.\\")):
        raise InputError(field, f"{path!r} is a device path; give a plain local or UNC path")
    if text.startswith("\\\\"):
        parts = text[2:].rstrip("\\").split("\\")
        if len(parts) < 2 or "" in parts:
            raise InputError(field, f"{path!r} must be \\\\server\\share or \\\\server\\share\\folder")
        if any(c in _INVALID_CHARS for c in parts[0]):
            raise InputError(
                field,
                f"server {parts[0]!r} contains a character no host name has (control characters, "
                ": * ? \" < > |); give the file server's name as DNS knows it",
            )
        share = validate_share_name(parts[1], field)
        folders = tuple(validate_file_name(p, field, "folder") for p in parts[2:])
        return HotfixRoot("\\\\" + "\\".join([parts[0], share, *folders]), "unc", parts[0], share, folders)
    match = re.fullmatch(r"([A-Za-z]):(\\.*)?", text)
    if not match or match.group(2) is None:
        raise InputError(
            field, f"{path!r} is not absolute; use a local path like D:\\CauHotfix or a UNC path"
        )
    parts = [p for p in match.group(2).split("\\") if p]
    if not parts:
        raise InputError(field, f"{path!r} is a drive root; use a dedicated folder such as D:\\CauHotfix")
    if is_dfs:
        raise InputError(field, f"{path!r} is a local path; only a UNC path can be a DFS namespace path")
    folders = tuple(validate_file_name(p, field, "folder") for p in parts)
    return HotfixRoot(match.group(1).upper() + ":\\" + "\\".join(folders), "local", folders=folders)


# --------------------------------------------------------------------------------------------
# Tree plan
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedFile:
    """One update file (``src`` on the controller) and its place relative to the root
    (``parts``); ``sha256`` and ``size`` once the source is hashed."""

    src: str
    parts: tuple[str, ...]
    index: int
    sha256: str = ""
    size: int = 0

    @property
    def path(self) -> str:
        return "\\".join(self.parts)


def _extension(name: str) -> str:
    return name.rsplit(".", 1)[1].upper() if "." in name else ""


def _scopes(item: Mapping[str, Any], where: str, known: set[str] | None) -> list[str]:
    """The folders one update goes to: its nodes' NetBIOS names, or ``CAUHotfix_All``."""
    scopes = []
    for n, node in enumerate(item.get("nodes") or [ALL_NODES_FOLDER]):
        upper = node if node == ALL_NODES_FOLDER else validate_netbios_name(node, f"{where}.nodes[{n}]")
        if known is not None and upper != ALL_NODES_FOLDER and upper not in known:
            raise InputError(
                f"{where}.nodes[{n}]",
                f"{upper} is not a node of the cluster (nodes: {', '.join(sorted(known))})",
            )
        scopes.append(upper)
    return list(dict.fromkeys(scopes))


def plan_tree(
    updates: Any,
    folder_rules: Iterable[str],
    nodes: Iterable[str] | None,
    extensions: Iterable[str],
    errors: list[InputError],
) -> tuple[list[PlannedFile], list[str]]:
    """Where each update goes, and warnings; every problem is appended to ``errors``.

    No ``nodes`` means ``CAUHotfix_All``; ``rule`` puts the file in ``<scope>\\<rule>\\``;
    outside a rule folder only the extension rules' types are installed.
    """
    rules = {r.casefold(): r for r in folder_rules}
    exts = {e.upper() for e in extensions}
    known = None if nodes is None else set(nodes)
    files: list[PlannedFile] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(updates):
        where = f"updates[{index}]"
        try:
            name = validate_file_name(
                posixpath.basename(str(item.get("src") or "").rstrip("/")), f"{where}.src"
            )
            rule = item.get("rule")
            if rule is not None:
                validate_file_name(rule, f"{where}.rule", "folder")
                if rule.casefold() not in rules:
                    raise InputError(
                        f"{where}.rule",
                        f"rule {rule!r} is not defined in folder_rules (defined: "
                        f"{', '.join(sorted(rules.values())) or 'none'}); the plug-in ignores a rule folder "
                        "without a <Folder> rule",
                    )
                rule = rules[rule.casefold()]
            elif _extension(name) not in exts:
                raise InputError(
                    f"{where}.src",
                    f"{name!r}: the plug-in installs only {', '.join('.' + e.lower() for e in sorted(exts))} "
                    "outside a rule folder and would ignore this file; set rule: <Name> and define that rule "
                    "in folder_rules",
                )
            for scope in _scopes(item, where, known):
                parts = (scope, rule, name) if rule else (scope, name)
                key = "\\".join(parts).casefold()
                if key in seen:
                    raise InputError(
                        where,
                        f"target {chr(92).join(parts)} is also the target of updates[{seen[key]}]; two files "
                        "cannot share one path (Windows names are case-insensitive)",
                    )
                seen[key] = index
                files.append(PlannedFile(item["src"], parts, index))
        except InputError as err:
            errors.append(err)
    for f in files:
        for depth in range(2, len(f.parts)):
            clash = seen.get("\\".join(f.parts[:depth]).casefold())
            if clash is not None:
                errors.append(
                    InputError(
                        f"updates[{clash}]",
                        f"target {chr(92).join(f.parts[:depth])} would be both a file and a rule folder; "
                        "rename the file or the rule",
                    )
                )
    used = {f.parts[1].casefold() for f in files if len(f.parts) == 3}
    warnings = [
        f"folder rule {r} has no files; it is kept in the configuration"
        for k, r in rules.items()
        if k not in used
    ]
    everywhere = {
        f.parts[-1].casefold() for f in files if f.parts[0] == ALL_NODES_FOLDER and len(f.parts) == 2
    }
    warnings += [
        f"{f.parts[-1]} is both in {ALL_NODES_FOLDER} and in {f.parts[0]}; {f.parts[0]} will run it twice"
        for f in files
        if f.parts[0] != ALL_NODES_FOLDER and len(f.parts) == 2 and f.parts[-1].casefold() in everywhere
    ]
    return files, warnings


def find_ignored_files(
    paths: Iterable[str],
    folder_rules: Iterable[str] | None,
    nodes: Iterable[str] | None,
    extensions: Iterable[str],
    config_name: str,
) -> list[str]:
    """Why the plug-in would ignore each observed file (relative to the root). Unknown rules
    (``None``: no readable configuration) leave rule folders unjudged."""
    rules = None if folder_rules is None else {r.casefold() for r in folder_rules}
    exts = {e.upper() for e in extensions}
    known = None if nodes is None else {n.upper() for n in nodes}
    findings = []
    for raw in paths:
        parts = [p for p in raw.replace("/", "\\").split("\\") if p]
        shown, scope = "\\".join(parts), parts[0]
        if len(parts) == 1:
            if scope.casefold() != config_name.casefold():
                findings.append(f"{shown}: a file in the root other than {config_name} is ignored")
        elif scope.casefold() != ALL_NODES_FOLDER.casefold() and not _NETBIOS_RE.fullmatch(scope):
            findings.append(f"{shown}: {scope} is neither {ALL_NODES_FOLDER} nor a NetBIOS node name")
        elif (
            scope.casefold() != ALL_NODES_FOLDER.casefold()
            and known is not None
            and scope.upper() not in known
        ):
            findings.append(f"{shown}: {scope} is not a node of the cluster")
        elif len(parts) == 2 and _extension(parts[1]) not in exts:
            findings.append(f"{shown}: no extension rule for this file type outside a rule folder")
        elif len(parts) == 3 and rules is not None and parts[1].casefold() not in rules:
            findings.append(f"{shown}: rule folder {parts[1]} has no <Folder> rule in the configuration")
        elif len(parts) > 3:
            findings.append(f"{shown}: nested deeper than <scope>\\<rule>\\<file>")
    return findings


# --------------------------------------------------------------------------------------------
# NTFS ACL rules
# --------------------------------------------------------------------------------------------

SID_ADMINISTRATORS = "S-1-5-32-544"
SID_SYSTEM = "S-1-5-18"
SID_CREATOR_OWNER = "S-1-3-0"
SID_TRUSTED_INSTALLER = "S-1-5-80-956008885-3418522408-1831038044-1853292631-2271478464"
SID_USERS = "S-1-5-32-545"
# Readable names of the well-known SIDs ("Well-known SIDs",
# https://learn.microsoft.com/en-us/windows/win32/secauthz/well-known-sids).
SID_NAMES = {
    SID_ADMINISTRATORS: "BUILTIN\\Administrators",
    SID_SYSTEM: "NT AUTHORITY\\SYSTEM",
    SID_CREATOR_OWNER: "CREATOR OWNER",
    SID_TRUSTED_INSTALLER: "NT SERVICE\\TrustedInstaller",
    SID_USERS: "BUILTIN\\Users",
    "S-1-1-0": "Everyone",
    "S-1-5-11": "NT AUTHORITY\\Authenticated Users",
}
PRIVILEGED_SIDS = (SID_ADMINISTRATORS, SID_SYSTEM, SID_CREATOR_OWNER, SID_TRUSTED_INSTALLER)
_USERS_EQUIVALENT = frozenset({SID_USERS, "S-1-1-0", "S-1-5-11"})
# The one table of FileSystemRights names (System.Security.AccessControl.FileSystemRights,
# https://learn.microsoft.com/en-us/dotnet/api/system.security.accesscontrol.filesystemrights):
# composites first, so a mask reads as the composite it equals. The host sends masks as integers.
RIGHTS = {
    "FullControl": 0x1F01FF,
    "Modify": 0x301BF,
    "ReadAndExecute": 0x200A9,
    "Read": 0x20089,
    "Write": 0x116,
    "WriteData": 0x2,
    "AppendData": 0x4,
    "WriteExtendedAttributes": 0x10,
    "DeleteSubdirectoriesAndFiles": 0x40,
    "WriteAttributes": 0x100,
    "Delete": 0x10000,
    "ChangePermissions": 0x40000,
    "TakeOwnership": 0x80000,
    "ReadData": 0x1,
    "ReadExtendedAttributes": 0x8,
    "ExecuteFile": 0x20,
    "ReadAttributes": 0x80,
    "ReadPermissions": 0x20000,
    "Synchronize": 0x100000,
}
# Generic rights in inherit-only entries map onto file rights as Windows maps them.
_GENERIC = {0x10000000: 0x1F01FF, 0x20000000: 0x1200A0, 0x40000000: 0x120116, 0x80000000: 0x120089}
WRITE_CLASS_MASK = 0x2 | 0x4 | 0x10 | 0x40 | 0x100 | 0x10000 | 0x40000 | 0x80000
_READ = 0x1 | 0x8 | 0x80 | 0x20000
_EXECUTE = 0x20
_SYNCHRONIZE = RIGHTS["Synchronize"]


def rights_mask(value: Any) -> int:
    """A FileSystemRights integer (signed or not) with generic bits mapped."""
    mask = int(value) & 0xFFFFFFFF
    for generic, specific in _GENERIC.items():
        if mask & generic:
            mask = (mask & ~generic) | specific
    return mask


def rights_text(mask: int) -> str:
    bare = mask & ~_SYNCHRONIZE
    for name in ("FullControl", "Modify", "ReadAndExecute", "Read", "Write"):
        if bare == RIGHTS[name] & ~_SYNCHRONIZE:
            return name
    return ", ".join(n for n, bits in list(RIGHTS.items())[5:-1] if mask & bits) or hex(mask)


def display(sid: str) -> str:
    return SID_NAMES.get(sid, sid)


@dataclass(frozen=True)
class Check:
    """One preflight finding, or one ACL violation (``name`` is then the identity); ``blocking``
    tells whether the plug-in itself would fail the run."""

    name: str
    passed: bool
    detail: str
    fix: str = ""
    blocking: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_acl(aces: Iterable[Mapping[str, Any]], has_exe: bool) -> list[Check]:
    """Violations of the documented rules on one path: only Administrators, SYSTEM, CREATOR
    OWNER and TrustedInstaller may write (blocking); Users must read, and execute where .exe
    updates are (blocking); anyone holding more than needed is reported, not blocking."""
    found = []
    need = _READ | (_EXECUTE if has_exe else 0)
    granted = denied = 0
    for ace in aces:
        sid, mask, allow = (
            str(ace["identity"]).upper(),
            rights_mask(ace["rights"]),
            ace.get("type", "Allow") == "Allow",
        )
        if sid in _USERS_EQUIVALENT:
            granted, denied = (granted | mask, denied) if allow else (granted, denied | mask)
        if not allow or sid in PRIVILEGED_SIDS:
            continue
        who, holds = display(sid), rights_text(mask)
        where = "inherited from a parent" if ace.get("inherited") else "explicit"
        if mask & WRITE_CLASS_MASK:
            fix = (
                "disable inheritance on the hotfix root without copying entries (the module sets the desired "
                "ACL), or remove the entry on the parent"
                if ace.get("inherited")
                else f"remove the entry for {who} or reduce it to Read"
            )
            problem = "only Administrators, SYSTEM, CREATOR OWNER and TrustedInstaller may write or modify"
            found.append(Check(who, False, f"{who} holds {holds} ({where}); {problem}", fix))
        elif mask & ~(need | _SYNCHRONIZE):
            enough = "ReadAndExecute" if has_exe else "Read"
            found.append(
                Check(
                    who,
                    False,
                    f"{who} holds {holds} ({where}); at most {enough} is needed here",
                    f"reduce {who} to {enough}",
                    False,
                )
            )
    if granted & ~denied & need != need:
        what, enough = ("read and execute", "ReadAndExecute") if has_exe else ("read", "Read")
        denial = " (a Deny entry removes it)" if denied & need else ""
        fix = f"grant BUILTIN\\Users {enough} and remove Deny entries for Users"
        found.append(Check(display(SID_USERS), False, f"Users cannot {what} here{denial}", fix))
    return found


def desired_acl(*, root: bool, has_exe: bool = False) -> tuple[bool, list[dict[str, Any]]]:
    """(protect, explicit entries) the module sets: the root blocks inheritance without copying
    entries and gets the four privileged identities plus Users Read (CREATOR OWNER for children
    only); a folder below holding .exe updates inherits and adds Users ReadAndExecute."""

    def entry(sid: str, rights: str) -> dict[str, Any]:
        propagation = "InheritOnly" if sid == SID_CREATOR_OWNER else "None"
        inheritance = "ContainerInherit, ObjectInherit"
        rights_value = RIGHTS[rights] | _SYNCHRONIZE
        return {
            "identity": sid,
            "rights": rights_value,
            "type": "Allow",
            "inheritance": inheritance,
            "propagation": propagation,
        }

    users = entry(SID_USERS, "ReadAndExecute" if has_exe else "Read")
    if not root:
        return False, [users] if has_exe else []
    return True, [entry(s, "FullControl") for s in PRIVILEGED_SIDS] + [users]


# --------------------------------------------------------------------------------------------
# Preflight
# --------------------------------------------------------------------------------------------

_Add = Callable[..., None]


def _config_checks(add: _Add, observed: Mapping[str, Any], config_name: str) -> Any:
    """config_file and windows_schema; the configuration's rules, ``None`` when unknown."""
    state, schema = observed.get("config") or {}, observed.get("schema") or {}
    if not state.get("present"):
        fix = "let the module write it (Microsoft's DefaultHotfixConfig.xml plus your rules)"
        add("config_file", False, f"{config_name} is missing in the root", fix)
        add("windows_schema", True, f"there is no {config_name} to validate", blocking=False)
        return None
    problems = list(state.get("problems") or [])
    fix = "run the module to write it again from the base and your rules"
    state_text = "invalid: " + "; ".join(problems) if problems else "present and well formed"
    add("config_file", not problems, f"{config_name} is {state_text}", fix)
    if not schema.get("available"):
        detail = "HotfixConfigSchema.xsd is not installed on the server (no CAU tools there); not validated"
        add("windows_schema", True, detail, blocking=False)
    elif schema.get("errors"):
        detail = f"{config_name} does not validate against {schema.get('path')}: " + "; ".join(
            schema["errors"]
        )
        add("windows_schema", False, detail, fix)
    else:
        add("windows_schema", True, f"{config_name} validates against {schema.get('path')}")
    return state.get("rules")


def _acl_checks(add: _Add, observed: Mapping[str, Any], files: list[str]) -> None:
    """One ntfs_acl[<path>] check per observed path; with DisableAclChecks nothing blocks."""
    acl_map: Mapping[str, Any] = observed.get("acl") or {}
    disable_acl = bool(observed.get("disable_acl_checks"))
    exe_dirs = {p.rsplit("\\", 1)[0] for p in files if "\\" in p and _extension(p) == "EXE"}
    if not acl_map:
        add("ntfs_acl", False, "no ACL was observed", "run preflight on the file server")
    for rel in sorted(acl_map, key=lambda p: (p.count("\\") + bool(p), p.casefold())):
        name, found = f"ntfs_acl[{rel or '.'}]", check_acl(
            acl_map[rel], any(_under(rel, d) for d in exe_dirs)
        )
        if not found:
            add(name, True, "only Administrators, SYSTEM, CREATOR OWNER, TrustedInstaller can write")
            continue
        detail = "; ".join(v.detail for v in found)
        if disable_acl:
            detail += " (DisableAclChecks='True': the plug-in will not check, the root is still unsafe)"
        fix = "; ".join(dict.fromkeys(v.fix for v in found))
        add(name, False, detail, fix, any(v.blocking for v in found) and not disable_acl)


def _under(path: str, folder: str) -> bool:
    p, f = path.casefold(), folder.casefold()
    return f == "" or p == f or p.startswith(f + "\\")


def _smb_checks(add: _Add, observed: Mapping[str, Any], root: HotfixRoot | None) -> None:
    """smb_integrity and firewall_smb_in, which only a root on a share has."""
    if root is None or root.kind != "unc":
        for name in ("smb_integrity", "firewall_smb_in"):
            detail = (
                "local root: no SMB share involved" if root else "not evaluated: the root path is invalid"
            )
            add(name, root is not None, detail, "fix root_path first")
        return
    share = observed.get("share") or {}
    encrypt, signing = bool(share.get("encrypt_data")), bool(share.get("signing_required"))
    if observed.get("require_smb_encryption") and not encrypt:
        detail = "RequireSMBEncryption='True' but the share does not encrypt data: the run will fail"
        add("smb_integrity", False, detail, f"Set-SmbShare -Name {root.share} -EncryptData $true")
    elif encrypt or signing:
        add("smb_integrity", True, "SMB encryption" if encrypt else "SMB signing required")
    else:
        add(
            "smb_integrity",
            False,
            "the share neither encrypts data nor requires signing; updates can be tampered with in transit",
            f"Set-SmbShare -Name {root.share} -EncryptData $true (or require SMB signing on the server)",
        )
    enabled = observed.get("firewall_rule_enabled")
    state = "enabled" if enabled else "disabled" if enabled is False else "not observed"
    fix = f"Enable-NetFirewallRule -DisplayName '{FIREWALL_RULE_NAME}'"
    add("firewall_smb_in", enabled, f"'{FIREWALL_RULE_NAME}' is {state}", fix)


def preflight(observed: Mapping[str, Any]) -> list[Check]:
    """Every check the plug-in makes, always in the same order, from an observed state.

    Keys: ``root``, ``is_dfs``, ``disable_acl_checks``, ``require_smb_encryption``,
    ``acl`` ({relative path: [ace]}), ``files``, ``share`` ({name, encrypt_data,
    signing_required}), ``firewall_rule_enabled``, ``config`` ({present, rules: (extension names,
    folder names) or None when unreadable, problems}), ``schema`` ({available, path, errors}),
    ``nodes``, ``config_name``, ``account`` ({name, is_local_admin, how}).
    """
    checks: list[Check] = []

    def add(name: str, passed: Any, detail: str, fix: str = "", blocking: bool = True) -> None:
        checks.append(Check(name, bool(passed), detail, "" if passed else fix, blocking))

    is_dfs = bool(observed.get("is_dfs"))
    try:
        root: HotfixRoot | None = validate_hotfix_root(observed.get("root"), "root", is_dfs)
        add("root_path", True, f"{root.kind} path {root.path}")
    except InputError as err:
        root = None
        add("root_path", False, err.message, "give a local absolute path or \\\\server\\share\\folder")
    if is_dfs and not observed.get("disable_acl_checks"):
        detail = "the root is a DFS namespace path; the plug-in's ACL check does not work through DFS"
        add("dfs_acl_checks", False, detail, "pass DisableAclChecks='True' in the HotfixPlugin arguments")
    else:
        add(
            "dfs_acl_checks",
            True,
            "DFS path with DisableAclChecks='True'" if is_dfs else "not a DFS namespace path",
        )
    config_name = observed.get("config_name") or CONFIG_FILE_NAME
    rules = _config_checks(add, observed, config_name)
    files = [str(p) for p in observed.get("files") or []]
    extensions = rules[0] if rules else DEFAULT_EXTENSIONS
    ignored = find_ignored_files(
        files, rules[1] if rules else None, observed.get("nodes"), extensions, config_name
    )
    fix = "move the files into CAUHotfix_All, a node folder or a configured rule folder, or remove them"
    if ignored:
        add("tree_structure", False, "the plug-in will ignore: " + "; ".join(ignored), fix, blocking=False)
    else:
        add("tree_structure", True, f"{len(files)} file(s), all inside the structure")
    _acl_checks(add, observed, files)
    _smb_checks(add, observed, root)
    account = observed.get("account")
    if isinstance(account, Mapping):
        name, how = account.get("name") or "the update account", account.get("how") or "membership"
        add(
            "update_account",
            account.get("is_local_admin"),
            f"{name} is {'' if account.get('is_local_admin') else 'not '}a local administrator on the file "
            f"server ({how})",
            f"add {name} (or a group it belongs to) to the file server's Administrators group (in "
            "self-updating mode, the CAU role's computer account: Get-CauClusterRole ResourceGroupName)",
        )
    return checks


def is_local_admin(account: Mapping[str, Any]) -> tuple[bool, str]:
    """Whether the host's answer shows Administrators (S-1-5-32-544) among the account's token
    groups, which Windows builds with nested membership resolved (WindowsIdentity.Groups,
    https://learn.microsoft.com/en-us/dotnet/api/system.security.principal.windowsidentity.groups);
    when no token could be built, among the group's direct members only (said so)."""
    groups = account.get("token_groups")
    if isinstance(groups, list):
        return (
            SID_ADMINISTRATORS in {str(g).upper() for g in groups},
            "token groups, nested membership included",
        )
    members = {str(m).upper() for m in account.get("direct_members") or []}
    how = "direct members of Administrators only: no logon token could be built for it"
    return str(account.get("sid") or "").upper() in members, how
