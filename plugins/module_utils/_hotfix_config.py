# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rules added to Microsoft's own DefaultHotfixConfig.xml (for internal collection use only).

"How Cluster-Aware Updating plug-ins work" says to copy the ``DefaultHotfixConfig.xml`` that
ships in the ClusterAwareUpdating PowerShell module folder into the hotfix root and, for update
types other than .msu/.msi/.msp, to add ``<Folder>`` rules under ``<FolderRules>``
(https://learn.microsoft.com/en-us/windows-server/failover-clustering/cluster-aware-updating-plug-ins).
The page shows fragments only, not the whole file nor how exit codes are written, so this
module guesses nothing: it reads the *shape* of the base's own ``<Extension>`` rules (namespace,
element and attribute names and their case, order of children, how an exit code is written)
and writes each new rule the same way. Everything no rule replaces stays as it was, comments
included. Untrusted XML is parsed without DTDs, entities or network access.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Mapping

try:
    from lxml import etree
except ImportError:  # reported where XML is read (parse_xml), so the module and its callers still import
    etree = None
    HAS_LXML = False
else:
    HAS_LXML = True

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._hotfix_layout import validate_file_name

UPDATE_PLACEHOLDER = "$update$"
MAX_CONFIG_BYTES = 1024 * 1024
# The <ExitConditions> children Microsoft documents, in the documented order; YAML keys first.
CONDITIONS = (
    ("success", "Success"),
    ("success_reboot_required", "Success_RebootRequired"),
    ("fail_reboot_required", "Fail_RebootRequired"),
    ("already_installed", "AlreadyInstalled"),
    ("not_applicable", "NotApplicable"),
)
_INT32 = (-(2**31), 2**32 - 1)
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_EXTENSION_NAME = re.compile(r"[A-Za-z0-9]{1,16}")  # used with fullmatch: "$" would let "MSI\n" through

# Our assumption of the format, used only with base_config: builtin (documented as such).
BUILTIN_BASE = b"""<?xml version="1.0" encoding="utf-8"?>
<!-- winfleet.updates built-in base: an assumption of the format, not Microsoft's file -->
<DefaultRules>
  <ExtensionRules>
    <Extension name="MSI">
      <Template path="%systemroot%\\System32\\msiexec.exe" parameters="/i $update$ /qn /norestart"/>
      <ExitConditions>
        <Success><ExitCode Code="0"/></Success>
        <Success_RebootRequired><ExitCode Code="3010"/><ExitCode Code="1641"/></Success_RebootRequired>
      </ExitConditions>
    </Extension>
    <Extension name="MSU">
      <Template path="%systemroot%\\System32\\wusa.exe" parameters="$update$ /quiet /norestart"/>
      <ExitConditions>
        <Success><ExitCode Code="0"/></Success>
        <Success_RebootRequired><ExitCode Code="3010"/><ExitCode Code="1641"/></Success_RebootRequired>
        <AlreadyInstalled><ExitCode Code="2359302"/></AlreadyInstalled>
        <NotApplicable><ExitCode Code="-2145124329"/></NotApplicable>
      </ExitConditions>
    </Extension>
    <Extension name="MSP">
      <Template path="%systemroot%\\System32\\msiexec.exe" parameters="/p $update$ /qn /norestart"/>
      <ExitConditions>
        <Success><ExitCode Code="0"/></Success>
        <Success_RebootRequired><ExitCode Code="3010"/><ExitCode Code="1641"/></Success_RebootRequired>
        <NotApplicable><ExitCode Code="1642"/></NotApplicable>
      </ExitConditions>
    </Extension>
  </ExtensionRules>
</DefaultRules>
"""


@dataclass(frozen=True)
class Rule:
    """One rule to add: ``kind`` is ``Extension`` or ``Folder``; ``conditions`` pairs each
    documented condition element with its exit codes (signed 32-bit, as Win32 exit codes)."""

    kind: str
    name: str
    path: str
    parameters: str
    conditions: tuple[tuple[str, tuple[int, ...]], ...]
    always_reboot: bool = False


# --------------------------------------------------------------------------------------------
# Rules from the module options (every problem reported, not only the first)
# --------------------------------------------------------------------------------------------


