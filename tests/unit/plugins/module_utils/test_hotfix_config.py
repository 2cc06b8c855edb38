"""Rules added to a base DefaultHotfixConfig.xml in its own shape (module_utils/_hotfix_config.py)."""

from __future__ import annotations

import copy

import pytest
from lxml import etree

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._hotfix_config import (
    BUILTIN_BASE,
    add_rules,
    read_rules,
    rules_from_options,
    schema_errors,
)
from tests.unit import hotfix_bases

FIRMWARE = {
    "name": "FirmwareUpdate",
    "always_reboot": True,
    "template": {"path": "$update$", "parameters": "/s /norestart"},
    "exit_conditions": {"success": [0], "success_reboot_required": [3010], "not_applicable": ["0x80240017"]},
}
MSU = {"name": "MSU", "template": {"path": "wusa.exe", "parameters": "$update$ /quiet"}, "exit_conditions": {"success": [0]}}


def rules(folder=(FIRMWARE,), extension=()):
    errors: list[InputError] = []
    found = rules_from_options(list(folder), list(extension), errors)
    assert errors == []
    return found


def canonical(element) -> bytes:
    return etree.tostring(element, method="c14n")


def without_added(xml: bytes, names: set[str]) -> bytes:
    """The document with the rules named ``names`` and an added empty <FolderRules> removed."""
    root = etree.fromstring(xml)
    for element in list(root.iter()):
        if isinstance(element.tag, str) and element.get("name", element.get("Name")) in names:
            element.getparent().remove(element)
    for element in list(root.iter()):
        if isinstance(element.tag, str) and etree.QName(element).localname == "FolderRules" and len(element) == 0:
            element.getparent().remove(element)
    return canonical(root)


def strip_whitespace(xml: bytes) -> bytes:
    return canonical(etree.fromstring(xml, etree.XMLParser(remove_blank_text=True)))


BASES = {
    "plain": (hotfix_bases.PLAIN, None, ("ExitCode", "Code")),
    "namespaced": (hotfix_bases.NAMESPACED, hotfix_bases.NAMESPACE, ("ExitCode", None)),
    "prefixed": (hotfix_bases.PREFIXED, "urn:example:hotfix", ("Code", "value")),
    "builtin": (BUILTIN_BASE, None, ("ExitCode", "Code")),
}


@pytest.mark.parametrize("name", sorted(BASES))
def test_the_base_stays_intact_and_the_new_folder_rule_follows_its_shape(name):
    base, namespace, (code_element, code_attribute) = BASES[name]
    xml = add_rules(base, rules(), name)
    # Everything of the base is kept, comments included (canonical XML equal, whitespace aside).
    assert strip_whitespace(without_added(xml, {"FirmwareUpdate"})) == strip_whitespace(base)
    root = etree.fromstring(xml)
    assert etree.QName(root).namespace == namespace
    q = (lambda local: f"{{{namespace}}}{local}") if namespace else (lambda local: local)
    (folder,) = [e for e in root.iter(q("Folder")) if e.get("name", e.get("Name")) == "FirmwareUpdate"]
    assert folder.getparent().tag == q("FolderRules") and folder.getparent().getparent() is root
    prototype = next(root.iter(q("Extension")))
    # Same children in the same order, attribute names in the base's case.
    assert [c.tag for c in folder if isinstance(c.tag, str)] == [c.tag for c in prototype if isinstance(c.tag, str)]
    assert sorted(folder.attrib) == sorted([next(iter(prototype.attrib)), "alwaysReboot"])
    template = folder.find(q("Template"))
    assert [a.lower() for a in template.attrib] == [a.lower() for a in prototype.find(q("Template")).attrib]
    assert sorted(template.attrib) == sorted(prototype.find(q("Template")).attrib)
    codes = folder.find(q("ExitConditions")).find(q("NotApplicable"))
    (code,) = list(codes)
    assert code.tag == q(code_element)
    assert (code.get(code_attribute) if code_attribute else code.text) == "-2145124329"
    assert read_rules(xml, name)[1][-1] == "FirmwareUpdate" and read_rules(xml, name)[2] == []


@pytest.mark.parametrize(
    ("base", "schema"),
    [(hotfix_bases.PLAIN, hotfix_bases.schema()), (hotfix_bases.NAMESPACED, hotfix_bases.schema(hotfix_bases.NAMESPACE, "text"))],
)
def test_the_result_validates_against_the_bases_schema(base, schema):
    assert schema_errors(base, schema, "base") == []
    assert schema_errors(add_rules(base, rules(extension=[MSU]), "base"), schema, "new") == []


def test_an_element_outside_the_schemas_namespace_is_an_error_not_a_warning():
    errors = schema_errors(hotfix_bases.PLAIN, hotfix_bases.schema(hotfix_bases.NAMESPACE, "text"), "plain")
    assert errors and "No matching global declaration" in errors[0]


def test_the_new_rule_is_indented_like_the_base():
    xml = add_rules(hotfix_bases.NAMESPACED, rules(), "base").decode()
    assert '\n    <FolderRules>\n        <Folder name="FirmwareUpdate" alwaysReboot="true">\n            <Template' in xml
    assert "</FolderRules>\n    <Comment>" in xml


