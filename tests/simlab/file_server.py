"""A simulated Windows file server: folders, files, NTFS ACLs, SMB shares, firewall (test code only).

Fleet key ``file_server`` (see docs/simlab.md) describes what the server holds; this module
validates it into the host state and models what Windows would report and do:

* **files and folders** under drive letters; file content lives in the lab's blob store (files
  given in the fleet carry their text inline), so sha256 and bytes are real;
* **NTFS ACLs**: explicit entries per path, inheritance computed the way Windows propagates
  ``ContainerInherit`` / ``ObjectInherit`` / ``NoPropagateInherit`` / ``InheritOnly`` down the
  tree until a protected path; a drive root without an explicit ACL gets Windows' default data
  volume ACL, which lets Users create files and folders (why a new hotfix root must be secured);
* **SMB shares** with ``EncryptData``, the server's ``RequireSecuritySignature`` and
  ``EncryptData``; **firewall rules** by display name; the CAU tools' ``DefaultHotfixConfig.xml``
  and ``HotfixConfigSchema.xsd`` (``cau_tools``: their text, when installed); the local
  Administrators group's direct members and group memberships (``groups``), from which an
  account's token groups are built with nesting resolved, as Windows builds a logon token
  (https://learn.microsoft.com/en-us/windows/win32/secauthz/access-tokens).

Identities are stored as SIDs and rights as FileSystemRights masks, as Windows stores them.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from pathlib import Path
from typing import Any, Iterator

from tests.simlab.fleet import FleetError

FIREWALL_SMB_IN = "File Server Remote Management (SMB-In)"

# Well-known names Windows translates to SIDs (what LSA would answer).
SIDS = {
    "administrators": "S-1-5-32-544",
    "builtin\\administrators": "S-1-5-32-544",
    "system": "S-1-5-18",
    "nt authority\\system": "S-1-5-18",
    "creator owner": "S-1-3-0",
    "trustedinstaller": "S-1-5-80-956008885-3418522408-1831038044-1853292631-2271478464",
    "nt service\\trustedinstaller": "S-1-5-80-956008885-3418522408-1831038044-1853292631-2271478464",
    "users": "S-1-5-32-545",
    "builtin\\users": "S-1-5-32-545",
    "everyone": "S-1-1-0",
    "authenticated users": "S-1-5-11",
    "nt authority\\authenticated users": "S-1-5-11",
}
CREATOR_OWNER = "S-1-3-0"

# System.Security.AccessControl.FileSystemRights.
RIGHTS = {
    "readdata": 0x1, "listdirectory": 0x1, "writedata": 0x2, "createfiles": 0x2, "appenddata": 0x4,
    "createdirectories": 0x4, "readextendedattributes": 0x8, "writeextendedattributes": 0x10,
    "executefile": 0x20, "traverse": 0x20, "deletesubdirectoriesandfiles": 0x40, "readattributes": 0x80,
    "writeattributes": 0x100, "write": 0x116, "delete": 0x10000, "readpermissions": 0x20000,
    "read": 0x20089, "readandexecute": 0x200A9, "modify": 0x301BF, "changepermissions": 0x40000,
    "takeownership": 0x80000, "synchronize": 0x100000, "fullcontrol": 0x1F01FF,
}
_INHERITANCE = {"none", "containerinherit", "objectinherit"}
_PROPAGATION = {"none", "nopropagateinherit", "inheritonly"}

# Windows' ACL of a freshly formatted data volume root: Users may create folders everywhere and
# files in subfolders, so a folder made there is writable by every user until secured.
DEFAULT_VOLUME_ACL = [
    {"identity": "S-1-5-32-544", "rights": 0x1F01FF, "type": "Allow", "inheritance": "ContainerInherit, ObjectInherit", "propagation": "None"},
    {"identity": "S-1-5-18", "rights": 0x1F01FF, "type": "Allow", "inheritance": "ContainerInherit, ObjectInherit", "propagation": "None"},
    {"identity": "S-1-3-0", "rights": 0x10000000, "type": "Allow", "inheritance": "ContainerInherit, ObjectInherit", "propagation": "InheritOnly"},
    {"identity": "S-1-5-32-545", "rights": 0x1200A9, "type": "Allow", "inheritance": "ContainerInherit, ObjectInherit", "propagation": "None"},
    {"identity": "S-1-5-32-545", "rights": 0x100004, "type": "Allow", "inheritance": "ContainerInherit", "propagation": "None"},
    {"identity": "S-1-5-32-545", "rights": 0x100002, "type": "Allow", "inheritance": "ContainerInherit", "propagation": "InheritOnly"},
]

_DRIVE_RE = re.compile(r"^[A-Za-z]:\\")


def _fail(field: str, message: str) -> None:
    raise FleetError(f"{field}: {message}")


def sid_of(name: str) -> str:
    """The SID of an identity: well-known names, SIDs as given, other accounts a stable fake."""
    text = name.strip()
    if re.match(r"^S-1-\d+(-\d+)+$", text, re.IGNORECASE):
        return text.upper()
    known = SIDS.get(text.casefold())
    if known:
        return known
    return f"S-1-5-21-1000-2000-3000-{zlib.crc32(text.casefold().encode()) % 100000 + 1000}"


def rights_of(value: Any, field: str = "rights") -> int:
    """A FileSystemRights mask from names (``"ReadAndExecute, Synchronize"``) or an integer."""
    if isinstance(value, bool):
        _fail(field, f"expected rights names or an integer, got {value!r}")
    if isinstance(value, int):
        return value & 0xFFFFFFFF
    if not isinstance(value, str) or not value.strip():
        _fail(field, f"expected rights names or an integer, got {value!r}")
    mask = 0
    for name in value.split(","):
        bit = RIGHTS.get(name.strip().casefold())
        if bit is None:
            _fail(field, f"unknown right {name.strip()!r}; valid: {', '.join(sorted(RIGHTS))}")
        mask |= bit
    return mask


def normal_path(value: Any, field: str) -> str:
    """A local absolute Windows path, drive letter upper-cased, no trailing backslash (except X:\\)."""
    if not isinstance(value, str) or not _DRIVE_RE.match(value.replace("/", "\\")):
        _fail(field, f"expected a local absolute path such as 'D:\\CauHotfix', got {value!r}")
    text = value.replace("/", "\\")
    parts = [p for p in text[3:].split("\\") if p]
    if any(p in (".", "..") for p in parts):
        _fail(field, f"{value!r} contains a traversal")
    return text[0].upper() + ":\\" + "\\".join(parts)


def parent(path: str) -> str | None:
    """``D:\\A\\B`` -> ``D:\\A``; ``D:\\A`` -> ``D:\\``; a drive root has no parent."""
    if len(path) <= 3:
        return None
    head, _, _ = path.rpartition("\\")
    return head if len(head) > 2 else head + "\\"


def _flags(value: Any, valid: set[str], field: str) -> str:
    if not isinstance(value, str):
        _fail(field, f"expected flags such as 'ContainerInherit, ObjectInherit', got {value!r}")
    parts = [p.strip() for p in value.split(",") if p.strip()]
    for part in parts:
        if part.casefold() not in valid:
            _fail(field, f"unknown flag {part!r}")
    return ", ".join(parts) or "None"


def _ace(value: Any, field: str, is_file: bool) -> dict[str, Any]:
    if not isinstance(value, dict):
        _fail(field, "expected {identity, rights, type, inheritance, propagation}")
    unknown = sorted(set(value) - {"identity", "rights", "type", "inheritance", "propagation"})
    if unknown:
        _fail(field, f"unknown key(s) {', '.join(unknown)}; valid: identity, inheritance, propagation, rights, type")
    if not isinstance(value.get("identity"), str):
        _fail(f"{field}.identity", "expected an account name or SID")
    ace_type = value.get("type", "Allow")
    if ace_type not in ("Allow", "Deny"):
        _fail(f"{field}.type", f"expected Allow or Deny, got {ace_type!r}")
    default_inheritance = "None" if is_file else "ContainerInherit, ObjectInherit"
    return {
        "identity": sid_of(value["identity"]),
        "rights": rights_of(value.get("rights"), f"{field}.rights"),
        "type": ace_type,
        "inheritance": _flags(value.get("inheritance", default_inheritance), _INHERITANCE, f"{field}.inheritance"),
        "propagation": _flags(value.get("propagation", "None"), _PROPAGATION, f"{field}.propagation"),
    }


def _acl(value: Any, field: str, is_file: bool) -> dict[str, Any]:
    if isinstance(value, list):
        value = {"aces": value}
    if not isinstance(value, dict) or set(value) - {"protected", "aces"}:
        _fail(field, "expected a list of entries or {protected, aces}")
    protected = value.get("protected", False)
    if not isinstance(protected, bool):
        _fail(f"{field}.protected", "expected true or false")
    aces = value.get("aces", [])
    if not isinstance(aces, list):
        _fail(f"{field}.aces", "expected a list of entries")
    return {"protected": protected, "aces": [_ace(a, f"{field}.aces[{i}]", is_file) for i, a in enumerate(aces)]}


_KEYS = {
    "computer_name", "folders", "files", "acls", "shares", "smb", "firewall", "cau_tools",
    "local_admins", "groups", "s4u", "fail_step",
}


def normalise_file_server(value: Any, field: str, host_name: str = "") -> dict[str, Any]:
    """Validate the fleet's ``file_server`` mapping into the host state (see the module docstring)."""
    value = {} if value is None else value
    if not isinstance(value, dict):
        _fail(field, f"expected a mapping, got {type(value).__name__}")
    unknown = sorted(set(value) - _KEYS)
    if unknown:
        _fail(field, f"unknown key(s) {', '.join(unknown)}; valid: {', '.join(sorted(_KEYS))}")
    server: dict[str, Any] = {
        "computer_name": value.get("computer_name") or (host_name.split(".")[0].upper()[:15] or "FS01"),
        "folders": {},
        "files": {},
        "acls": {},
        "shares": {},
        "smb": {"require_signing": False, "encrypt_data": False},
        "firewall": {FIREWALL_SMB_IN: True},
        "cau_tools": None,
        "local_admins": [],
        "groups": {},
        "s4u": True,
        "fail_step": None,
    }
    fs = FileSystem(server, None)
    for index, folder in enumerate(value.get("folders") or []):
        fs.add_folder(normal_path(folder, f"{field}.folders[{index}]"))
    files = value.get("files") or {}
    if not isinstance(files, dict):
        _fail(f"{field}.files", "expected a mapping of path to text content")
    for path, text in files.items():
        where = f"{field}.files[{path!r}]"
        if not isinstance(text, str):
            _fail(where, "expected the file's text content")
        fs.add_text_file(normal_path(path, where), text)
    shares = value.get("shares") or {}
    if not isinstance(shares, dict):
        _fail(f"{field}.shares", "expected a mapping of share name to {path, encrypt_data}")
    for name, share in shares.items():
        where = f"{field}.shares.{name}"
        if not isinstance(share, dict) or set(share) - {"path", "encrypt_data"} or "path" not in share:
            _fail(where, "expected {path, encrypt_data}")
        encrypt = share.get("encrypt_data", False)
        if not isinstance(encrypt, bool):
            _fail(f"{where}.encrypt_data", "expected true or false")
        path = normal_path(share["path"], f"{where}.path")
        fs.add_folder(path)
        server["shares"][str(name).casefold()] = {"name": str(name), "path": path, "encrypt_data": encrypt}
    acls = value.get("acls") or {}
    if not isinstance(acls, dict):
        _fail(f"{field}.acls", "expected a mapping of path to ACL")
    for path, acl in acls.items():
        normal = normal_path(path, f"{field}.acls[{path!r}]")
        is_file = normal.casefold() in server["files"]
        if not is_file and len(normal) > 3:
            fs.add_folder(normal)
        server["acls"][normal.casefold()] = {"path": normal, **_acl(acl, f"{field}.acls[{path!r}]", is_file)}
    smb = value.get("smb") or {}
    if not isinstance(smb, dict) or set(smb) - {"require_signing", "encrypt_data"}:
        _fail(f"{field}.smb", "expected {require_signing, encrypt_data}")
    for key, flag in smb.items():
        if not isinstance(flag, bool):
            _fail(f"{field}.smb.{key}", "expected true or false")
        server["smb"][key] = flag
    if "firewall" in value:
        rules = value["firewall"] or {}
        if not isinstance(rules, dict) or not all(isinstance(v, bool) for v in rules.values()):
            _fail(f"{field}.firewall", "expected a mapping of rule display name to enabled (true/false)")
        server["firewall"] = dict(rules)
    tools = value.get("cau_tools")
    if tools is not None:
        if not isinstance(tools, dict) or set(tools) - {"config", "schema"} or not all(isinstance(v, str) for v in tools.values()):
            _fail(f"{field}.cau_tools", "expected {config, schema}: the text of DefaultHotfixConfig.xml and HotfixConfigSchema.xsd")
        server["cau_tools"] = dict(tools)
    if not isinstance(value.get("s4u", True), bool):
        _fail(f"{field}.s4u", "expected true or false")
    server["s4u"] = value.get("s4u", True)
    groups = value.get("groups") or {}
    if not isinstance(groups, dict) or not all(isinstance(m, list) and all(isinstance(a, str) for a in m) for m in groups.values()):
        _fail(f"{field}.groups", "expected a mapping of group name to a list of member names")
    server["groups"] = {str(k): list(v) for k, v in groups.items()}
    for key in ("fail_step", "computer_name"):
        if key in value and (not isinstance(value[key], str) or not value[key]):
            _fail(f"{field}.{key}", "expected a non-empty string")
        if key in value:
            server[key] = value[key]
    admins = value.get("local_admins") or []
    if not isinstance(admins, list) or not all(isinstance(a, str) for a in admins):
        _fail(f"{field}.local_admins", "expected a list of account names")
    server["local_admins"] = admins
    return server


