"""Simulated ``winfleet.updates.cau_hotfix_root`` host module: what the PowerShell script reads and does.

``read`` reports the hotfix root from the host's ``file_server`` state (tests/simlab/file_server.py)
in the shape ``cau_hotfix_root.ps1`` prints, including the CAU tools' files when the fleet installs
them (``cau_tools``) and the update account's token groups; ``apply`` performs the change set in
the script's order, recording each step in ``done``, and
fails at the step named by the fleet's ``fail_step``; ``cleanup`` removes transferred files.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any


from tests.simlab.dispatch import HostCall
from tests.simlab.file_server import FileSystem, rights_of, sid_of, token_groups

SUPPORTS_CHECK_MODE = True
TEMP_DIR = "C:\\Users\\ansible\\AppData\\Local\\Temp"
TOOLS_DIR = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\Modules\\ClusterAwareUpdating"


class StepFailed(Exception):
    """A step of ``apply`` failed, as a cmdlet would throw."""


def _join(root: str, relative: str) -> str:
    return root if not relative else root.rstrip("\\") + "\\" + relative


def _relative(root: str, path: str) -> str:
    return path[len(root.rstrip("\\")) + 1 :] if len(path) > len(root.rstrip("\\")) else ""


def _acl_report(fs: FileSystem, path: str) -> dict[str, Any]:
    protected, entries = fs.effective(path)
    return {"protected": protected, "aces": entries}


def _read(call: HostCall, server: dict[str, Any], fs: FileSystem) -> dict[str, Any]:
    args = call.args
    result: dict[str, Any] = {"computer_name": server["computer_name"], "temp_dir": TEMP_DIR}
    root = args.get("_root")
    share_name = args.get("_share_name")
    if share_name:
        share = server["shares"].get(share_name.casefold())
        if share:
            result["share"] = {"name": share["name"], "exists": True, "path": share["path"], "encrypt_data": share["encrypt_data"]}
            if not root:
                root = _join(share["path"], "\\".join(args.get("_share_subpath") or []))
        else:
            result["share"] = {"name": share_name, "exists": False}
        result["smb"] = dict(server["smb"])
    exists = bool(root) and fs.is_folder(root)
    result["root"] = {"path": root, "exists": exists}
    result.update(folders=[], files=[], reparse_points=[], acl={})
    if exists:
        folders, files = fs.under(root)
        result["folders"] = [_relative(root, f) for f in folders]
        # As the script: a file whose size and LastWriteTimeUtc match the manifest is not hashed.
        manifest_path = _join(root, args.get("_manifest_name") or "").casefold()
        known = {}
        if manifest_path in server["files"]:
            try:
                known = {k.replace("/", "\\").casefold(): v for k, v in json.loads(fs.read(manifest_path))["files"].items()}
            except (ValueError, KeyError, AttributeError):
                known = {}
        result["files"] = []
        for f in files:
            rel = _relative(root, f["path"])
            entry = known.get(rel.casefold()) or {}
            if entry.get("size") == f["size"] and entry.get("mtime") == str(f.get("mtime", "")):
                sha = entry["sha256"]
            else:
                sha = f["sha256"]
                call.state["hashed"] = [*call.state.get("hashed", []), rel]
            result["files"].append({"path": rel, "sha256": sha, "size": f["size"]})
        result["acl"] = {"": _acl_report(fs, root)}
        for path in folders + [f["path"] for f in files]:
            result["acl"][_relative(root, path)] = _acl_report(fs, path)
        for name in ("config", "manifest"):
            path = _join(root, args.get(f"_{name}_name") or "")
            if path.casefold() in server["files"]:
                result[name] = base64.b64encode(fs.read(path)).decode()
    tools = server.get("cau_tools") or {}
    result["cau_tools"] = {"folder": TOOLS_DIR, **{k: base64.b64encode(v.encode()).decode() for k, v in tools.items()}}
    rule = args.get("_firewall_rule")
    if rule:
        enabled = server["firewall"].get(rule)
        result["firewall"] = {"name": rule, "exists": enabled is not None, "enabled": bool(enabled)}
    account = args.get("_account")
    if account:
        # Without S4U (no domain) the script falls back to the direct members of Administrators.
        result["account"] = {"name": account, "resolved": True, "sid": sid_of(account)}
        if server["s4u"]:
            result["account"]["token_groups"] = token_groups(server, account)
        else:
            result["account"]["direct_members"] = [sid_of(a) for a in server["local_admins"]]
    return result


class _Apply:
    """The apply operation, step by step, like ``Invoke-Apply`` in the script."""

    def __init__(self, call: HostCall, server: dict[str, Any], fs: FileSystem) -> None:
        self.call = call
        self.server = server
        self.fs = fs
        self.done: list[str] = []
        self.current = "verify the change set"

    def step(self, name: str) -> None:
        """Start a step; the fleet's ``fail_step`` makes the first matching one fail."""
        self.current = name
        fail = self.server.get("fail_step")
        if fail and fail.casefold() in name.casefold():
            raise StepFailed(f"simulated failure (fail_step: {fail})")

    def run(self) -> None:
        args = self.call.args
        root = args["_root"]
        config = args.get("_config")
        config_bytes = None
        if config:
            config_bytes = base64.b64decode(config["content"])
            if hashlib.sha256(config_bytes).hexdigest() != config["sha256"]:
                raise StepFailed("the configuration was damaged on the way (sha256 mismatch)")
        acls = args.get("_acl") or []
        if args.get("_create_root"):
            self.step(f"create root {root}")
            self.fs.add_folder(root)
            self.done.append(self.current)
        for change in [c for c in acls if c["path"] == ""]:
            self.step("set ACL .")
            self._set_acl(root, change)
            self.done.append(self.current)
        for folder in args.get("_folders") or []:
            self.step(f"create folder {folder}")
            self.fs.add_folder(_join(root, folder))
            self.done.append(self.current)
        for change in [c for c in acls if c["path"] != ""]:
            self.step(f"set ACL {change['path']}")
            path = _join(root, change["path"])
            if not self.fs.is_folder(path) and path.casefold() not in self.server["files"]:
                raise StepFailed(f"Cannot find path '{path}' because it does not exist.")
            self._set_acl(path, change)
            self.done.append(self.current)
        for file in args.get("_files") or []:
            self.step(f"place file {file['path']}")
            incoming = self.call.state.get("files", {}).get(file["source"].casefold())
            if incoming is None:
                raise StepFailed(f"Cannot find path '{file['source']}' because it does not exist.")
            if incoming["sha256"] != file["sha256"]:
                raise StepFailed(f"checksum mismatch after the transfer: expected {file['sha256']}, got {incoming['sha256']}")
            data = (self.call.lab_dir / "blobs" / incoming["sha256"]).read_bytes()
            self.fs.write(_join(root, file["path"]), data)
            self.done.append(self.current)
        if config_bytes is not None:
            self.step(f"write {args['_config_name']}")
            self.fs.write(_join(root, args["_config_name"]), config_bytes)
            self.done.append(self.current)
        for entry in args.get("_remove") or []:
            self.step(f"remove file {entry['path']}")
            path = _join(root, entry["path"])
            found = self.server["files"].get(path.casefold())
            if found is not None:
                if found["sha256"] != entry["sha256"]:
                    raise StepFailed(f"{entry['path']} changed since it was read; it was not removed")
                self.fs.remove_file(path)
            self.done.append(self.current)
        for folder in args.get("_remove_folders") or []:
            self.step(f"remove folder {folder}")
            path = _join(root, folder)
            if self.fs.is_folder(path):
                try:
                    self.fs.remove_folder(path)
                except OSError as err:
                    raise StepFailed(str(err)) from None
            self.done.append(self.current)
        manifest = args.get("_manifest")
        if manifest:
            self.step("write manifest")
            files = {}
            for key in sorted(manifest):
                found = self.server["files"][_join(root, key.replace("/", "\\")).casefold()]
                files[key] = {"mtime": str(found.get("mtime", 0)), "sha256": manifest[key]["sha256"], "size": found["size"]}
            self.fs.write(_join(root, args["_manifest_name"]), json.dumps({"files": files, "version": 2}, indent=2).encode())
            self.done.append(self.current)
        share = args.get("_share")
        if share:
            self._share(share)
        if args.get("_require_signing"):
            self.step("require SMB signing")
            self.server["smb"]["require_signing"] = True
            self.done.append(self.current)
        rule = args.get("_enable_firewall_rule")
        if rule:
            self.step(f"enable firewall rule {rule}")
            if rule not in self.server["firewall"]:
                raise StepFailed(f"the firewall rule '{rule}' does not exist")
            self.server["firewall"][rule] = True
            self.done.append(self.current)

    def _set_acl(self, path: str, change: dict[str, Any]) -> None:
        aces = [
            {
                "identity": e["identity"],
                "rights": rights_of(e["rights"]),
                "type": e["type"],
                "inheritance": e["inheritance"],
                "propagation": e["propagation"],
            }
            for e in change.get("entries") or []
        ]
        self.fs.set_acl(path, bool(change["protect"]), aces)

    def _share(self, share: dict[str, Any]) -> None:
        key = share["name"].casefold()
        if share.get("create"):
            self.step(f"create share {share['name']}")
            if key in self.server["shares"]:
                raise StepFailed(f"The name has already been shared: {share['name']}")
            if not self.fs.is_folder(share["path"]):
                raise StepFailed(f"The system cannot find the file specified: {share['path']}")
            self.server["shares"][key] = {"name": share["name"], "path": share["path"], "encrypt_data": bool(share["encrypt_data"])}
            self.done.append(self.current)
        elif share.get("encrypt_data") is not None:
            self.step(f"set share {share['name']} EncryptData={'True' if share['encrypt_data'] else 'False'}")
            if key not in self.server["shares"]:
                raise StepFailed(f"No MSFT_SMBShare objects found with property 'Name' equal to '{share['name']}'")
            self.server["shares"][key]["encrypt_data"] = bool(share["encrypt_data"])
            self.done.append(self.current)


