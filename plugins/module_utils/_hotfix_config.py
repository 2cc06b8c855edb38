# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed model of the Microsoft.HotfixPlugin configuration file (for internal collection use only).

``DefaultHotfixConfig.xml`` in the hotfix root tells the plug-in how to install each update:
``<ExtensionRules>`` give the installer template and exit codes per file type (MSI, MSU, MSP),
``<FolderRules>`` do the same for a named rule folder (firmware ``.exe`` and the like). An exit
code the file does not list means "failed, no reboot", so a missing code is a failed cluster
run; a wrong reboot set is a node that never restarts. That is why the file is generated from a
validated model instead of templated text.

Structure, as documented (seed 003; element and attribute names exactly as there)::

    <DefaultRules>
      <ExtensionRules>
        <Extension name="MSI">
          <Template path="..." parameters="... $update$ ..."/>
          <ExitConditions>
            <Success><ExitCode Code="0"/></Success>
            <Success_RebootRequired>...</Success_RebootRequired>
            <Fail_RebootRequired>...</Fail_RebootRequired>
            <AlreadyInstalled>...</AlreadyInstalled>
            <NotApplicable>...</NotApplicable>
          </ExitConditions>
        </Extension>
      </ExtensionRules>
      <FolderRules>
        <Folder name="FolderRule1" alwaysReboot="true"> Template, ExitConditions </Folder>
      </FolderRules>
    </DefaultRules>

The seed shows ``<DefaultRules>`` as the outermost element and does not show how codes are
written inside a condition element; we use ``<ExitCode Code="n"/>`` children. Microsoft's own
``HotfixConfigSchema.xsd`` (installed with the CAU tools) is authoritative; the module validates
against it on the host when it is present.

Round trip and hand-edited files: :func:`parse` keeps what it does not model (unknown
attributes and elements, comments, processing instructions, the namespace) in ``extras`` and
:func:`render` writes them back next to the element they followed, so a user's file can be
loaded, :func:`merge`\\ d and rewritten without loss. Untrusted XML is parsed without DTDs,
entities or network access.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

try:
    from lxml import etree
except ImportError:  # reported where the XML is used (_require_lxml), so the module still imports
    etree = None
    HAS_LXML = False
else:
    HAS_LXML = True

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._hotfix_layout import validate_folder_name

__all__ = [
    "HAS_LXML",
    "CONDITION_ELEMENTS",
    "DEFAULT_EXTENSION_RULES",
    "MAX_CONFIG_BYTES",
    "SCHEMA_PATH",
    "UPDATE_PLACEHOLDER",
    "ExitConditions",
    "ExtensionRule",
    "Extras",
    "ExtraNode",
    "FolderRule",
    "HotfixConfig",
    "Template",
    "extension_rule_from_yaml",
    "folder_rule_from_yaml",
    "from_yaml_data",
    "merge",
    "parse",
    "render",
    "validate",
]

# The token the plug-in replaces with the update file's path (seed 003, <Template> table).
UPDATE_PLACEHOLDER = "$update$"
# Our schema of the documented structure, shipped next to this file.
SCHEMA_PATH = Path(__file__).with_name("hotfix_config.xsd")
# A real configuration is a few KiB; anything near this is an attack or a mistake.
MAX_CONFIG_BYTES = 1024 * 1024

ROOT_ELEMENT = "DefaultRules"
EXIT_CODE_ELEMENT = "ExitCode"
EXIT_CODE_ATTRIBUTE = "Code"
# (model field, XML element) of the exit-condition sets, in the documented order.
CONDITION_ELEMENTS: tuple[tuple[str, str], ...] = (
    ("success", "Success"),
    ("success_reboot_required", "Success_RebootRequired"),
    ("fail_reboot_required", "Fail_RebootRequired"),
    ("already_installed", "AlreadyInstalled"),
    ("not_applicable", "NotApplicable"),
)
_CONDITION_FIELDS = tuple(name for name, _element in CONDITION_ELEMENTS)
# Model field names -> XML names, to report parse errors as a path into the file.
_XML_NAMES = {
    **dict(CONDITION_ELEMENTS),
    "template": "Template",
    "exit_conditions": "ExitConditions",
    "path": "@path",
    "parameters": "@parameters",
    "name": "@name",
    "always_reboot": "@alwaysReboot",
}
# Exit codes are Win32 process exit codes, which the plug-in and our schema (xs:int) treat as
# signed 32-bit: 0x80240017 is written -2145124329.
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_EXTENSION_NAME_RE = re.compile(r"[A-Za-z0-9]{1,16}")
_XML_INT_RE = re.compile(r"[+-]?[0-9]+")
# Characters refused in a template: control characters (XML cannot carry most of them, and a
# tab or line break in a command line is a mistake), surrogates and U+FFFE/U+FFFF.
_XML_INVALID_RE = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


# --------------------------------------------------------------------------------------------
# Errors with a field path
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _within(prefix: str, translate: Callable[[str], str] | None = None) -> Iterator[None]:
    """Re-raise :class:`InputError` from nested validation with ``prefix`` in front of its field.

    Model classes validate themselves with field names relative to themselves (``success``);
    the caller knows where the value came from (``cau_hotfix_folder_rules[0].exit_conditions``).
    """
    try:
        yield
    except InputError as err:
        inner = translate(err.field) if translate else err.field
        joined = f"{prefix}{inner}" if inner.startswith(("/", "[")) else f"{prefix}.{inner}"
        raise InputError(joined, err.message) from None