def _code(value: Any, where: str) -> int:
    """An exit code: an integer or a decimal/hex string, written in signed 32-bit form."""
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?(0[xX][0-9a-fA-F]+|[0-9]+)\s*", value):
        value = int(value, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not _INT32[0] <= value <= _INT32[1]:
        raise InputError(
            where, f"{value!r} is not an exit code (an integer or a hex string such as '0x80240017')"
        )
    return value - 2**32 if value > 2**31 - 1 else value


def _text(value: str | None, where: str, required: bool) -> str:
    if required and not (value or "").strip():
        raise InputError(where, "must be a non-empty string")
    if _CONTROL.search(value or ""):
        raise InputError(
            where, "contains control characters (tabs, line breaks...), which a command line cannot use"
        )
    return value or ""


def _conditions(exits: Mapping[str, Any], where: str) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """The documented conditions with their codes, Success first; a code in one set only."""
    conditions, seen = [], {}
    for key, element in CONDITIONS:
        codes = tuple(_code(v, f"{where}.{key}[{i}]") for i, v in enumerate(exits.get(key) or []))
        for code in codes:
            if code in seen:
                raise InputError(
                    f"{where}.{key}",
                    f"exit code {code} is also in {seen[code]}; a code may appear in one set only",
                )
            seen[code] = key
        if codes:
            conditions.append((element, codes))
    if not conditions or conditions[0][0] != "Success":
        raise InputError(f"{where}.success", "is required: at least one exit code meaning success")
    return tuple(conditions)


def _rule(data: Mapping[str, Any], kind: str, where: str) -> Rule:
    """One rule; the action's argument spec has already checked its keys and their types."""
    name = data["name"]
    if kind == "Folder":
        validate_file_name(name, f"{where}.name", "folder")
    elif not _EXTENSION_NAME.fullmatch(name):
        raise InputError(f"{where}.name", f"{name!r} must be a file extension without the dot, e.g. MSU")
    template = data["template"]
    path = _text(template.get("path"), f"{where}.template.path", True)
    # A Windows path cannot contain '"' ("Naming Files, Paths, and Namespaces",
    # https://learn.microsoft.com/en-us/windows/win32/fileio/naming-a-file), and the plug-in puts
    # the path in a command line, where a quote would end it early.
    if '"' in path:
        raise InputError(
            f"{where}.template.path",
            "must not contain '\"' (a Windows path cannot, and in the installer's command line it would end "
            "the path early); write it without quotes, e.g. '%systemroot%\\System32\\wusa.exe'",
        )
    parameters = _text(template.get("parameters"), f"{where}.template.parameters", False)
    if UPDATE_PLACEHOLDER not in path + parameters:
        raise InputError(
            f"{where}.template.parameters",
            f"neither path nor parameters contains {UPDATE_PLACEHOLDER}, which the plug-in replaces with "
            "the update file",
        )
    conditions = _conditions(data["exit_conditions"], f"{where}.exit_conditions")
    return Rule(kind, name, path, parameters, conditions, bool(data.get("always_reboot")))


def rules_from_options(
    folder_rules: list[Mapping[str, Any]], extension_rules: list[Mapping[str, Any]], errors: list[InputError]
) -> list[Rule]:
    """Rules from ``folder_rules`` and ``extension_rules`` (as the argument spec passed them);
    each problem is appended to ``errors`` (so the user sees them all in one run) and the faulty
    rule skipped."""
    rules: list[Rule] = []
    for option, kind, value in (
        ("folder_rules", "Folder", folder_rules),
        ("extension_rules", "Extension", extension_rules),
    ):
        names: dict[str, int] = {}
        for index, data in enumerate(value):
            try:
                rule = _rule(data, kind, f"{option}[{index}]")
            except InputError as err:
                errors.append(err)
                continue
            if rule.name.casefold() in names:
                errors.append(
                    InputError(
                        f"{option}[{index}].name",
                        f"{rule.name} is also {option}[{names[rule.name.casefold()]}]",
                    )
                )
                continue
            names[rule.name.casefold()] = index
            rules.append(rule)
    return rules


# --------------------------------------------------------------------------------------------
# Reading XML safely
# --------------------------------------------------------------------------------------------


def parse_xml(data: Any, source: str) -> etree._ElementTree:
    """A configuration or schema file as an lxml tree; DTDs refused, nothing resolved."""
    if not HAS_LXML:
        raise InputError(
            source,
            "the Python library lxml is required on the controller to read and validate it; "
            "install requirements.txt into the controller's Python (pip install lxml), or under AWX use "
            "the execution environment built from execution-environment.yml",
        )
    if len(data) > MAX_CONFIG_BYTES:
        raise InputError(
            source, f"is {len(data)} bytes; a hotfix configuration is far smaller (limit {MAX_CONFIG_BYTES})"
        )
    try:
        tree = etree.ElementTree(
            etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
        )
    except etree.XMLSyntaxError as err:
        raise InputError(source, f"is not well-formed XML: {err}") from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise InputError(
            source, "declares a DTD (<!DOCTYPE>), which a hotfix configuration never needs; refused"
        )
    return tree


def _local(element: Any) -> str:
    return etree.QName(element).localname.casefold() if isinstance(element.tag, str) else ""


def _children(element: Any, name: str) -> list[Any]:
    return [c for c in element if _local(c) == name.casefold()]


def _attribute(element: Any, name: str) -> str | None:
    """The attribute's key as the file spells it (case-insensitive match)."""
    return next((k for k in element.attrib if etree.QName(k).localname.casefold() == name.casefold()), None)


def _ints(element: Any) -> list[int]:
    """Every integer an element states, in attributes or text, itself or below."""
    values = [v for n in element.iter() if isinstance(n.tag, str) for v in [*n.attrib.values(), n.text or ""]]
    return [int(v) for v in values if re.fullmatch(r"\s*[+-]?\d+\s*", v)]


def read_rules(data: bytes, source: str) -> tuple[list[str], list[str], list[str]]:
    """Extension names, folder rule names and problems of a configuration file: each rule
    needs a name, a template and a Success condition with a code (the documented minimum)."""
    root = parse_xml(data, source).getroot()
    names: dict[str, list[str]] = {"extension": [], "folder": []}
    problems = []
    for element in root.iter():
        kind = _local(element)
        if kind not in names:
            continue
        key = _attribute(element, "name")
        label = f"<{etree.QName(element).localname} name={element.get(key) if key else None!r}>"
        if key is None:
            problems.append(f"{label} has no name attribute")
            continue
        names[kind].append(element.get(key))
        success = [e for e in element.iter() if _local(e) == "success"]
        if not any(_local(e) == "template" for e in element.iter()):
            problems.append(f"{label} has no <Template>")
        if not success or not _ints(success[0]):
            problems.append(f"{label} has no <Success> exit code, which the plug-in requires")
    if not names["extension"] and not names["folder"]:
        problems.append(f"<{etree.QName(root).localname}> defines no <Extension> or <Folder> rule")
    return names["extension"], names["folder"], problems


def schema_errors(data: bytes, schema: bytes, source: str) -> list[str]:
    """Problems Windows' HotfixConfigSchema.xsd finds in a configuration. lxml validates
    namespace-aware and strictly: an element outside the schema's namespace is an error."""
    try:
        xsd = etree.XMLSchema(parse_xml(schema, "HotfixConfigSchema.xsd"))
    except etree.XMLSchemaParseError as err:
        return [f"HotfixConfigSchema.xsd cannot be used: {err}"]
    try:
        document = parse_xml(data, source)
    except InputError as err:
        return [err.message]
    return [] if xsd.validate(document) else [f"line {e.line}: {e.message}" for e in xsd.error_log]


# --------------------------------------------------------------------------------------------
# Adding rules in the base's shape
# --------------------------------------------------------------------------------------------


class _Shape:
    """How the base writes a rule, learnt from its first complete <Extension> (the prototype):
    a new rule is a copy of it with the rule's name, template and exit codes."""

    def __init__(self, root: Any, source: str) -> None:
        self.root, containers = root, _children(root, "ExtensionRules")
        complete = [
            e
            for c in containers
            for e in _children(c, "Extension")
            if _children(e, "Template") and _children(e, "ExitConditions")
        ]
        if not complete:
            raise InputError(
                source,
                "has no <ExtensionRules><Extension> with <Template> and <ExitConditions> to copy the shape "
                "of rules from",
            )
        self.extensions, self.prototype = containers[0], complete[0]
        exits = _children(self.prototype, "ExitConditions")[0]
        self.condition_order = [_local(c) for c in exits if isinstance(c.tag, str)]
        written = next((c for c in exits if isinstance(c.tag, str) and len(c)), None)
        self.code = written[0] if written is not None else None
        if self.code is None or not isinstance(self.code.tag, str):
            raise InputError(
                source,
                "does not show how an exit code is written (no element inside a condition of "
                "<ExitConditions>)",
            )
        number = re.compile(r"\s*[+-]?\d+\s*")
        self.code_attribute = next((k for k, v in self.code.attrib.items() if number.fullmatch(v)), None)
        if self.code_attribute is None and not number.fullmatch(self.code.text or ""):
            raise InputError(
                source, f"<{etree.QName(self.code).localname}> holds no exit code this module can read"
            )
        self.spelling = {_local(e): etree.QName(e).localname for e in root.iter() if isinstance(e.tag, str)}
        self.depth = len(list(self.extensions.iterancestors())) + 1  # of <Extension> elements
        text = root.text or ""
        self.unit = text.lstrip("\r\n") if "\n" in text and not text.strip() else None

    def tag(self, name: str) -> str:
        local = self.spelling.get(name.casefold(), name)
        namespace = etree.QName(self.root).namespace
        return f"{{{namespace}}}{local}" if namespace else local

    def element(self, rule: Rule, element_name: str) -> Any:
        """The prototype's copy for ``rule``: its attribute spelling, children order and exit-code form."""
        new = copy.deepcopy(self.prototype)
        new.tag, new.tail = self.tag(element_name), None
        name_key = _attribute(new, "name") or "name"
        new.attrib.clear()
        new.set(name_key, rule.name)
        if rule.always_reboot:
            new.set("alwaysReboot", "true")
        for child in list(new):
            if _local(child) not in ("template", "exitconditions"):
                new.remove(child)
        template, exits = _children(new, "Template")[0], _children(new, "ExitConditions")[0]
        spelled = {etree.QName(k).localname.casefold(): k for k in template.attrib}
        template.attrib.clear()
        values = {"path": rule.path, "parameters": rule.parameters}
        for name in sorted(values, key=lambda n: list(spelled).index(n) if n in spelled else len(spelled)):
            if values[name] or name == "path":
                template.set(spelled.get(name, name), values[name])
        for child in list(exits):
            exits.remove(child)
        documented = [element.casefold() for _key, element in CONDITIONS]
        known = len(self.condition_order)

        def rank(condition: tuple[str, Any]) -> int:
            name = condition[0].casefold()
            return (
                self.condition_order.index(name)
                if name in self.condition_order
                else known + documented.index(name)
            )

        for name, codes in sorted(rule.conditions, key=rank):
            condition = etree.SubElement(exits, self.tag(name))
            for code in codes:
                node = etree.SubElement(condition, self.code.tag)
                if self.code_attribute:
                    node.set(self.code_attribute, str(code))
                else:
                    node.text = str(code)
        if self.unit is not None:
            etree.indent(new, space=self.unit, level=self.depth)
        return new

    def place(self, container: Any, rule: Rule, element_name: str) -> None:
        """Replace the rule of the same name in ``container`` in place, or append it."""
        new = self.element(rule, element_name)
        for old in _children(container, element_name):
            if (old.get(_attribute(old, "name") or "name") or "").casefold() == rule.name.casefold():
                new.tail = old.tail
                old.addprevious(new)
                container.remove(old)
                return
        siblings = list(container)
        container.append(new)
        if self.unit is not None and siblings:
            new.tail, siblings[-1].tail = siblings[-1].tail, "\n" + self.unit * self.depth
        elif self.unit is not None:
            container.text, new.tail = "\n" + self.unit * self.depth, "\n" + self.unit * (self.depth - 1)


def add_rules(base: bytes, rules: list[Rule], source: str) -> bytes:
    """The base with ``rules`` added in its own shape; the base's bytes when there is none.

    An ``<Extension>`` or ``<Folder>`` of the same name (case-insensitive) is replaced where it
    stands; new ones are appended; ``<FolderRules>`` is created after ``<ExtensionRules>``
    when the base has none. Nothing else of the base changes.
    """
    tree = parse_xml(base, source)
    shape = _Shape(tree.getroot(), source)
    if not rules:
        return base
    for rule in [r for r in rules if r.kind == "Extension"]:
        shape.place(shape.extensions, rule, "Extension")
    folder_rules = [r for r in rules if r.kind == "Folder"]
    parent = shape.extensions.getparent()
    if folder_rules and not _children(parent, "FolderRules"):
        shape.extensions.addnext(etree.SubElement(parent, shape.tag("FolderRules")))
        if shape.unit is not None:
            after = shape.extensions.getnext()
            after.tail, shape.extensions.tail = shape.extensions.tail, "\n" + shape.unit * (shape.depth - 1)
    for rule in folder_rules:
        shape.place(_children(parent, "FolderRules")[0], rule, "Folder")
    # lxml drops the line breaks between top-level nodes; one per node, as the base has them.
    root = tree.getroot()
    before = list(root.itersiblings(preceding=True))[::-1]
    nodes = [
        etree.tostring(n, with_tail=False, encoding="utf-8") for n in [*before, root, *root.itersiblings()]
    ]
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + b"\n".join(nodes) + b"\n"
