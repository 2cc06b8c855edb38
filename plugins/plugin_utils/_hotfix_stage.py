# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build a complete hotfix root in a local directory on the controller (for internal collection use only).

``stage_dir`` lets a user get the exact tree the HotfixPlugin will read, plus the rendered
``DefaultHotfixConfig.xml``, without any Windows host: for review, for a change ticket, or for
shipping by other means (robocopy, DFS-R, removable media). It uses the same plan and the same
configuration model as the host-side module, so what is staged is what would be deployed.

Behaviour an operator relies on:

- idempotent: a file whose sha256 already matches is not copied again; the XML is rewritten
  only when its bytes change; a second run reports ``changed: false``;
- ``prune``: files this function placed earlier and that are no longer in the plan are
  removed. It knows what it placed from a small manifest (:data:`MANIFEST_NAME`) in the stage
  directory; files it did not place are never touched (they are reported as ``foreign``), and a
  placed file someone modified since is kept and reported;
- ``check_mode``: the same result, nothing written.

Paths in the result use the Windows form relative to the root (``NODE2\\node2-only.msi``), as in
the plan and the preflight report. Controller-only: imports nothing from Ansible.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._hotfix_config import (
    HotfixConfig,
    merge,
    parse,
    render,
    validate,
)
from ansible_collections.winfleet.updates.plugins.module_utils._hotfix_layout import (
    CONFIG_FILE_NAME,
    TreePlan,
    validate_file_name,
)

__all__ = ["MANIFEST_NAME", "StageResult", "decode_manifest", "encode_manifest", "file_sha256", "stage_tree"]

# Lives in the stage directory; exclude it when shipping the tree (the plug-in would ignore it,
# and preflight would list it as a file outside the structure).
MANIFEST_NAME = ".winfleet_hotfix_stage.json"
_MANIFEST_VERSION = 1
_CHUNK = 1024 * 1024


@dataclass
class StageResult:
    """What :func:`stage_tree` did (or, in check mode, would do).

    ``created`` / ``updated`` / ``removed`` / ``unchanged`` are update files; ``config_changed``
    and ``xml_diff`` (a unified diff, empty when unchanged) describe the configuration file;
    ``stale`` are files placed earlier and no longer planned that were kept (``prune`` off, or
    modified since); ``foreign`` are files this function never placed; ``files`` lists every
    planned file with its sha256; ``schema_errors`` should always be empty for a model-built
    configuration and is reported, not raised, for hand-edited content merged in.
    """

    changed: bool = False
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    config_changed: bool = False
    xml_diff: str = ""
    files: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    schema_errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a module result."""
        return asdict(self)


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's content."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _win(parts: tuple[str, ...] | list[str]) -> str:
    return "\\".join(parts)


def _posix_key(parts: tuple[str, ...] | list[str]) -> str:
    return "/".join(parts)


def decode_manifest(data: bytes, warnings: list[str]) -> dict[str, dict[str, str]]:
    """``{posix relative path: {sha256, ...}}`` from a manifest's bytes.

    Shared with the cau_hotfix_root module, which keeps the same manifest in the hotfix root on
    the file server, so a tree staged here and shipped with robocopy is recognised there. A
    damaged manifest is treated as empty: the only consequence is that prune removes nothing
    this time, which is the safe direction.
    """
    try:
        parsed = json.loads(data.decode("utf-8"))
        files = parsed["files"]
        if parsed.get("version") != _MANIFEST_VERSION or not isinstance(files, dict):
            raise ValueError("unexpected manifest layout")
        return {str(k): dict(v) for k, v in files.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        warnings.append(f"{MANIFEST_NAME} is unreadable ({err}); nothing is pruned this run")
        return {}


def encode_manifest(files: dict[str, dict[str, str]]) -> bytes:
    """The manifest's bytes: deterministic (sorted keys), so an unchanged set is not rewritten."""
    return (
        json.dumps({"version": _MANIFEST_VERSION, "files": files}, indent=2, sort_keys=True) + "\n"
    ).encode()


def _read_manifest(stage: Path, warnings: list[str]) -> dict[str, dict[str, str]]:
    """The stage directory's manifest (see :func:`decode_manifest`); empty when absent."""
    path = stage / MANIFEST_NAME
    if not path.exists():
        return {}
    try:
        data = path.read_bytes()
    except OSError as err:
        warnings.append(f"{MANIFEST_NAME} is unreadable ({err}); nothing is pruned this run")
        return {}
    return decode_manifest(data, warnings)


def _write_atomic(target: Path, data: bytes) -> None:
    """Write through a temporary file in the same directory, then rename: a reader (or a
    crash) never sees half a file, and an existing symlink is replaced, not followed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".stage-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _copy_atomic(src: Path, target: Path, expected_sha: str, field_name: str) -> None:
    """Copy ``src`` to ``target`` atomically, hashing what is written; a source that changes
    during the copy is an error rather than a silently inconsistent tree."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".stage-")
    digest = hashlib.sha256()
    try:
        with open(src, "rb") as source, os.fdopen(fd, "wb") as handle:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                handle.write(chunk)
        if digest.hexdigest() != expected_sha:
            raise InputError(field_name, f"{src} changed while it was being copied; run again")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _inside(stage: Path, target: Path, field_name: str) -> None:
    """Refuse a target that resolves outside the stage directory (a symlinked folder placed
    there by someone): names are validated, links are the remaining way out."""
    resolved_stage = stage.resolve()
    parent = target.parent.resolve()
    if parent != resolved_stage and resolved_stage not in parent.parents:
        raise InputError(
            field_name, f"{target} resolves outside the stage directory {stage}; remove the link"
        )