def _to_xml_path(model_field: str) -> str:
    """``exit_conditions.success`` -> ``/ExitConditions/Success`` for errors found in a file."""
    return "".join("/" + _XML_NAMES.get(part, part) for part in model_field.split("."))


# --------------------------------------------------------------------------------------------
# Preserved, unmodelled content
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExtraNode:
    """An unmodelled child node (element, comment or PI) serialised as XML text.

    ``after`` names the modelled sibling it followed (``Template``, ``Folder:fw``...), or is
    ``None`` when it came first, so :func:`render` can put it back in the same place.
    """

    xml: str
    after: str | None = None


@dataclass(frozen=True)
class Extras:
    """Unmodelled attributes (Clark-notation names) and child nodes of one element."""

    attributes: tuple[tuple[str, str], ...] = ()
    children: tuple[ExtraNode, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.attributes or self.children)


_NO_EXTRAS = Extras()


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


def _xml_text(value: Any, field_name: str, *, allow_empty: bool) -> str:
    """A string XML can carry; ``allow_empty`` distinguishes path (required) from parameters."""
    if not isinstance(value, str):
        raise InputError(field_name, "must be a string")
    if not allow_empty and not value.strip():
        raise InputError(field_name, "must not be empty")
    if _XML_INVALID_RE.search(value):
        raise InputError(
            field_name, "contains control characters (tabs, line breaks...), which a command line cannot use"
        )
    return value


@dataclass(frozen=True)
class Template:
    """How the plug-in starts an installer: ``path`` and ``parameters`` with ``$update$``.

    ``$update$`` is replaced by the update file; it must appear in one of the two, otherwise
    the installer would run without ever being told which file to install.
    """

    path: str
    parameters: str | None = None
    extras: Extras = _NO_EXTRAS

    def __post_init__(self) -> None:
        _xml_text(self.path, "path", allow_empty=False)
        if self.parameters is not None:
            _xml_text(self.parameters, "parameters", allow_empty=True)
        joined = f"{self.path} {self.parameters or ''}"
        if UPDATE_PLACEHOLDER not in joined:
            if UPDATE_PLACEHOLDER.casefold() in joined.casefold():
                raise InputError(
                    "parameters", f"write the placeholder exactly as {UPDATE_PLACEHOLDER} (lower case)"
                )
            raise InputError(
                "parameters",
                f"neither path nor parameters contains {UPDATE_PLACEHOLDER}, so the installer would never "
                f"receive the update file; e.g. path: '{UPDATE_PLACEHOLDER}' or parameters: '{UPDATE_PLACEHOLDER} /quiet'",
            )