def test_an_extension_rule_replaces_the_bases_rule_in_place_and_others_are_appended():
    exe = {**MSU, "name": "EXE"}
    xml = add_rules(hotfix_bases.PLAIN, rules(folder=(), extension=[MSU, exe]), "base")
    extensions, folders, problems = read_rules(xml, "x")
    assert extensions == ["MSI", "MSU", "MSP", "EXE"] and folders == [] and problems == []
    assert b'<Template path="wusa.exe" parameters="$update$ /quiet"/>' in xml
    assert b"2359302" not in xml  # the base's MSU rule was replaced as a whole


def test_an_existing_folder_rule_of_the_same_name_is_replaced():
    bios = {**FIRMWARE, "name": "bios", "template": {"path": "$update$", "parameters": "/quiet"}}
    xml = add_rules(hotfix_bases.PREFIXED, rules(folder=[bios]), "base")
    assert read_rules(xml, "x")[1] == ["bios"] and b'Parameters="/quiet"' in xml and b'Parameters="/s"' not in xml


def test_without_rules_the_base_is_used_byte_for_byte():
    assert add_rules(hotfix_bases.NAMESPACED, [], "base") == hotfix_bases.NAMESPACED


def test_adding_twice_gives_the_same_bytes():
    once = add_rules(hotfix_bases.PLAIN, rules(), "base")
    assert add_rules(hotfix_bases.PLAIN, rules(), "base") == once


@pytest.mark.parametrize(
    ("base", "fragment"),
    [
        (b"<DefaultRules><FolderRules/></DefaultRules>", "has no <ExtensionRules><Extension>"),
        (b"<DefaultRules><ExtensionRules><Extension name='MSU'><Template path='x'/><ExitConditions><Success/>"
         b"</ExitConditions></Extension></ExtensionRules></DefaultRules>", "does not show how an exit code is written"),
        (b"<DefaultRules><ExtensionRules><Extension name='MSU'><Template path='x'/><ExitConditions><Success><C>zero</C>"
         b"</Success></ExitConditions></Extension></ExtensionRules></DefaultRules>", "holds no exit code"),
        (b'<!DOCTYPE r [<!ENTITY a "b">]><DefaultRules/>', "DTD"),
        (b"<DefaultRules>", "not well-formed"),
        (b"x" * (1024 * 1024 + 1), "far smaller"),
    ],
)
def test_a_base_the_module_cannot_follow_is_refused_with_the_reason(base, fragment):
    with pytest.raises(InputError) as caught:
        add_rules(base, rules(), "base.xml")
    assert caught.value.field == "base.xml" and fragment in caught.value.message


def test_entities_are_never_expanded():
    xml = b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><DefaultRules>&x;</DefaultRules>'
    with pytest.raises(InputError, match="DTD"):
        read_rules(xml, "x")


@pytest.mark.parametrize(
    ("value", "expected"), [(0, 0), ("0x80240017", -2145124329), (0x80240017, -2145124329), ("3010", 3010), (-1, -1)]
)
def test_exit_codes_are_written_in_signed_32_bit_form(value, expected):
    rule = rules(folder=[{**FIRMWARE, "exit_conditions": {"success": [value]}}])[0]
    assert rule.conditions == (("Success", (expected,)),)


@pytest.mark.parametrize(
    ("rule", "field", "fragment"),
    [
        ({**FIRMWARE, "name": "a/b"}, "folder_rules[0].name", "separators"),
        ({**FIRMWARE, "template": {"path": "fw.exe", "parameters": "/s"}}, "folder_rules[0].template.parameters", "$update$"),
        ({**FIRMWARE, "template": {"path": "$update$\t"}}, "folder_rules[0].template.path", "control characters"),
        ({**FIRMWARE, "exit_conditions": {"not_applicable": [2]}}, "folder_rules[0].exit_conditions.success", "is required"),
        ({**FIRMWARE, "exit_conditions": {"success": [0], "not_applicable": [0]}}, "folder_rules[0].exit_conditions.not_applicable", "one set only"),
        ({**FIRMWARE, "exit_conditions": {"success": ["zero"]}}, "folder_rules[0].exit_conditions.success[0]", "not an exit code"),
        ({**FIRMWARE, "exit_conditions": {"success": [2**32]}}, "folder_rules[0].exit_conditions.success[0]", "not an exit code"),
    ],
)
def test_bad_folder_rules_name_the_field(rule, field, fragment):
    errors: list[InputError] = []
    assert rules_from_options([rule], [], errors) == []
    assert [e.field for e in errors] == [field] and fragment in errors[0].message


def test_every_bad_rule_is_reported_at_once():
    errors: list[InputError] = []
    bad_extension = {**MSU, "name": ".msu"}
    rules_from_options([{**FIRMWARE, "name": "a/b"}, FIRMWARE, copy.deepcopy(FIRMWARE)], [bad_extension], errors)
    assert [e.field for e in errors] == ["folder_rules[0].name", "folder_rules[2].name", "extension_rules[0].name"]


def test_read_rules_reports_a_rule_without_success():
    xml = hotfix_bases.PLAIN.replace(b'<Success>\n          <ExitCode Code="0"/>\n        </Success>', b"", 1)
    extensions, _, problems = read_rules(xml, "x")
    assert extensions == ["MSI", "MSU", "MSP"] and problems == ["<Extension name='MSI'> has no <Success> exit code, which the plug-in requires"]