def _prune_empty_dirs(stage: Path, start: Path) -> None:
    """Remove now-empty folders from ``start`` up to (not including) the stage directory."""
    current = start
    while current != stage and stage in current.parents:
        try:
            current.rmdir()
        except OSError:
            return
        current = current.parent


def _config_bytes(
    config: HotfixConfig, existing: bytes | None, merge_existing: bool, config_path: Path
) -> bytes:
    if merge_existing and existing is not None:
        return render(merge(parse(existing, str(config_path)), config))
    return render(config)


def stage_tree(
    plan: TreePlan,
    config: HotfixConfig,
    stage_dir: str | os.PathLike[str],
    prune: bool = False,
    *,
    check_mode: bool = False,
    config_name: str = CONFIG_FILE_NAME,
    merge_existing: bool = False,
    field: str = "cau_hotfix_updates",
) -> StageResult:
    """Build (or update) the hotfix root described by ``plan`` and ``config`` in ``stage_dir``.

    ``merge_existing`` loads a configuration file already in the stage directory and merges
    ``config`` into it (see :func:`..._hotfix_config.merge`) instead of replacing it, so hand
    edits survive; build ``config`` with ``from_yaml_data(..., defaults=False)`` in that case.
    Source problems raise :class:`InputError` naming ``<field>[i].src``.
    """
    validate_file_name(config_name, "config_name")
    stage = Path(stage_dir)
    if stage.exists() and not stage.is_dir():
        raise InputError("stage_dir", f"{stage} exists and is not a directory")
    stage = stage.absolute()
    result = StageResult(warnings=list(plan.warnings))
    manifest = _read_manifest(stage, result.warnings) if stage.is_dir() else {}
    new_manifest: dict[str, dict[str, str]] = {}

    # Decide everything first, write afterwards: a bad source or an escaping link found late
    # must not leave a half-updated tree behind.
    copies: list[tuple[Path, Path, str, str]] = []
    removals: list[Path] = []

    # Update files.
    planned_keys: set[str] = set()
    for planned in plan.files:
        src_field = f"{field}[{planned.index}].src"
        src = Path(planned.src)
        if not src.is_file():
            raise InputError(src_field, f"{planned.src} is not a file on the controller")
        sha = file_sha256(src)
        key = _posix_key(planned.parts)
        planned_keys.add(key)
        target = stage.joinpath(*planned.parts)
        if stage.exists():
            _inside(stage, target, src_field)
        rel = planned.relative_path
        if target.is_file() and file_sha256(target) == sha:
            result.unchanged.append(rel)
        else:
            if target.is_dir():
                raise InputError(src_field, f"{target} is a directory in the stage; remove it")
            (result.updated if target.exists() else result.created).append(rel)
            copies.append((src, target, sha, src_field))
        new_manifest[key] = {"sha256": sha, "src": planned.src}
        result.files.append({"path": rel, "src": planned.src, "sha256": sha})

    # Files placed earlier and no longer planned.
    for key, entry in sorted(manifest.items()):
        if key in planned_keys:
            continue
        parts = key.split("/")
        target = stage.joinpath(*parts)
        rel = _win(parts)
        if not target.is_file():
            continue  # already gone: forget it
        if prune and file_sha256(target) == entry.get("sha256"):
            result.removed.append(rel)
            removals.append(target)
            continue
        if prune:
            result.warnings.append(f"{rel} was modified since it was staged; kept (remove it by hand)")
        result.stale.append(rel)
        new_manifest[key] = entry

    # Configuration file.
    config_path = stage / config_name
    old_xml = config_path.read_bytes() if config_path.is_file() else None
    new_xml = _config_bytes(config, old_xml, merge_existing, config_path)
    result.schema_errors = validate(new_xml)
    if old_xml != new_xml:
        result.config_changed = True
        old_text = old_xml.decode("utf-8", errors="replace") if old_xml is not None else ""
        result.xml_diff = "".join(
            difflib.unified_diff(
                old_text.splitlines(keepends=True),
                new_xml.decode("utf-8").splitlines(keepends=True),
                fromfile=f"a/{config_name}" if old_xml is not None else "/dev/null",
                tofile=f"b/{config_name}",
            )
        )

    # Anything else in the stage directory is someone else's.
    if stage.is_dir():
        known = planned_keys | set(manifest) | set(new_manifest) | {config_name, MANIFEST_NAME}
        for path in sorted(stage.rglob("*")):
            if path.is_file():
                key = path.relative_to(stage).as_posix()
                if key not in known:
                    result.foreign.append(_win(key.split("/")))

    result.changed = bool(result.created or result.updated or result.removed or result.config_changed)
    if check_mode:
        return result
    for src, target, sha, src_field in copies:
        _copy_atomic(src, target, sha, src_field)
    for target in removals:
        target.unlink()
        _prune_empty_dirs(stage, target.parent)
    if result.config_changed:
        _write_atomic(config_path, new_xml)
    manifest_bytes = encode_manifest(new_manifest)
    manifest_path = stage / MANIFEST_NAME
    if not manifest_path.is_file() or manifest_path.read_bytes() != manifest_bytes:
        _write_atomic(manifest_path, manifest_bytes)
    return result