class FileSystem:
    """Operations on the ``file_server`` state; ``lab_dir`` holds the blob store."""

    def __init__(self, server: dict[str, Any], lab_dir: Path | None) -> None:
        self.server = server
        self.lab_dir = lab_dir

    # Tree ---------------------------------------------------------------------------------
    def is_folder(self, path: str) -> bool:
        return len(path) <= 3 or path.casefold() in self.server["folders"]

    def add_folder(self, path: str) -> None:
        """Create a folder and its parents (``New-Item -Force``)."""
        current: str | None = path
        while current is not None and len(current) > 3:
            if current.casefold() in self.server["files"]:
                raise OSError(f"{current} is a file")
            self.server["folders"].setdefault(current.casefold(), current)
            current = parent(current)

    def under(self, root: str) -> tuple[list[str], list[dict[str, Any]]]:
        """Folders and file entries below ``root``, in path order."""
        prefix = root.casefold().rstrip("\\") + "\\"
        folders = sorted(p for k, p in self.server["folders"].items() if k.startswith(prefix))
        files = [e for k, e in sorted(self.server["files"].items()) if k.startswith(prefix)]
        return folders, files

    def has_children(self, path: str) -> bool:
        folders, files = self.under(path)
        return bool(folders or files)

    # Content ------------------------------------------------------------------------------
    def add_text_file(self, path: str, text: str) -> None:
        data = text.encode("utf-8")
        self.add_folder(parent(path) or path)
        self.server["files"][path.casefold()] = {
            "path": path, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "text": text
        }

    def read(self, path: str) -> bytes:
        entry = self.server["files"][path.casefold()]
        if "text" in entry:
            return entry["text"].encode("utf-8")
        assert self.lab_dir is not None
        return (self.lab_dir / "blobs" / entry["sha256"]).read_bytes()

    def write(self, path: str, data: bytes) -> None:
        """Write a new file (it inherits its folder's ACL: any explicit ACL of a replaced file goes)."""
        if not self.is_folder(parent(path) or ""):
            raise OSError(f"the folder of {path} does not exist")
        if path.casefold() in self.server["folders"]:
            raise OSError(f"{path} is a folder")
        assert self.lab_dir is not None
        digest = hashlib.sha256(data).hexdigest()
        blob = self.lab_dir / "blobs" / digest
        blob.parent.mkdir(exist_ok=True)
        if not blob.exists():
            blob.write_bytes(data)
        # LastWriteTimeUtc in ticks; a lab clock that only moves forward, one tick per write.
        self.server["clock"] = self.server.get("clock", 638000000000000000) + 1
        self.server["files"][path.casefold()] = {"path": path, "sha256": digest, "size": len(data), "mtime": self.server["clock"]}
        self.server["acls"].pop(path.casefold(), None)

    def remove_file(self, path: str) -> None:
        self.server["files"].pop(path.casefold(), None)
        self.server["acls"].pop(path.casefold(), None)

    def remove_folder(self, path: str) -> None:
        if self.has_children(path):
            raise OSError(f"the directory {path} is not empty")
        self.server["folders"].pop(path.casefold(), None)
        self.server["acls"].pop(path.casefold(), None)

    # ACLs ---------------------------------------------------------------------------------
    def explicit(self, path: str) -> dict[str, Any]:
        found = self.server["acls"].get(path.casefold())
        if found is None and len(path) <= 3:
            return {"protected": True, "aces": [dict(a) for a in DEFAULT_VOLUME_ACL]}
        return found or {"protected": False, "aces": []}

    def set_acl(self, path: str, protected: bool, aces: list[dict[str, Any]]) -> None:
        if not protected and not aces:
            self.server["acls"].pop(path.casefold(), None)
            return
        self.server["acls"][path.casefold()] = {"path": path, "protected": protected, "aces": aces}

    def effective(self, path: str) -> tuple[bool, list[dict[str, Any]]]:
        """Protection and every entry (explicit, then inherited), as ``Get-Acl`` reports them."""
        acl = self.explicit(path)
        entries = [{**a, "inherited": False} for a in acl["aces"]]
        up = parent(path)
        if acl["protected"] or up is None:
            return acl["protected"], entries
        _, parent_entries = self.effective(up)
        entries.extend(_inherited(parent_entries, self.is_folder(path)))
        return False, entries