def _remove_incoming(call: HostCall, paths: list[str]) -> None:
    for path in paths:
        name = path.rsplit("\\", 1)[-1]
        if name.startswith("winfleet-hotfix-") and name.endswith(".part"):
            call.state.get("files", {}).pop(path.casefold(), None)


def run(call: HostCall) -> dict[str, Any]:
    server = call.state.get("file_server")
    if server is None:
        return {"failed": True, "msg": f"simlab: {call.state['name']} has no file_server in the fleet"}
    fs = FileSystem(server, Path(call.lab_dir))
    operation = call.args["_operation"]
    if operation == "read":
        return {"changed": False, **_read(call, server, fs)}
    if operation == "cleanup":
        _remove_incoming(call, call.args.get("_incoming") or [])
        return {"changed": False}
    if call.check_mode:
        return {"changed": True, "done": []}
    apply = _Apply(call, server, fs)
    incoming = [f["source"] for f in call.args.get("_files") or []]
    try:
        apply.run()
    except (StepFailed, OSError) as err:
        _remove_incoming(call, incoming)
        call.log("cau_hotfix_root_failed", step=apply.current, done=apply.done)
        return {
            "failed": True,
            "changed": bool(apply.done),
            "msg": f"{apply.current}: {err}",
            "done": apply.done,
            "failed_step": apply.current,
        }
    _remove_incoming(call, incoming)
    call.log("cau_hotfix_root_applied", steps=len(apply.done))
    return {"changed": True, "done": apply.done}