def _codes(value: Any, field_name: str) -> tuple[int, ...]:
    """Validate one exit-code set: signed 32-bit integers, each once."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InputError(field_name, "must be a list of integer exit codes")
    codes = tuple(value)
    seen: set[int] = set()
    for code in codes:
        if isinstance(code, bool) or not isinstance(code, int):
            raise InputError(field_name, f"{code!r} is not an integer exit code")
        if not _INT32_MIN <= code <= _INT32_MAX:
            raise InputError(
                field_name,
                f"{code} is outside the signed 32-bit range; write codes like 0x80240017 as {code - 2**32}"
                if _INT32_MAX < code < 2**32
                else f"{code} is outside the signed 32-bit range of exit codes",
            )
        if code in seen:
            raise InputError(field_name, f"exit code {code} is listed twice")
        seen.add(code)
    return codes


@dataclass(frozen=True)
class ExitConditions:
    """What each installer exit code means. ``success`` is required and non-empty; a code may be
    in one set only (the plug-in could not tell which meaning wins); any unlisted code means
    "failed, no reboot".

    ``set_extras`` keeps unmodelled content found inside a condition element, keyed by the
    element name (``Success``...), for lossless rewrites of hand-edited files.
    """

    success: tuple[int, ...]
    success_reboot_required: tuple[int, ...] = ()
    fail_reboot_required: tuple[int, ...] = ()
    already_installed: tuple[int, ...] = ()
    not_applicable: tuple[int, ...] = ()
    extras: Extras = _NO_EXTRAS
    set_extras: tuple[tuple[str, Extras], ...] = ()

    def __post_init__(self) -> None:
        owner: dict[int, str] = {}
        for name in _CONDITION_FIELDS:
            codes = _codes(getattr(self, name), name)
            object.__setattr__(self, name, codes)
            for code in codes:
                if code in owner:
                    raise InputError(
                        name,
                        f"exit code {code} is also in {owner[code]}; each code may have one meaning only",
                    )
                owner[code] = name
        if not self.success:
            raise InputError("success", "is required and must list at least one exit code (usually 0)")
        object.__setattr__(self, "set_extras", tuple(self.set_extras))

    def codes(self) -> dict[str, tuple[int, ...]]:
        """The non-empty sets by model name, in documented order."""
        return {name: getattr(self, name) for name in _CONDITION_FIELDS if getattr(self, name)}


def _check_rule_parts(template: Any, exit_conditions: Any) -> None:
    if not isinstance(template, Template):
        raise InputError("template", "must be a Template")
    if not isinstance(exit_conditions, ExitConditions):
        raise InputError("exit_conditions", "must be ExitConditions")


@dataclass(frozen=True)
class ExtensionRule:
    """Installer and exit codes for every update of one file type (``<Extension name=>``)."""

    name: str
    template: Template
    exit_conditions: ExitConditions
    extras: Extras = _NO_EXTRAS

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _EXTENSION_NAME_RE.fullmatch(self.name):
            raise InputError("name", f"{self.name!r} must be a file extension without the dot, e.g. MSU")
        _check_rule_parts(self.template, self.exit_conditions)


@dataclass(frozen=True)
class FolderRule:
    """Installer and exit codes for the updates in a rule folder (``<Folder name= alwaysReboot=>``).

    ``always_reboot``: a Success exit code is treated as Success_RebootRequired (seed 003), for
    firmware and drivers whose installers return 0 but need a restart.
    """

    name: str
    template: Template
    exit_conditions: ExitConditions
    always_reboot: bool = False
    extras: Extras = _NO_EXTRAS

    def __post_init__(self) -> None:
        validate_folder_name(self.name, "name")
        if not isinstance(self.always_reboot, bool):
            raise InputError("always_reboot", "must be true or false")
        _check_rule_parts(self.template, self.exit_conditions)


# Defaults for the three types the plug-in installs out of the box. Each exit code has a reason:
#   0           ERROR_SUCCESS.
#   3010        ERROR_SUCCESS_REBOOT_REQUIRED: installed, the node must restart (CAU then
#               drains and reboots it, which is the point of using CAU).
#   1641        ERROR_SUCCESS_REBOOT_INITIATED: installed and the installer started a restart;
#               still a success that needs the reboot accounted for.
#   2359302     0x00240006 WU_S_ALREADY_INSTALLED from wusa: nothing to do, not a failure.
#   -2145124329 0x80240017 WU_E_NOT_APPLICABLE from wusa: the update is not for this node
#               (other OS build or component missing); a failure would stop the run for nothing.
#   1642        ERROR_PATCH_TARGET_NOT_FOUND from msiexec /p: the product the patch updates is
#               not installed on this node, i.e. not applicable.
# Not listed on purpose: 1638 (another version of the MSI product is installed) is not the same
# as "already installed", so it stays a failure to be looked at. No Fail_RebootRequired codes
# by default: no installer here documents one. /norestart everywhere because CAU, not the
# installer, must decide when a node restarts (after draining its roles).
DEFAULT_EXTENSION_RULES: tuple[ExtensionRule, ...] = (
    ExtensionRule(
        "MSI",
        Template("%systemroot%\\System32\\msiexec.exe", "/i $update$ /qn /norestart"),
        ExitConditions(success=(0,), success_reboot_required=(3010, 1641)),
    ),
    ExtensionRule(
        "MSU",
        Template("%systemroot%\\System32\\wusa.exe", "$update$ /quiet /norestart"),
        ExitConditions(
            success=(0,),
            success_reboot_required=(3010, 1641),
            already_installed=(2359302,),
            not_applicable=(-2145124329,),
        ),
    ),
    ExtensionRule(
        "MSP",
        Template("%systemroot%\\System32\\msiexec.exe", "/p $update$ /qn /norestart"),
        ExitConditions(success=(0,), success_reboot_required=(3010, 1641), not_applicable=(1642,)),
    ),
)


def _unique_names(rules: Sequence[Any], what: str, locate: Callable[[int], str] | None = None) -> None:
    """Refuse two rules with one name: Windows folder names and the plug-in's lookup are
    case-insensitive, so ``FW`` and ``fw`` would be the same rule folder."""
    where = locate or (lambda i: f"{what}[{i}]")
    seen: dict[str, int] = {}
    for index, rule in enumerate(rules):
        key = rule.name.casefold()
        if key in seen:
            raise InputError(
                f"{where(index)}.name" if locate is None else where(index),
                f"{rule.name!r} is already defined at {where(seen[key])} (names are case-insensitive)",
            )
        seen[key] = index


@dataclass(frozen=True)
class HotfixConfig:
    """The whole configuration file.

    ``namespaces`` are the namespace declarations of a parsed file's root (the modelled
    elements live in the root's namespace, none for files we render); ``extras`` belong to
    ``<DefaultRules>``, ``extension_rules_extras`` / ``folder_rules_extras`` to the two
    containers, ``document_extras`` to comments or PIs outside the root (``after`` is ``None``
    before it, ``"DefaultRules"`` after it).
    """

    extension_rules: tuple[ExtensionRule, ...] = DEFAULT_EXTENSION_RULES
    folder_rules: tuple[FolderRule, ...] = ()
    namespaces: tuple[tuple[str | None, str], ...] = ()
    extras: Extras = _NO_EXTRAS
    extension_rules_extras: Extras = _NO_EXTRAS
    folder_rules_extras: Extras = _NO_EXTRAS
    document_extras: Extras = _NO_EXTRAS

    def __post_init__(self) -> None:
        object.__setattr__(self, "extension_rules", tuple(self.extension_rules))
        object.__setattr__(self, "folder_rules", tuple(self.folder_rules))
        object.__setattr__(self, "namespaces", tuple(self.namespaces))
        for index, rule in enumerate(self.extension_rules):
            if not isinstance(rule, ExtensionRule):
                raise InputError(f"extension_rules[{index}]", "must be an ExtensionRule")
        for index, rule in enumerate(self.folder_rules):
            if not isinstance(rule, FolderRule):
                raise InputError(f"folder_rules[{index}]", "must be a FolderRule")
        _unique_names(self.extension_rules, "extension_rules")
        _unique_names(self.folder_rules, "folder_rules")

    @property
    def namespace(self) -> str | None:
        """The namespace of the modelled elements (the default namespace of the root)."""
        return dict(self.namespaces).get(None)

    @property
    def extension_names(self) -> tuple[str, ...]:
        """File types installed outside rule folders (pass to ``plan_tree(extensions=...)``)."""
        return tuple(rule.name.upper() for rule in self.extension_rules)

    def folder_rule(self, name: str) -> FolderRule | None:
        """The folder rule called ``name`` (case-insensitive), if any."""
        for rule in self.folder_rules:
            if rule.name.casefold() == name.casefold():
                return rule
        return None


# --------------------------------------------------------------------------------------------
# From the role's YAML
# --------------------------------------------------------------------------------------------

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _to_bool(value: Any, field_name: str) -> bool:
    """YAML booleans, plus the strings surveys and extra vars deliver."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise InputError(field_name, f"{value!r} must be true or false")