def _inherited(parent_entries: list[dict[str, Any]], child_is_folder: bool) -> Iterator[dict[str, Any]]:
    """What a child receives from its parent's entries (Windows' propagation rules)."""
    for ace in parent_entries:
        inheritance = {f.strip().casefold() for f in ace["inheritance"].split(",")}
        propagation = {f.strip().casefold() for f in ace["propagation"].split(",")}
        no_propagate = "nopropagateinherit" in propagation
        if child_is_folder:
            if "containerinherit" in inheritance:
                child_inheritance = "None" if no_propagate else ace["inheritance"]
                child_propagation = "None"
            elif "objectinherit" in inheritance and not no_propagate:
                child_inheritance, child_propagation = "ObjectInherit", "InheritOnly"
            else:
                continue
            if ace["identity"] == CREATOR_OWNER and child_inheritance != "None":
                child_propagation = "InheritOnly"  # applies to whoever creates below, not to this folder
            elif ace["identity"] == CREATOR_OWNER:
                continue
        else:
            if "objectinherit" not in inheritance or ace["identity"] == CREATOR_OWNER:
                continue  # CREATOR OWNER becomes the file's owner, which we do not model
            child_inheritance, child_propagation = "None", "None"
        yield {**ace, "inheritance": child_inheritance, "propagation": child_propagation, "inherited": True}


def token_groups(server: dict[str, Any], account: str) -> list[str]:
    """The SIDs of an account's logon token: every group that contains it, directly or through
    other groups, and BUILTIN\\Administrators when that group contains it or one of them
    (WindowsIdentity.Groups,
    https://learn.microsoft.com/en-us/dotnet/api/system.security.principal.windowsidentity.groups)."""
    member_of: set[str] = set()
    pending = [account.casefold()]
    while pending:
        name = pending.pop()
        for group, members in server["groups"].items():
            if name in {m.casefold() for m in members} and group.casefold() not in member_of:
                member_of.add(group.casefold())
                pending.append(group.casefold())
    groups = [sid_of(g) for g in sorted(member_of)]
    if {account.casefold(), *member_of} & {a.casefold() for a in server["local_admins"]}:
        groups.append(SIDS["administrators"])
    return groups + [SIDS["everyone"], SIDS["users"]]

