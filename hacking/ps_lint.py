#!/usr/bin/env python3
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lint PowerShell for Windows PowerShell 5.1 (or 2.0) without a PowerShell binary.

Usage: ``python hacking/ps_lint.py [--profile 5.1|2.0] FILE...``

Prints one finding per line as ``PATH:LINE:COLUMN: CODE message``; exits 0 when there are no
findings, 1 when there are, 2 when a file cannot be read or parsed. No PowerShell can run on the
machines that test this collection, so the rules read the script with tree-sitter-powershell and
the cmdlet catalogue in ``hacking/ps_catalogue`` (written from Microsoft's reference pages).

Every rule has a code, a one-line reason and the Microsoft page it rests on (``RULES``). A false
positive is suppressed on its line, or on a comment line directly above it, with
``# ps-lint: disable=CODE[,CODE...] reason``; the reason is mandatory, and a suppression that
suppresses nothing is itself a finding, so suppressions cannot outlive their cause. A script
embedded in a here-string (a worker the module writes out and runs) is linted too when the line
above the here-string says ``# ps-lint: script``.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator

import tree_sitter as ts
import tree_sitter_powershell as tsp
import yaml

CATALOGUE_DIR = Path(__file__).resolve().parent / "ps_catalogue"
PROFILES = ("5.1", "2.0")

_PARSER = ts.Parser(ts.Language(tsp.language()))


@dataclass(frozen=True)
class Rule:
    code: str
    why: str
    url: str


_ABOUT = "https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.core/about/"
RULES: dict[str, Rule] = {rule.code: rule for rule in (
    Rule("PS101", "the null-coalescing operators ?? and ??= exist only from PowerShell 7.0",
         _ABOUT + "about_operators?view=powershell-7.4#null-coalescing-operator-"),
    Rule("PS102", "the null-conditional member access ?. and ?[] exist only from PowerShell 7.0",
         _ABOUT + "about_operators?view=powershell-7.4#null-conditional-operators--and-"),
    Rule("PS103", "the pipeline chain operators && and || exist only from PowerShell 7.0",
         _ABOUT + "about_pipeline_chain_operators?view=powershell-7.4"),
    Rule("PS104", "the ternary operator ? : exists only from PowerShell 7.0",
         _ABOUT + "about_operators?view=powershell-7.4#ternary-operator--if-true--if-false"),
    Rule("PS105", "the clean {} block of a function exists only from PowerShell 7.3",
         _ABOUT + "about_functions_advanced_methods?view=powershell-7.4#clean"),
    Rule("PS201", "a cmdlet that the profile's PowerShell version does not have fails with CommandNotFoundException",
         "https://learn.microsoft.com/en-us/powershell/scripting/whats-new/differences-from-windows-powershell"),
    Rule("PS202", "a parameter (or parameter value) that the profile's PowerShell version does not have fails to bind",
         "https://learn.microsoft.com/en-us/powershell/scripting/whats-new/differences-from-windows-powershell"),
    Rule("PS203", "[ordered], [pscustomobject], -in/-notin, -shl/-shr and $PSItem arrived in PowerShell 3.0",
         "https://learn.microsoft.com/en-us/powershell/scripting/windows-powershell/whats-new/"
         "what-s-new-in-windows-powershell-50"),
    Rule("PS301", "a parameter the cmdlet does not define stops the command with ParameterBindingException",
         _ABOUT + "about_parameters?view=powershell-5.1"),
    Rule("PS302", "parameters that no single parameter set of the cmdlet allows together cannot be bound",
         "https://learn.microsoft.com/en-us/powershell/scripting/developer/cmdlet/cmdlet-parameter-sets"),
    Rule("PS303", "a command that is neither a catalogued cmdlet nor a function of the script cannot be checked",
         _ABOUT + "about_command_precedence?view=powershell-5.1"),
    Rule("PS401", "in Windows PowerShell 5.1 ConvertFrom-Json writes a JSON array as ONE pipeline object",
         "https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.utility/convertfrom-json"
         "?view=powershell-7.4#-noenumerate"),
    Rule("PS402", "in 5.1 >> writes UTF-16LE but Add-Content/Set-Content default to ANSI: one file, mixed encodings",
         _ABOUT + "about_character_encoding?view=powershell-5.1"),
    Rule("PS403", "Invoke-Expression on a string built from variables runs whatever the input contains",
         "https://learn.microsoft.com/en-us/powershell/scripting/learn/deep-dives/avoid-using-invoke-expression"),
    Rule("PS901", "a suppression must say why (# ps-lint: disable=CODE reason)",
         "https://learn.microsoft.com/en-us/powershell/utility-modules/psscriptanalyzer/overview"
         "#suppressing-rules"),
    Rule("PS902", "a suppression that suppresses nothing is stale",
         "https://learn.microsoft.com/en-us/powershell/utility-modules/psscriptanalyzer/overview"
         "#suppressing-rules"),
)}

# about_CommonParameters (5.1): every cmdlet and advanced function takes these.
COMMON_PARAMETERS = {
    "verbose": ("vb",), "debug": ("db",), "erroraction": ("ea",), "warningaction": ("wa",),
    "informationaction": ("infa",), "errorvariable": ("ev",), "warningvariable": ("wv",),
    "informationvariable": ("iv",), "outvariable": ("ov",), "outbuffer": ("ob",), "pipelinevariable": ("pv",),
}
SHOULD_PROCESS_PARAMETERS = {"whatif": ("wi",), "confirm": ("cf",)}

# Built-in aliases (about_Aliases, Get-Alias on 5.1) of catalogued cmdlets.
ALIASES = {
    "%": "ForEach-Object", "foreach": "ForEach-Object", "?": "Where-Object", "where": "Where-Object",
    "select": "Select-Object", "sort": "Sort-Object", "iex": "Invoke-Expression", "gc": "Get-Content",
    "cat": "Get-Content", "type": "Get-Content", "sc": "Set-Content", "ac": "Add-Content", "ni": "New-Item",
    "ri": "Remove-Item", "rm": "Remove-Item", "del": "Remove-Item", "copy": "Copy-Item", "cp": "Copy-Item",
    "move": "Move-Item", "mv": "Move-Item", "gci": "Get-ChildItem", "ls": "Get-ChildItem", "dir": "Get-ChildItem",
    "gi": "Get-Item", "gps": "Get-Process", "ps": "Get-Process", "gsv": "Get-Service", "compare": "Compare-Object",
    "diff": "Compare-Object", "ipmo": "Import-Module", "epcsv": "Export-Csv",
}

# Language keywords that tree-sitter-powershell may present as a command name.
_KEYWORDS = {"foreach", "where", "if", "return", "throw", "exit", "break", "continue"}
_STRING_NODES = {"string_literal", "expandable_string_literal", "verbatim_string_characters",
                 "expandable_here_string_literal", "verbatim_here_string_characters", "comment"}
_SCRIPT_MARKER = re.compile(r"#\s*ps-lint:\s*script\b")
_SUPPRESSION = re.compile(r"#\s*ps-lint:\s*disable=([A-Z0-9, ]+?)(?:\s+(\S.*))?$")


@dataclass(order=True)
class Finding:
    path: str
    line: int
    column: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.code} {self.message}"