def _yaml_code(value: Any, field_name: str) -> int:
    """An exit code from YAML: an integer, or a decimal / 0x-hex string; hex and unsigned
    values above 0x7FFFFFFF become the signed form the plug-in compares with."""
    if isinstance(value, bool):
        raise InputError(field_name, f"{value!r} is not an exit code")
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text, 16) if text.lower().startswith(("0x", "-0x")) else int(text, 10)
        except ValueError:
            raise InputError(
                field_name, f"{text!r} is not an integer exit code (decimal or 0x hex)"
            ) from None
    if not isinstance(value, int):
        raise InputError(field_name, f"{value!r} is not an integer exit code")
    if _INT32_MAX < value < 2**32:
        value -= 2**32
    return value


def _check_keys(data: Any, allowed: Iterable[str], field_name: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise InputError(field_name, f"must be a mapping with keys {', '.join(allowed)}")
    unknown = sorted(str(k) for k in set(data) - set(allowed))
    if unknown:
        raise InputError(field_name, f"unknown keys {unknown}; valid keys are {', '.join(allowed)}")
    return data


def _template_from_yaml(data: Any, field_name: str) -> Template:
    data = _check_keys(data, ("path", "parameters"), field_name)
    if "path" not in data:
        raise InputError(
            f"{field_name}.path", f"is required, e.g. '{UPDATE_PLACEHOLDER}' or the installer's full path"
        )
    parameters = data.get("parameters")
    # A Windows path cannot contain '"' (https://learn.microsoft.com/en-us/windows/win32/fileio/naming-a-file),
    # and the plug-in puts the path in a command line, where a quote would end it early.
    if isinstance(data["path"], str) and '"' in data["path"]:
        raise InputError(
            f"{field_name}.path",
            "must not contain '\"' (a Windows path cannot, and in the installer's command line it would "
            "end the path early); write it without quotes, e.g. "
            "'%systemroot%\\System32\\wusa.exe'",
        )
    with _within(field_name):
        return Template(data["path"], None if parameters is None else parameters)


def _exit_conditions_from_yaml(data: Any, field_name: str) -> ExitConditions:
    data = _check_keys(data, _CONDITION_FIELDS, field_name)
    sets: dict[str, tuple[int, ...]] = {}
    for name in _CONDITION_FIELDS:
        value = data.get(name)
        if value is None:
            continue
        if not isinstance(value, (list, tuple)):
            value = [value]
        sets[name] = tuple(_yaml_code(code, f"{field_name}.{name}[{i}]") for i, code in enumerate(value))
    if "success" not in sets:
        raise InputError(
            f"{field_name}.success", "is required and must list at least one exit code (usually 0)"
        )
    with _within(field_name):
        return ExitConditions(**sets)


def folder_rule_from_yaml(data: Any, field: str = "cau_hotfix_folder_rules[0]") -> FolderRule:
    """One entry of ``cau_hotfix_folder_rules``: ``{name, always_reboot, template, exit_conditions}``."""
    data = _check_keys(data, ("name", "always_reboot", "template", "exit_conditions"), field)
    for required in ("name", "template", "exit_conditions"):
        if required not in data:
            raise InputError(f"{field}.{required}", "is required")
    template = _template_from_yaml(data["template"], f"{field}.template")
    conditions = _exit_conditions_from_yaml(data["exit_conditions"], f"{field}.exit_conditions")
    always_reboot = _to_bool(data.get("always_reboot", False), f"{field}.always_reboot")
    with _within(field):
        return FolderRule(data["name"], template, conditions, always_reboot)


def extension_rule_from_yaml(data: Any, field: str = "cau_hotfix_extension_rules[0]") -> ExtensionRule:
    """One entry of ``cau_hotfix_extension_rules``: ``{name, template, exit_conditions}``; the
    name is upper-cased (``msu`` -> ``MSU``)."""
    data = _check_keys(data, ("name", "template", "exit_conditions"), field)
    for required in ("name", "template", "exit_conditions"):
        if required not in data:
            raise InputError(f"{field}.{required}", "is required")
    name = data["name"]
    if isinstance(name, str):
        name = name.strip().lstrip(".").upper()
    template = _template_from_yaml(data["template"], f"{field}.template")
    conditions = _exit_conditions_from_yaml(data["exit_conditions"], f"{field}.exit_conditions")
    with _within(field):
        return ExtensionRule(name, template, conditions)


def _rule_list(data: Any, key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise InputError(key, "must be a list of rules")
    return list(value)


def from_yaml_data(data: Mapping[str, Any], *, defaults: bool = True) -> HotfixConfig:
    """Build the configuration from the role's variables.

    Reads ``cau_hotfix_folder_rules`` and (optional) ``cau_hotfix_extension_rules`` from
    ``data`` (other keys are ignored, so the role's whole variable set can be passed). With
    ``defaults`` the MSI/MSU/MSP rules of :data:`DEFAULT_EXTENSION_RULES` are included and a
    user extension rule of the same name replaces the default; pass ``defaults=False`` to get
    only what the user wrote, e.g. as ``desired`` for :func:`merge` into a hand-edited file.
    """
    if not isinstance(data, Mapping):
        raise InputError("cau_hotfix_folder_rules", "the role variables must be a mapping")
    folder_rules = [
        folder_rule_from_yaml(item, f"cau_hotfix_folder_rules[{i}]")
        for i, item in enumerate(_rule_list(data, "cau_hotfix_folder_rules"))
    ]
    user_ext = [
        extension_rule_from_yaml(item, f"cau_hotfix_extension_rules[{i}]")
        for i, item in enumerate(_rule_list(data, "cau_hotfix_extension_rules"))
    ]
    _unique_names(folder_rules, "cau_hotfix_folder_rules")
    _unique_names(user_ext, "cau_hotfix_extension_rules")
    extension_rules = list(user_ext)
    if defaults:
        extension_rules = _merge_rules(list(DEFAULT_EXTENSION_RULES), user_ext)
    return HotfixConfig(tuple(extension_rules), tuple(folder_rules))


# --------------------------------------------------------------------------------------------
# Merge
# --------------------------------------------------------------------------------------------


def _merge_rules(existing: Sequence[Any], desired: Sequence[Any]) -> list[Any]:
    """Desired rules replace same-named existing ones in place; the rest keep their order;
    new rules are appended in desired order."""
    wanted = {rule.name.casefold(): rule for rule in desired}
    merged = [wanted.pop(rule.name.casefold(), rule) for rule in existing]
    merged.extend(rule for rule in desired if rule.name.casefold() in wanted)
    return merged


def _merge_extras(existing: Extras, desired: Extras) -> Extras:
    """Attributes: desired wins per name; children: existing first, then desired's new ones."""
    attributes = dict(existing.attributes)
    attributes.update(desired.attributes)
    children = list(existing.children)
    children.extend(node for node in desired.children if node not in existing.children)
    return Extras(tuple(attributes.items()), tuple(children))


def merge(existing: HotfixConfig, desired: HotfixConfig, *, fill_defaults: bool = True) -> HotfixConfig:
    """Merge the configuration we want into one that exists (e.g. a hand-edited file).

    Semantics: a desired rule (extension or folder) replaces the existing rule with the same
    name (case-insensitive) *as a whole*, including anything unmodelled inside it, because the
    role owns the rules it declares; existing rules the desired configuration does not name are
    kept untouched, in their place; desired rules that are new are appended. Unmodelled content
    outside the rules (comments, unknown elements and attributes, namespaces) is kept. Nothing
    is ever removed by a merge. With ``fill_defaults``, a default MSI/MSU/MSP rule missing from
    both is added, so that those types keep being installed.
    """
    extension_rules = _merge_rules(existing.extension_rules, desired.extension_rules)
    if fill_defaults:
        present = {rule.name.casefold() for rule in extension_rules}
        extension_rules.extend(r for r in DEFAULT_EXTENSION_RULES if r.name.casefold() not in present)
    return replace(
        existing,
        extension_rules=tuple(extension_rules),
        folder_rules=tuple(_merge_rules(existing.folder_rules, desired.folder_rules)),
        extras=_merge_extras(existing.extras, desired.extras),
        extension_rules_extras=_merge_extras(existing.extension_rules_extras, desired.extension_rules_extras),
        folder_rules_extras=_merge_extras(existing.folder_rules_extras, desired.folder_rules_extras),
        document_extras=_merge_extras(existing.document_extras, desired.document_extras),
    )


# --------------------------------------------------------------------------------------------
# Safe parsing
# --------------------------------------------------------------------------------------------


def _safe_parser() -> etree.XMLParser:
    """A parser that never resolves entities, loads a DTD or touches the network.

    ``resolve_entities=False`` also overrides lxml >= 5's default of expanding internal
    entities; ``huge_tree=False`` keeps libxml2's limits against deep or huge documents.
    """
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=True,
        remove_comments=False,
        remove_pis=False,
        strip_cdata=True,
    )


def _declares_dtd(xml_bytes: bytes) -> bool:
    """Look for a DOCTYPE or ENTITY declaration before libxml2 parses anything.

    Decoded first when the file is UTF-16/32 (PowerShell 5 writes UTF-16 by default) so the
    marker cannot hide in a wide encoding; the post-parse check below is the second net.
    """
    head = xml_bytes
    for bom, codec in (
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
    ):
        if xml_bytes.startswith(bom):
            head = xml_bytes[len(bom) :].decode(codec, errors="ignore").encode("utf-8")
            break
    else:
        if b"\x00" in xml_bytes[:4]:
            for codec in ("utf-16-le", "utf-16-be"):
                decoded = xml_bytes.decode(codec, errors="ignore").encode("utf-8")
                if b"<!DOCTYPE" in decoded or b"<!ENTITY" in decoded:
                    return True
    return b"<!DOCTYPE" in head or b"<!ENTITY" in head


def _safe_parse(xml_bytes: Any, source: str) -> etree._Element:
    """Parse untrusted bytes into the root element or raise :class:`InputError`."""
    if isinstance(xml_bytes, str):
        raise InputError(
            source, "must be bytes as read from the file (the XML declaration decides the encoding)"
        )
    if not isinstance(xml_bytes, (bytes, bytearray)):
        raise InputError(source, "must be bytes")
    xml_bytes = bytes(xml_bytes)
    if len(xml_bytes) > MAX_CONFIG_BYTES:
        raise InputError(
            source,
            f"is {len(xml_bytes)} bytes; a hotfix configuration is far smaller (limit {MAX_CONFIG_BYTES})",
        )
    if _declares_dtd(xml_bytes):
        raise InputError(
            source,
            "contains a DOCTYPE/ENTITY declaration; DTDs are refused (XXE and entity-expansion attacks)",
        )
    try:
        root = etree.fromstring(xml_bytes, _safe_parser())
    except etree.XMLSyntaxError as err:
        raise InputError(source, f"is not well-formed XML: {err}") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None or tree.docinfo.externalDTD is not None:
        raise InputError(source, "contains a DOCTYPE declaration; DTDs are refused")
    for node in root.iter():
        if isinstance(node, etree._Entity):
            raise InputError(source, f"contains the entity reference {node.text}; entities are refused")
    return root


# --------------------------------------------------------------------------------------------
# Parse
# --------------------------------------------------------------------------------------------


class _Reader:
    """Walks a parsed document, splitting modelled from preserved content."""

    def __init__(self, namespace: str | None, source: str) -> None:
        self.ns = namespace
        self.source = source

    def error(self, where: str, message: str) -> InputError:
        return InputError(f"{self.source}:{where}", message)

    def is_known(self, node: Any, names: Iterable[str]) -> bool:
        if not isinstance(node.tag, str):
            return False
        qname = etree.QName(node)
        return qname.namespace == self.ns and qname.localname in names

    def check_text(self, element: Any, where: str) -> None:
        """Modelled elements carry no text: refuse it rather than drop it."""
        if element.text and element.text.strip():
            raise self.error(where, f"unexpected text {element.text.strip()[:40]!r}")
        for child in element:
            if child.tail and child.tail.strip():
                raise self.error(where, f"unexpected text {child.tail.strip()[:40]!r}")

    def attributes(self, element: Any, known: Iterable[str]) -> tuple[tuple[str, str], ...]:
        return tuple((k, v) for k, v in element.attrib.items() if k not in known)

    def split(
        self, element: Any, where: str, key_of: Mapping[str, Callable[[Any], str]]
    ) -> tuple[list[Any], tuple[ExtraNode, ...]]:
        """Modelled children (by local name in ``key_of``) and the rest as anchored extras."""
        self.check_text(element, where)
        known: list[Any] = []
        extras: list[ExtraNode] = []
        anchor: str | None = None
        for child in element:
            if self.is_known(child, key_of):
                known.append(child)
                anchor = key_of[etree.QName(child).localname](child)
            else:
                extras.append(ExtraNode(_serialise(child), anchor))
        return known, tuple(extras)

    def single(self, children: list[Any], name: str, where: str, required: bool = True) -> Any:
        found = [c for c in children if etree.QName(c).localname == name]
        if len(found) > 1:
            raise self.error(where, f"has {len(found)} <{name}> elements; exactly one is allowed")
        if not found:
            if required:
                raise self.error(where, f"is missing its <{name}> element")
            return None
        return found[0]


def _serialise(node: Any) -> str:
    return etree.tostring(node, encoding="unicode", with_tail=False)


def _fixed(name: str) -> Callable[[Any], str]:
    return lambda _el: name


def _named(prefix: str) -> Callable[[Any], str]:
    return lambda el: f"{prefix}:{(el.get('name') or '').casefold()}"


def _code_key(el: Any) -> str:
    """Anchor key of an ExitCode, normalised like render writes it (``+5`` -> ``5``)."""
    text = (el.get(EXIT_CODE_ATTRIBUTE) or "").strip()
    return f"{EXIT_CODE_ELEMENT}:{int(text) if _XML_INT_RE.fullmatch(text) else text}"


def _read_template(reader: _Reader, element: Any, where: str) -> Template:
    children, extra_children = reader.split(element, where, {})
    del children
    if element.get("path") is None:
        raise reader.error(where, "is missing the path attribute")
    extras = Extras(reader.attributes(element, ("path", "parameters")), extra_children)
    with _within(f"{reader.source}:{where}", _to_xml_path):
        return Template(element.get("path"), element.get("parameters"), extras)


def _read_conditions(reader: _Reader, element: Any, where: str) -> ExitConditions:
    keys = {xml: _fixed(xml) for _name, xml in CONDITION_ELEMENTS}
    children, extra_children = reader.split(element, where, keys)
    sets: dict[str, tuple[int, ...]] = {}
    set_extras: list[tuple[str, Extras]] = []
    for model_name, xml_name in CONDITION_ELEMENTS:
        child = reader.single(children, xml_name, where, required=False)
        if child is None:
            continue
        child_where = f"{where}/{xml_name}"
        codes_el, code_extras = reader.split(child, child_where, {EXIT_CODE_ELEMENT: _code_key})
        codes: list[int] = []
        for position, code_el in enumerate(codes_el, start=1):
            code_where = f"{child_where}/{EXIT_CODE_ELEMENT}[{position}]"
            reader.check_text(code_el, code_where)
            if len(code_el) or set(code_el.attrib) != {EXIT_CODE_ATTRIBUTE}:
                raise reader.error(
                    code_where, f'must be exactly <{EXIT_CODE_ELEMENT} {EXIT_CODE_ATTRIBUTE}="n"/>'
                )
            text = code_el.get(EXIT_CODE_ATTRIBUTE).strip()
            if not _XML_INT_RE.fullmatch(text):
                raise reader.error(code_where, f"{EXIT_CODE_ATTRIBUTE}={text!r} is not a decimal integer")
            codes.append(int(text))
        if not codes:
            raise reader.error(
                child_where, f"lists no <{EXIT_CODE_ELEMENT}>; remove the element or add codes"
            )
        sets[model_name] = tuple(codes)
        child_extras = Extras(reader.attributes(child, ()), code_extras)
        if child_extras:
            set_extras.append((xml_name, child_extras))
    if "success" not in sets:
        raise reader.error(where, "is missing <Success>, which is required")
    extras = Extras(reader.attributes(element, ()), extra_children)
    with _within(f"{reader.source}:{where}", _to_xml_path):
        return ExitConditions(**sets, extras=extras, set_extras=tuple(set_extras))


def _read_rule_body(
    reader: _Reader, element: Any, where: str
) -> tuple[Template, ExitConditions, tuple[ExtraNode, ...]]:
    children, extra_children = reader.split(
        element, where, {"Template": _fixed("Template"), "ExitConditions": _fixed("ExitConditions")}
    )
    template_el = reader.single(children, "Template", where)
    conditions_el = reader.single(children, "ExitConditions", where)
    return (
        _read_template(reader, template_el, f"{where}/Template"),
        _read_conditions(reader, conditions_el, f"{where}/ExitConditions"),
        extra_children,
    )


def _parse_bool(reader: _Reader, value: str, where: str) -> bool:
    text = value.strip()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise reader.error(where, f"alwaysReboot={value!r} must be true or false")


LXML_MISSING = (
    "the Python library lxml is required on the controller to read, write and validate "
    "DefaultHotfixConfig.xml; install requirements.txt into the controller's Python "
    "(pip install lxml), or under AWX use the execution environment built from execution-environment.yml"
)


def _require_lxml() -> None:
    """Fail with a clear message when lxml is missing (it is imported guarded, see the top)."""
    if not HAS_LXML:
        raise ImportError(LXML_MISSING)


def parse(xml_bytes: bytes, source: str = "DefaultHotfixConfig.xml") -> HotfixConfig:
    """Parse a configuration file safely into the model, keeping unmodelled content.

    Refuses DTDs, entities, oversize input and anything that is not the documented structure,
    with an :class:`InputError` whose field is ``<source>:<path in the file>``.
    """
    _require_lxml()
    root = _safe_parse(xml_bytes, source)
    qname = etree.QName(root)
    if qname.localname != ROOT_ELEMENT:
        raise InputError(f"{source}:/{qname.localname}", f"the root element must be <{ROOT_ELEMENT}>")
    reader = _Reader(qname.namespace, source)
    top = f"/{ROOT_ELEMENT}"
    children, root_extra_children = reader.split(
        root, top, {"ExtensionRules": _fixed("ExtensionRules"), "FolderRules": _fixed("FolderRules")}
    )
    ext_el = reader.single(children, "ExtensionRules", top, required=False)
    folder_el = reader.single(children, "FolderRules", top, required=False)

    extension_rules: list[ExtensionRule] = []
    ext_extras = Extras()
    if ext_el is not None:
        where = f"{top}/ExtensionRules"
        rules_el, extra_children = reader.split(ext_el, where, {"Extension": _named("Extension")})
        for el in rules_el:
            rule_where = f"{where}/Extension[@name={el.get('name')!r}]"
            template, conditions, body_extras = _read_rule_body(reader, el, rule_where)
            extras = Extras(reader.attributes(el, ("name",)), body_extras)
            with _within(f"{source}:{rule_where}", _to_xml_path):
                extension_rules.append(ExtensionRule(el.get("name"), template, conditions, extras))
        ext_extras = Extras(reader.attributes(ext_el, ()), extra_children)

    folder_rules: list[FolderRule] = []
    folder_extras = Extras()
    if folder_el is not None:
        where = f"{top}/FolderRules"
        rules_el, extra_children = reader.split(folder_el, where, {"Folder": _named("Folder")})
        for el in rules_el:
            rule_where = f"{where}/Folder[@name={el.get('name')!r}]"
            template, conditions, body_extras = _read_rule_body(reader, el, rule_where)
            always = el.get("alwaysReboot")
            always_reboot = False if always is None else _parse_bool(reader, always, rule_where)
            extras = Extras(reader.attributes(el, ("name", "alwaysReboot")), body_extras)
            with _within(f"{source}:{rule_where}", _to_xml_path):
                folder_rules.append(FolderRule(el.get("name"), template, conditions, always_reboot, extras))
        folder_extras = Extras(reader.attributes(folder_el, ()), extra_children)

    document: list[ExtraNode] = []
    for node in reversed(list(root.itersiblings(preceding=True))):
        document.append(ExtraNode(_serialise(node), None))
    for node in root.itersiblings():
        document.append(ExtraNode(_serialise(node), ROOT_ELEMENT))
    _unique_names(extension_rules, "", lambda i: f"{source}:{top}/ExtensionRules/Extension[{i + 1}]/@name")
    _unique_names(folder_rules, "", lambda i: f"{source}:{top}/FolderRules/Folder[{i + 1}]/@name")
    return HotfixConfig(
        tuple(extension_rules),
        tuple(folder_rules),
        # The root has no parent: every namespace in scope is declared on it.
        tuple(root.nsmap.items()),
        Extras(reader.attributes(root, ()), root_extra_children),
        ext_extras,
        folder_extras,
        Extras((), tuple(document)),
    )


# --------------------------------------------------------------------------------------------
# Render
# --------------------------------------------------------------------------------------------


def _load_extra(node: ExtraNode) -> Any:
    """Turn a preserved node back into an lxml node (wrapped so comments and PIs parse too)."""
    wrapper = etree.fromstring(f"<w>{node.xml}</w>".encode(), _safe_parser())
    return wrapper[0]


def _emit(parent: Any, known: list[tuple[str, Any]], extras: Extras) -> None:
    """Append modelled children in model order, each followed by the extras that followed it
    in the source; extras whose anchor no longer exists go last."""
    for name, value in extras.attributes:
        parent.set(name, value)
    keys = {key for key, _node in known}
    following: dict[str | None, list[ExtraNode]] = {}
    orphans: list[ExtraNode] = []
    for node in extras.children:
        if node.after is None or node.after in keys:
            following.setdefault(node.after, []).append(node)
        else:
            orphans.append(node)
    for node in following.get(None, []):
        parent.append(_load_extra(node))
    for key, element in known:
        parent.append(element)
        for node in following.get(key, []):
            parent.append(_load_extra(node))
    for node in orphans:
        parent.append(_load_extra(node))


class _Writer:
    def __init__(self, namespace: str | None) -> None:
        self.ns = namespace

    def make(self, tag: str, nsmap: Mapping[str | None, str] | None = None) -> Any:
        name = f"{{{self.ns}}}{tag}" if self.ns else tag
        return etree.Element(name, nsmap=nsmap) if nsmap else etree.Element(name)

    def template(self, template: Template) -> Any:
        el = self.make("Template")
        el.set("path", template.path)
        if template.parameters is not None:
            el.set("parameters", template.parameters)
        _emit(el, [], template.extras)
        return el

    def conditions(self, conditions: ExitConditions) -> Any:
        el = self.make("ExitConditions")
        set_extras = dict(conditions.set_extras)
        known: list[tuple[str, Any]] = []
        for model_name, xml_name in CONDITION_ELEMENTS:
            codes = getattr(conditions, model_name)
            if not codes:
                continue
            set_el = self.make(xml_name)
            code_children = []
            for code in codes:
                code_el = self.make(EXIT_CODE_ELEMENT)
                code_el.set(EXIT_CODE_ATTRIBUTE, str(code))
                code_children.append((f"{EXIT_CODE_ELEMENT}:{code}", code_el))
            _emit(set_el, code_children, set_extras.get(xml_name, _NO_EXTRAS))
            known.append((xml_name, set_el))
        _emit(el, known, conditions.extras)
        return el

    def rule(self, tag: str, rule: ExtensionRule | FolderRule) -> Any:
        el = self.make(tag)
        el.set("name", rule.name)
        if isinstance(rule, FolderRule) and rule.always_reboot:
            el.set("alwaysReboot", "true")
        _emit(
            el,
            [
                ("Template", self.template(rule.template)),
                ("ExitConditions", self.conditions(rule.exit_conditions)),
            ],
            rule.extras,
        )
        return el


def render(config: HotfixConfig) -> bytes:
    """Serialise the configuration: UTF-8, XML declaration, two-space indentation, rules in
    model order, exit-condition sets in documented order; the same model always gives the
    same bytes (so "changed" can be decided by comparing files)."""
    if not isinstance(config, HotfixConfig):
        raise InputError("config", "must be a HotfixConfig")
    _require_lxml()
    writer = _Writer(config.namespace)
    root = writer.make(ROOT_ELEMENT, dict(config.namespaces) or None)
    ext = writer.make("ExtensionRules")
    _emit(
        ext,
        [(f"Extension:{r.name.casefold()}", writer.rule("Extension", r)) for r in config.extension_rules],
        config.extension_rules_extras,
    )
    folders = writer.make("FolderRules")
    _emit(
        folders,
        [(f"Folder:{r.name.casefold()}", writer.rule("Folder", r)) for r in config.folder_rules],
        config.folder_rules_extras,
    )
    _emit(root, [("ExtensionRules", ext), ("FolderRules", folders)], config.extras)
    # Comments/PIs outside the root: addprevious keeps source order going forward, addnext
    # inserts right after the root, so the epilogue is added backwards.
    for node in config.document_extras.children:
        if node.after is None:
            root.addprevious(_load_extra(node))
    for node in reversed(config.document_extras.children):
        if node.after is not None:
            root.addnext(_load_extra(node))
    body = etree.tostring(root.getroottree(), encoding="utf-8", pretty_print=True, xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


# --------------------------------------------------------------------------------------------
# Schema validation
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _schema(path: str) -> etree.XMLSchema:
    """Load (once) an XSD, with the same no-network, no-entity parser as configurations."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(path, parser))


def validate(xml_bytes: bytes, schema_path: str | Path | None = None) -> list[str]:
    """Readable problems of a configuration file; an empty list means valid.

    Three layers: safe parsing (DTD/entities refused), the XSD (ours, derived from the
    documented structure, unless ``schema_path`` names another, e.g. a copy of Windows'
    HotfixConfigSchema.xsd), then the model's rules the XSD cannot express (case-insensitive
    unique names, reserved folder names, ``$update$`` present). Messages start with the line.
    """
    _require_lxml()
    try:
        root = _safe_parse(xml_bytes, "config")
    except InputError as err:
        return [str(err)]
    schema = _schema(str(schema_path or SCHEMA_PATH))
    if not schema.validate(root.getroottree()):
        return [f"line {e.line}: {e.message}" for e in schema.error_log]
    try:
        parse(xml_bytes, "config")
    except InputError as err:
        return [str(err)]
    return []