class ParseFailure(Exception):
    """The file cannot be read, or tree-sitter finds syntax no PowerShell version accepts."""


# ---------------------------------------------------------------------------------------------
# The catalogue


@dataclass
class Parameter:
    name: str
    type: str
    sets: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    position: int | None = None
    since: str = "1.0"
    values: tuple[str, ...] = ()
    values_since: dict[str, str] = field(default_factory=dict)

    @property
    def is_switch(self) -> bool:
        return self.type.lower() in ("switchparameter", "switch")


@dataclass
class Cmdlet:
    name: str
    module: str
    url: str
    since: str
    windows: list[str]
    parameters: dict[str, Parameter]
    parameter_sets: tuple[str, ...]
    supports_should_process: bool


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in str(text).split("."))


@lru_cache(maxsize=None)
def load_catalogue(directory: str = str(CATALOGUE_DIR)) -> dict[str, Cmdlet]:
    """Every catalogued cmdlet by lower-case name."""
    cmdlets: dict[str, Cmdlet] = {}
    for path in sorted(Path(directory).glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for name, entry in data["cmdlets"].items():
            sets = tuple(entry.get("parameter_sets") or ["__AllParameterSets"])
            parameters = {}
            for pname, spec in (entry.get("parameters") or {}).items():
                parameters[pname.lower()] = Parameter(
                    name=pname, type=str(spec["type"]), sets=tuple(spec.get("sets") or sets),
                    aliases=tuple(a.lower() for a in spec.get("aliases") or ()), position=spec.get("position"),
                    since=str(spec.get("since", "1.0")), values=tuple(str(v) for v in spec.get("values") or ()),
                    values_since={str(k).lower(): str(v) for k, v in (spec.get("values_since") or {}).items()})
            cmdlets[name.lower()] = Cmdlet(
                name=name, module=data["module"], url=entry["url"], since=str(entry.get("since", data.get("since", "1.0"))),
                windows=list(entry.get("windows") or data.get("windows") or []), parameters=parameters,
                parameter_sets=sets, supports_should_process=bool(entry.get("supports_should_process")))
    return cmdlets


# ---------------------------------------------------------------------------------------------
# Reading the script


def _text(node: ts.Node, source: bytes) -> str:
    return source[node.start_byte:node.end_byte].decode("utf-8", "replace")


def _walk(node: ts.Node) -> Iterator[ts.Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _masked(source: bytes, root: ts.Node) -> bytes:
    """The source with comments and string contents blanked, so token rules see code only."""
    masked = bytearray(source)
    for node in _walk(root):
        if node.type in _STRING_NODES:
            for i in range(node.start_byte, node.end_byte):
                if masked[i] not in (0x0A, 0x0D):
                    masked[i] = 0x20
    return bytes(masked)


def _position(source: bytes, offset: int) -> tuple[int, int]:
    line = source.count(b"\n", 0, offset) + 1
    column = offset - (source.rfind(b"\n", 0, offset) + 1) + 1
    return line, column


@dataclass
class Element:
    """One element of a command: a parameter name, or an argument value."""
    node: ts.Node
    text: str
    is_parameter: bool
    attached: bool = False  # -Name:value


@dataclass
class Command:
    node: ts.Node
    name: str
    elements: list[Element]
    invoked_by_operator: bool


def _command(node: ts.Node, source: bytes) -> Command:
    name_node = node.child_by_field_name("command_name")
    if name_node is None:
        name_node = next((c for c in node.children if c.type in ("command_name", "command_name_expr")), None)
    name = _text(name_node, source) if name_node is not None else ""
    elements: list[Element] = []
    body = next((c for c in node.children if c.type == "command_elements"), None)
    attach = False
    for child in body.children if body else []:
        if child.type == "command_argument_sep":
            attach = _text(child, source).strip() == ":"
            continue
        if child.type == "redirection":
            continue
        text = _text(child, source)
        if child.type == "generic_token" and text.startswith(",") and elements:
            elements[-1].text += text  # a bare comma list: x,y
            continue
        elements.append(Element(child, text, child.type == "command_parameter", attach))
        attach = False
    return Command(node, name, elements, any(c.type == "command_invokation_operator" for c in node.children))


@dataclass
class Binding:
    """What the linter could tell about which parameter received what."""
    named: dict[str, tuple[Parameter, Element, Element | None]]  # lower name -> (param, -Name, value)
    unknown: list[tuple[Element, str]]                           # (-Name, why)
    positional: list[Element]


def _resolve(cmdlet: Cmdlet, written: str) -> tuple[Parameter | None, str]:
    """The parameter ``-written`` binds to: exact name, alias, or unique prefix (about_Parameters)."""
    key = written.lower()
    if key in cmdlet.parameters:
        return cmdlet.parameters[key], ""
    for parameter in cmdlet.parameters.values():
        if key in parameter.aliases:
            return parameter, ""
    common = {**COMMON_PARAMETERS, **(SHOULD_PROCESS_PARAMETERS if cmdlet.supports_should_process else {})}
    for name, aliases in common.items():
        if key == name or key in aliases:
            return Parameter(name=name, type="common", sets=cmdlet.parameter_sets), ""
    matches = [p for p in cmdlet.parameters.values() if p.name.lower().startswith(key)]
    matches += [Parameter(name=n, type="common", sets=cmdlet.parameter_sets) for n in common if n.startswith(key)]
    if len(matches) == 1:
        return matches[0], ""
    if matches:
        return None, f"-{written} is ambiguous: {', '.join('-' + m.name for m in matches)}"
    return None, f"{cmdlet.name} has no parameter -{written}"


def bind(cmdlet: Cmdlet, command: Command) -> Binding:
    binding = Binding({}, [], [])
    elements = command.elements
    i = 0
    while i < len(elements):
        element = elements[i]
        if element.is_parameter:
            parameter, why = _resolve(cmdlet, element.text.lstrip("-"))
            value = None
            takes_value = parameter is None or not (parameter.is_switch or parameter.type == "common"
                                                      and parameter.name in ("verbose", "debug", "whatif", "confirm"))
            if i + 1 < len(elements) and elements[i + 1].attached:
                value, i = elements[i + 1], i + 1
            elif takes_value and i + 1 < len(elements) and not elements[i + 1].is_parameter:
                value, i = elements[i + 1], i + 1
            if parameter is None:
                binding.unknown.append((element, why))
            else:
                binding.named[parameter.name.lower()] = (parameter, element, value)
        elif not re.fullmatch(r"@\w+", element.text):  # @splat: its keys are not known statically
            binding.positional.append(element)
        i += 1
    return binding


def _argument_value(value: Element | None) -> str | None:
    """A constant argument as text (bare word or quoted string), None when it is computed."""
    if value is None:
        return None
    text = value.text.strip()
    if re.fullmatch(r"'[^']*'", text):
        return text[1:-1]
    if re.fullmatch(r'"[^"$`]*"', text):
        return text[1:-1]
    if re.fullmatch(r"[A-Za-z0-9_.\-]+", text):
        return text
    return None


# ---------------------------------------------------------------------------------------------
# The rules


class Linter:
    def __init__(self, path: str, source: bytes, profile: str = "5.1", catalogue: dict[str, Cmdlet] | None = None,
                 known_functions: Iterable[str] = ()) -> None:
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
        self.path = path
        self.source = source
        self.profile = _version(profile)
        self.catalogue = load_catalogue() if catalogue is None else catalogue
        self.tree = _PARSER.parse(source)
        self.masked = _masked(source, self.tree.root_node)
        self.findings: list[Finding] = []
        self.functions = {name.lower() for name in known_functions} | self._defined_functions()
        self.commands = [_command(node, source) for node in _walk(self.tree.root_node) if node.type == "command"]

    # -- plumbing -----------------------------------------------------------------------------
    def report(self, node_or_offset: ts.Node | int, code: str, message: str) -> None:
        offset = node_or_offset if isinstance(node_or_offset, int) else node_or_offset.start_byte
        line, column = _position(self.source, offset)
        self.findings.append(Finding(self.path, line, column, code, message))

    def _defined_functions(self) -> set[str]:
        names = set()
        for node in _walk(self.tree.root_node):
            if node.type == "function_statement":
                name = next((c for c in node.children if c.type == "function_name"), None)
                if name is not None:
                    names.add(_text(name, self.source).lower())
        return names

    def cmdlet(self, command: Command) -> Cmdlet | None:
        name = ALIASES.get(command.name.lower(), command.name)
        return self.catalogue.get(name.lower())

    def run(self) -> list[Finding]:
        self.rule_newer_syntax()
        errors = self._unexplained_errors()
        if errors:
            raise ParseFailure("; ".join(errors))
        self.rule_commands()
        self.rule_convertfrom_json_pipeline()
        self.rule_mixed_append_encodings()
        self.rule_invoke_expression()
        if self.profile < (3, 0):
            self.rule_version_3_syntax()
        self.lint_embedded_scripts()
        return self._apply_suppressions()

    def lint_embedded_scripts(self) -> None:
        """A here-string marked ``# ps-lint: script`` on the line above holds a script that the module
        writes out and runs (a detached worker): lint it as a file of its own."""
        marked = {_position(self.source, n.start_byte)[0] + 1 for n in _walk(self.tree.root_node)
                  if n.type == "comment" and _SCRIPT_MARKER.search(_text(n, self.source))}
        for node in _walk(self.tree.root_node):
            if node.type != "verbatim_here_string_characters":
                continue
            line, _ = _position(self.source, node.start_byte)
            if line not in marked:
                continue
            text = self.source[node.start_byte:node.end_byte]
            body = text[text.index(b"\n") + 1:text.rindex(b"\n") + 1]
            for finding in Linter(self.path, body, ".".join(map(str, self.profile)), self.catalogue).run():
                self.findings.append(Finding(self.path, finding.line + line, finding.column, finding.code,
                                             f"{finding.message} (in the embedded script)"))

    def _unexplained_errors(self) -> list[str]:
        explained = {f.line for f in self.findings}
        errors = []
        for node in _walk(self.tree.root_node):
            if node.type == "ERROR" or node.is_missing:
                first, _ = _position(self.source, node.start_byte)
                last, _ = _position(self.source, max(node.start_byte, node.end_byte - 1))
                if not explained & set(range(first, last + 1)):
                    errors.append(f"{first}: cannot parse {_text(node, self.source)[:40]!r}")
        return errors

    # -- PS1xx: syntax Windows PowerShell 5.1 does not have --------------------------------------
    _TOKEN_RULES = (
        (re.compile(rb"\?\?=?"), "PS101", "'{}' is PowerShell 7 syntax; test for $null with if"),
        (re.compile(rb"(?<=[\w})\]])\?(?:\.|\[)"), "PS102", "'{}' is PowerShell 7 syntax; test for $null first"),
        (re.compile(rb"&&|\|\|"), "PS103",
         "'{}' is a PowerShell 7 pipeline chain; use if ($?) or try/catch with -ErrorAction Stop"),
        (re.compile(rb"(?<=[\w)\]}'\"])[ \t]+\?[ \t]+(?![{(])[^\n{}]*?[ \t]:[ \t]"), "PS104",
         "'{}' is a PowerShell 7 ternary; use if/else"),
    )

    def rule_newer_syntax(self) -> None:
        taken: set[int] = set()
        for pattern, code, message in self._TOKEN_RULES:
            for match in pattern.finditer(self.masked):
                if match.start() in taken:
                    continue
                taken.update(range(match.start(), match.end()))
                token = match.group().decode().strip()
                self.report(match.start() + len(match.group()) - len(match.group().lstrip()), code,
                            message.format(token if code != "PS104" else "? :"))
        for match in re.finditer(rb"(?<![\w-])clean\s*\{", self.masked):
            self.report(match.start(), "PS105", "a 'clean' block is PowerShell 7.3 syntax; use end {} or finally")

    def rule_version_3_syntax(self) -> None:
        for node in _walk(self.tree.root_node):
            text = _text(node, self.source)
            if node.type == "type_literal" and re.fullmatch(r"\[\s*(ordered|pscustomobject)\s*\]", text, re.I):
                self.report(node, "PS203", f"{text} needs PowerShell 3.0")
            elif node.type in ("-in", "-notin", "-shl", "-shr"):
                self.report(node, "PS203", f"{node.type} needs PowerShell 3.0")
            elif node.type == "variable" and text.lower() == "$psitem":
                self.report(node, "PS203", "$PSItem needs PowerShell 3.0; use $_")

    # -- PS2xx / PS3xx: cmdlets and parameters --------------------------------------------------
    def rule_commands(self) -> None:
        profile = ".".join(map(str, self.profile))
        for command in self.commands:
            name = command.name
            if command.invoked_by_operator or not name or name.startswith(("$", ".", "&", "(")):
                continue  # & $variable / & 'path': the target is not a cmdlet name
            if name.lower() in self.functions or name.lower() in _KEYWORDS and not self.cmdlet(command):
                continue
            if re.search(r"[\\/]|\.(exe|cmd|bat|com|ps1)$", name, re.I):
                continue  # a native program or script path
            cmdlet = self.cmdlet(command)
            if cmdlet is None:
                self.report(command.node, "PS303",
                            f"{name} is not in hacking/ps_catalogue (add it from its Microsoft Learn page) "
                            "and is not a function of this script")
                continue
            if _version(cmdlet.since) > self.profile:
                self.report(command.node, "PS201",
                            f"{cmdlet.name} exists from PowerShell {cmdlet.since}, not in {profile} ({cmdlet.url})")
                continue
            binding = bind(cmdlet, command)
            for element, why in binding.unknown:
                self.report(element.node, "PS301", why)
            for parameter, element, value in binding.named.values():
                if _version(parameter.since) > self.profile:
                    self.report(element.node, "PS202",
                                f"{cmdlet.name} -{parameter.name} exists from PowerShell {parameter.since}, not in {profile}")
                    continue
                constant = _argument_value(value)
                if constant is not None and parameter.values:
                    allowed = {v.lower() for v in parameter.values}
                    since = parameter.values_since.get(constant.lower())
                    if since and _version(since) > self.profile:
                        self.report(value.node, "PS202", f"{cmdlet.name} -{parameter.name} {constant} exists from "
                                    f"PowerShell {since}, not in {profile}")
                    elif constant.lower() not in allowed and not since:
                        self.report(value.node, "PS301", f"{cmdlet.name} -{parameter.name} accepts "
                                    f"{', '.join(parameter.values)}, not {constant}")
            self._check_parameter_sets(cmdlet, command, binding)

    def _check_parameter_sets(self, cmdlet: Cmdlet, command: Command, binding: Binding) -> None:
        specific = [p for p, _, _ in binding.named.values() if p.type != "common"]
        possible = set(cmdlet.parameter_sets)
        for parameter in specific:
            possible &= set(parameter.sets)
        if specific and not possible:
            names = ", ".join(f"-{p.name}" for p in specific)
            self.report(command.node, "PS302", f"{cmdlet.name}: no parameter set allows {names} together "
                        f"(sets: {', '.join(cmdlet.parameter_sets)})")

    # -- PS4xx: Windows PowerShell 5.1 behaviour ------------------------------------------------
    def _pipelines(self) -> Iterator[list[Command]]:
        by_node = {command.node.id: command for command in self.commands}
        for node in _walk(self.tree.root_node):
            if node.type == "pipeline_chain":
                stages = [by_node[c.id] for c in node.children if c.id in by_node]
                if len(stages) > 1:
                    yield stages

    def rule_convertfrom_json_pipeline(self) -> None:
        for stages in self._pipelines():
            for stage, following in zip(stages, stages[1:]):
                cmdlet = self.cmdlet(stage)
                if cmdlet is not None and cmdlet.name == "ConvertFrom-Json":
                    self.report(following.node, "PS401",
                                f"ConvertFrom-Json output piped straight into {following.name}: in 5.1 a JSON array "
                                "arrives as one object; assign it first or wrap it: (... | ConvertFrom-Json) | ...")

    def rule_mixed_append_encodings(self) -> None:
        appended: dict[str, ts.Node] = {}
        for node in _walk(self.tree.root_node):
            if node.type == "redirection":
                operator = next((c for c in node.children if c.type == "file_redirection_operator"), None)
                target = next((c for c in node.children if c.type == "redirected_file_name"), None)
                if operator is not None and target is not None and _text(operator, self.source).endswith(">>"):
                    appended.setdefault(_text(target, self.source).strip().lower(), node)
        if not appended:
            return
        for command in self.commands:
            cmdlet = self.cmdlet(command)
            if cmdlet is None or cmdlet.name not in ("Add-Content", "Set-Content", "Out-File"):
                continue
            binding = bind(cmdlet, command)
            encoding = _argument_value(binding.named["encoding"][2]) if "encoding" in binding.named else None
            if cmdlet.name == "Out-File" and "encoding" not in binding.named:
                continue  # Out-File without -Encoding is what >> runs
            if encoding is not None and encoding.lower() == "unicode":
                continue  # the UTF-16LE that >> writes in 5.1
            target = next((value for key in ("path", "literalpath", "filepath")
                           if key in binding.named for _, _, value in [binding.named[key]]), None)
            if target is None and binding.positional:
                target = binding.positional[0]
            if target is not None and target.text.strip().lower() in appended:
                line, _ = _position(self.source, appended[target.text.strip().lower()].start_byte)
                self.report(command.node, "PS402", f"{target.text.strip()} is written by {cmdlet.name} here and "
                            f"appended to with >> (UTF-16LE in 5.1) on line {line}: write it with -Encoding Unicode, or "
                            "append with Out-File -Append -Encoding <the same encoding>")

    def rule_invoke_expression(self) -> None:
        for command in self.commands:
            cmdlet = self.cmdlet(command)
            if cmdlet is None or cmdlet.name != "Invoke-Expression":
                continue
            binding = bind(cmdlet, command)
            values = [v for _, _, v in binding.named.values() if v is not None] + binding.positional
            piped = command.node.prev_sibling is not None and command.node.prev_sibling.type == "|"
            built = piped or not values or any(_argument_value(v) is None and not re.fullmatch(r"'[^']*'", v.text)
                                               for v in values)
            if built:
                self.report(command.node, "PS403", "Invoke-Expression on a computed string: call the command "
                            "directly (& $command @arguments) instead")

    # -- suppressions -------------------------------------------------------------------------
    def _apply_suppressions(self) -> list[Finding]:
        lines = self.source.decode("utf-8", "replace").splitlines()
        by_line: dict[int, tuple[set[str], int]] = {}
        problems: list[Finding] = []
        for node in _walk(self.tree.root_node):
            if node.type != "comment":
                continue
            match = _SUPPRESSION.search(_text(node, self.source))
            if not match:
                continue
            line, column = _position(self.source, node.start_byte)
            codes = {c.strip() for c in match.group(1).split(",") if c.strip()}
            if not match.group(2) or len(match.group(2).strip()) < 3:
                problems.append(Finding(self.path, line, column, "PS901",
                                        f"suppression of {', '.join(sorted(codes))} without a reason"))
                continue
            unknown = codes - set(RULES)
            if unknown:
                problems.append(Finding(self.path, line, column, "PS901", f"unknown code(s) {', '.join(sorted(unknown))}"))
            comment_only = lines[line - 1].lstrip().startswith("#")
            target = line + 1 if comment_only else line
            by_line[target] = (codes, line)
        used: set[int] = set()
        kept = []
        for finding in self.findings:
            codes, line = by_line.get(finding.line, (set(), 0))
            if finding.code in codes:
                used.add(line)
            else:
                kept.append(finding)
        for codes, line in by_line.values():
            if line not in used:
                problems.append(Finding(self.path, line, 1, "PS902",
                                        f"suppression of {', '.join(sorted(codes))} matches no finding; remove it"))
        return sorted(kept + problems)


# ---------------------------------------------------------------------------------------------
# Files of an Ansible collection


def required_module_utils(path: Path, source: bytes) -> list[Path]:
    """The .psm1 files a module loads with ``#AnsibleRequires -PowerShell`` (relative or this collection's)."""
    found = []
    for match in re.finditer(rb"^#AnsibleRequires\s+-PowerShell\s+(\S+)", source, re.M | re.I):
        name = match.group(1).decode()
        if name.startswith("."):
            dots = len(name) - len(name.lstrip("."))
            base = path.parent
            for _ in range(dots - 1):
                base = base.parent
            candidate = base.joinpath(*name.lstrip(".").split(".")).with_suffix(".psm1")
        else:
            parts = name.split(".")
            if "plugins" not in parts:
                continue
            root = next((p for p in path.resolve().parents if (p / "galaxy.yml").exists()), None)
            if root is None:
                continue
            candidate = root.joinpath(*parts[parts.index("plugins"):]).with_suffix(".psm1")
        if candidate.is_file():
            found.append(candidate)
    return found


def exported_functions(psm1: Path) -> set[str]:
    source = psm1.read_bytes()
    tree = _PARSER.parse(source)
    return {_text(c, source).lower() for node in _walk(tree.root_node) if node.type == "function_statement"
            for c in node.children if c.type == "function_name"}


def lint_source(path: str, source: bytes, profile: str = "5.1", known_functions: Iterable[str] = ()) -> list[Finding]:
    """Findings of one script; raises :class:`ParseFailure` when it does not parse."""
    return Linter(path, source, profile, known_functions=known_functions).run()


def lint_file(path: Path, profile: str = "5.1") -> list[Finding]:
    try:
        source = path.read_bytes()
    except OSError as err:
        raise ParseFailure(f"cannot read: {err.strerror}") from None
    functions: set[str] = set()
    for psm1 in required_module_utils(path, source):
        functions |= exported_functions(psm1)
    return lint_source(str(path), source, profile, functions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=PROFILES, default="5.1",
                        help="the PowerShell version the scripts must run on (default 5.1)")
    parser.add_argument("--rules", action="store_true", help="list the rules with their reasons and pages")
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args(argv)
    if args.rules:
        for rule in RULES.values():
            print(f"{rule.code} {rule.why}\n      {rule.url}")
        return 0
    status = 0
    for path in args.files:
        try:
            findings = lint_file(path, args.profile)
        except ParseFailure as err:
            print(f"{path}:1:1: PARSE {err}", file=sys.stderr)
            status = 2
            continue
        for finding in findings:
            print(finding)
        if findings and status == 0:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
