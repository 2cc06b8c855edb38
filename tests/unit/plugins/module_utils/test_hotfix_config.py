"""DefaultHotfixConfig.xml model of module_utils/_hotfix_config.py: YAML, render, parse, merge, schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.winfleet.updates.plugins.module_utils import _hotfix_config as hc
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._hotfix_layout import validate_folder_name
from ansible_collections.winfleet.updates.plugins.module_utils._hotfix_config import (
    DEFAULT_EXTENSION_RULES,
    SCHEMA_PATH,
    ExitConditions,
    FolderRule,
    HotfixConfig,
    Template,
    from_yaml_data,
    merge,
    parse,
    render,
    validate,
)

# The issue's example; docs/hotfix_root.md shows exactly this rendering.
FIRMWARE_RULE = {
    "name": "FirmwareUpdate",
    "always_reboot": True,
    "template": {"path": "$update$", "parameters": "/s /norestart"},
    "exit_conditions": {"success": [0], "success_reboot_required": [3010], "not_applicable": [2]},
}

EXPECTED_FOLDER_RULES_XML = """\
  <FolderRules>
    <Folder name="FirmwareUpdate" alwaysReboot="true">
      <Template path="$update$" parameters="/s /norestart"/>
      <ExitConditions>
        <Success>
          <ExitCode Code="0"/>
        </Success>
        <Success_RebootRequired>
          <ExitCode Code="3010"/>
        </Success_RebootRequired>
        <NotApplicable>
          <ExitCode Code="2"/>
        </NotApplicable>
      </ExitConditions>
    </Folder>
  </FolderRules>
</DefaultRules>
"""

EXPECTED_MSU_XML = """\
    <Extension name="MSU">
      <Template path="%systemroot%\\System32\\wusa.exe" parameters="$update$ /quiet /norestart"/>
      <ExitConditions>
        <Success>
          <ExitCode Code="0"/>
        </Success>
        <Success_RebootRequired>
          <ExitCode Code="3010"/>
          <ExitCode Code="1641"/>
        </Success_RebootRequired>
        <AlreadyInstalled>
          <ExitCode Code="2359302"/>
        </AlreadyInstalled>
        <NotApplicable>
          <ExitCode Code="-2145124329"/>
        </NotApplicable>
      </ExitConditions>
    </Extension>
"""


def example_config() -> HotfixConfig:
    return from_yaml_data({"cau_hotfix_folder_rules": [FIRMWARE_RULE]})


def rule(name: str = "FW", **conditions: list[int]) -> dict:
    return {
        "name": name,
        "template": {"path": "$update$", "parameters": "/s"},
        "exit_conditions": conditions or {"success": [0]},
    }


# --------------------------------------------------------------------------------------------
# From YAML and render
# --------------------------------------------------------------------------------------------


def test_issue_example_renders_the_documented_structure():
    xml = render(example_config()).decode("utf-8")
    assert xml.startswith('<?xml version="1.0" encoding="utf-8"?>\n<DefaultRules>\n  <ExtensionRules>\n')
    assert xml.endswith(EXPECTED_FOLDER_RULES_XML)
    assert EXPECTED_MSU_XML in xml
    # MSI, MSU, MSP in the documented order.
    assert xml.index('name="MSI"') < xml.index('name="MSU"') < xml.index('name="MSP"')


def test_docs_example_is_what_render_produces():
    """docs/hotfix_root.md shows the XML for the issue's YAML; keep the two identical."""
    docs = (Path(__file__).resolve().parents[4] / "docs" / "hotfix_root.md").read_text(encoding="utf-8")
    shown = docs.split("```xml\n", 1)[1].split("```", 1)[0]
    assert shown == render(example_config()).decode("utf-8")


def test_render_is_deterministic_and_round_trips():
    config = example_config()
    assert render(config) == render(example_config())
    assert parse(render(config)) == config
    assert validate(render(config)) == []


def test_defaults_are_valid_and_documented_codes():
    msu = {r.name: r for r in DEFAULT_EXTENSION_RULES}["MSU"]
    assert msu.template.path == "%systemroot%\\System32\\wusa.exe"
    assert msu.exit_conditions.already_installed == (2359302,)
    assert msu.exit_conditions.not_applicable == (-2145124329,)
    assert validate(render(HotfixConfig())) == []


def test_user_extension_rule_replaces_the_default_in_place():
    config = from_yaml_data(
        {
            "cau_hotfix_extension_rules": [
                {
                    "name": ".msu",
                    "template": {"path": "C:\\tools\\wusa.exe", "parameters": "$update$"},
                    "exit_conditions": {"success": 0},
                },
                {
                    "name": "exe",
                    "template": {"path": "$update$", "parameters": "/q"},
                    "exit_conditions": {"success": [0]},
                },
            ]
        }
    )
    assert config.extension_names == ("MSI", "MSU", "MSP", "EXE")
    assert config.extension_rules[1].template.path == "C:\\tools\\wusa.exe"


def test_without_defaults_only_user_rules():
    config = from_yaml_data({"cau_hotfix_folder_rules": [rule()]}, defaults=False)
    assert config.extension_rules == ()
    assert [r.name for r in config.folder_rules] == ["FW"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, (0,)),
        ([0, "3010"], (0, 3010)),
        ("0x80240017", (-2145124329,)),
        (2149842967, (-2145124329,)),
        (["-2145124329"], (-2145124329,)),
    ],
)
def test_exit_codes_from_yaml_are_normalised_to_signed_32_bit(value, expected):
    config = from_yaml_data({"cau_hotfix_folder_rules": [rule(success=value)]})
    assert config.folder_rules[0].exit_conditions.success == expected


@pytest.mark.parametrize("value", [True, "yes", "True", "on"])
def test_always_reboot_accepts_yaml_and_survey_booleans(value):
    data = dict(rule(), always_reboot=value)
    assert from_yaml_data({"cau_hotfix_folder_rules": [data]}).folder_rules[0].always_reboot is True


R0 = "cau_hotfix_folder_rules[0]"


@pytest.mark.parametrize(
    ("rules", "field", "fragment"),
    [
        ([rule(success_reboot_required=[3010])], f"{R0}.exit_conditions.success", "required"),
        ([rule(success=[])], f"{R0}.exit_conditions.success", "at least one"),
        ([rule(success=[0], not_applicable=[0])], f"{R0}.exit_conditions.not_applicable", "also in success"),
        (
            [rule(success=[0, 3010], success_reboot_required=[3010])],
            f"{R0}.exit_conditions.success_reboot_required",
            "one meaning",
        ),
        ([rule(success=[0, 0])], f"{R0}.exit_conditions.success", "listed twice"),
        ([rule(success=["abc"])], f"{R0}.exit_conditions.success[0]", "not an integer"),
        ([rule(success=[True])], f"{R0}.exit_conditions.success[0]", "not an exit code"),
        ([rule(success=[2**32])], f"{R0}.exit_conditions.success", "signed 32-bit"),
        ([rule(success=[-(2**31) - 1])], f"{R0}.exit_conditions.success", "signed 32-bit"),
        (
            [dict(rule(), exit_conditions={"success": [0], "sucess_reboot": [1]})],
            f"{R0}.exit_conditions",
            "unknown keys",
        ),
        ([dict(rule(), exit_condition={"success": [0]})], R0, "unknown keys"),
        ([{"name": "FW", "template": {"path": "$update$"}}], f"{R0}.exit_conditions", "required"),
        ([dict(rule(), always_reboot="maybe")], f"{R0}.always_reboot", "true or false"),
        (
            [dict(rule(), template={"path": "fw.exe", "parameters": "/s"})],
            f"{R0}.template.parameters",
            "$update$",
        ),
        ([dict(rule(), template={"path": "$UPDATE$"})], f"{R0}.template.parameters", "lower case"),
        ([dict(rule(), template={"path": ""})], f"{R0}.template.path", "empty"),
        ([dict(rule(), template={"parameters": "$update$"})], f"{R0}.template.path", "required"),
        ([dict(rule(), template={"path": "$update$\n/x"})], f"{R0}.template.path", "control characters"),
        (
            [dict(rule(), template={"path": "$update$", "parameters": "/s\x00"})],
            f"{R0}.template.parameters",
            "control",
        ),
        ([dict(rule(), template={"path": "$update$", "args": "/s"})], f"{R0}.template", "unknown keys"),
        ([rule(name="..")], f"{R0}.name", "traversal"),
        ([rule(name="a\\b")], f"{R0}.name", "separators"),
        ([rule(name="fw:stream")], f"{R0}.name", "stream"),
        ([rule(name="CON")], f"{R0}.name", "reserved device"),
        ([rule(name="lpt1.fw")], f"{R0}.name", "reserved device"),
        ([rule(name="fw.")], f"{R0}.name", "dot or space"),
        ([rule(name="CAUHotfix_All")], f"{R0}.name", "all-nodes"),
        ([rule(name="")], f"{R0}.name", "non-empty"),
        ([rule(name="FW"), rule(name="fw")], "cau_hotfix_folder_rules[1].name", "case-insensitive"),
        ("FW", "cau_hotfix_folder_rules", "list"),
    ],
)
def test_bad_folder_rules_name_the_field(rules, field, fragment):
    with pytest.raises(InputError) as caught:
        from_yaml_data({"cau_hotfix_folder_rules": rules})
    assert caught.value.field == field
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        (
            [{"name": "M.SU", "template": {"path": "$update$"}, "exit_conditions": {"success": [0]}}],
            "cau_hotfix_extension_rules[0].name",
        ),
        (
            [{"name": "EXE", "template": {"path": "$update$"}, "exit_conditions": {"success": [0]}}] * 2,
            "cau_hotfix_extension_rules[1].name",
        ),
    ],
)
def test_bad_extension_rules_name_the_field(rules, field):
    with pytest.raises(InputError) as caught:
        from_yaml_data({"cau_hotfix_extension_rules": rules})
    assert caught.value.field == field


def test_model_objects_validate_when_built_directly():
    with pytest.raises(InputError, match="success"):
        ExitConditions(success=())
    with pytest.raises(InputError, match="folder_rules"):
        HotfixConfig(folder_rules=(FolderRule("a", Template("$update$"), ExitConditions((0,))),) * 2)
    assert ExitConditions(success=[0, 1]).success == (0, 1)  # lists become tuples


# --------------------------------------------------------------------------------------------
# Parse: errors point into the file
# --------------------------------------------------------------------------------------------

FOLDER = '<Folder name="FW"><Template path="$update$"/><ExitConditions>{}</ExitConditions></Folder>'


def doc(folder_body: str = "<Success><ExitCode Code='0'/></Success>", extra: str = "") -> bytes:
    return (
        f"<DefaultRules><ExtensionRules/><FolderRules>{FOLDER.format(folder_body)}{extra}</FolderRules></DefaultRules>"
    ).encode()


FW_PATH = "DefaultHotfixConfig.xml:/DefaultRules/FolderRules/Folder[@name='FW']"


@pytest.mark.parametrize(
    ("xml", "field", "fragment"),
    [
        (
            doc("<NotApplicable><ExitCode Code='2'/></NotApplicable>"),
            f"{FW_PATH}/ExitConditions",
            "<Success>",
        ),
        (doc("<Success/>"), f"{FW_PATH}/ExitConditions/Success", "no <ExitCode>"),
        (
            doc("<Success><ExitCode Code='x'/></Success>"),
            f"{FW_PATH}/ExitConditions/Success/ExitCode[1]",
            "decimal",
        ),
        (
            doc("<Success><ExitCode code='0'/></Success>"),
            f"{FW_PATH}/ExitConditions/Success/ExitCode[1]",
            'Code="n"',
        ),
        (
            doc("<Success><ExitCode Code='0'/></Success><NotApplicable><ExitCode Code='0'/></NotApplicable>"),
            f"{FW_PATH}/ExitConditions/NotApplicable",
            "also in success",
        ),
        (
            doc("<Success><ExitCode Code='0'/></Success><Success><ExitCode Code='1'/></Success>"),
            f"{FW_PATH}/ExitConditions",
            "exactly one",
        ),
        (doc("<Success><ExitCode Code='0'/></Success>stray"), f"{FW_PATH}/ExitConditions", "unexpected text"),
        (
            doc(extra=FOLDER.replace("FW", "fw").format("<Success><ExitCode Code='0'/></Success>")),
            "DefaultHotfixConfig.xml:/DefaultRules/FolderRules/Folder[2]/@name",
            "case-insensitive",
        ),
        (b"<Rules/>", "DefaultHotfixConfig.xml:/Rules", "<DefaultRules>"),
        (
            b"<DefaultRules><FolderRules><Folder name='CON'><Template path='$update$'/>"
            b"<ExitConditions><Success><ExitCode Code='0'/></Success></ExitConditions></Folder></FolderRules></DefaultRules>",
            "DefaultHotfixConfig.xml:/DefaultRules/FolderRules/Folder[@name='CON']/@name",
            "reserved",
        ),
        (
            b"<DefaultRules><FolderRules><Folder name='FW' alwaysReboot='maybe'><Template path='$update$'/>"
            b"<ExitConditions><Success><ExitCode Code='0'/></Success></ExitConditions></Folder></FolderRules></DefaultRules>",
            FW_PATH,
            "alwaysReboot",
        ),
        (
            b"<DefaultRules><FolderRules><Folder name='FW'><Template path='fw.exe'/>"
            b"<ExitConditions><Success><ExitCode Code='0'/></Success></ExitConditions></Folder></FolderRules></DefaultRules>",
            f"{FW_PATH}/Template/@parameters",
            "$update$",
        ),
        (
            b"<DefaultRules><FolderRules><Folder name='FW'><Template/>"
            b"<ExitConditions><Success><ExitCode Code='0'/></Success></ExitConditions></Folder></FolderRules></DefaultRules>",
            f"{FW_PATH}/Template",
            "path",
        ),
        (
            b"<DefaultRules><FolderRules><Folder name='FW'><Template path='$update$'/></Folder></FolderRules></DefaultRules>",
            FW_PATH,
            "<ExitConditions>",
        ),
    ],
)
def test_parse_errors_point_into_the_file(xml, field, fragment):
    with pytest.raises(InputError) as caught:
        parse(xml)
    assert caught.value.field == field
    assert fragment in caught.value.message


def test_parse_accepts_documented_variants():
    config = parse(
        doc("<Success><ExitCode Code=' +5 '/></Success>").replace(b'name="FW"', b'name="FW" alwaysReboot="1"')
    )
    assert config.folder_rules[0].exit_conditions.success == (5,)
    assert config.folder_rules[0].always_reboot is True
    assert config.extension_rules == ()
    assert parse(b"<DefaultRules><ExtensionRules/></DefaultRules>").folder_rules == ()


# --------------------------------------------------------------------------------------------
# Hand-edited files: nothing is lost
# --------------------------------------------------------------------------------------------

HAND_EDITED = b"""<?xml version="1.0" encoding="utf-8"?>
<!-- maintained by the platform team -->
<DefaultRules xmlns:ops="urn:example:ops" ops:owner="platform">
  <ExtensionRules>
    <!-- tuned for our WSUS-less sites -->
    <Extension name="MSU" ops:ticket="CHG-1">
      <Template path="%systemroot%\\System32\\wusa.exe" parameters="$update$ /quiet /norestart /log:C:\\Logs\\wusa.evt"/>
      <ExitConditions>
        <Success><ExitCode Code="0"/><!-- the only real success --></Success>
        <Success_RebootRequired><ExitCode Code="3010"/></Success_RebootRequired>
      </ExitConditions>
      <ops:Note>keep the log switch</ops:Note>
    </Extension>
  </ExtensionRules>
  <ops:Audit by="alice"/>
  <FolderRules>
    <Folder name="Bios" alwaysReboot="false">
      <Template path="$update$" parameters="-silent"/>
      <ExitConditions>
        <Success><ExitCode Code="0"/></Success>
      </ExitConditions>
    </Folder>
  </FolderRules>
</DefaultRules>
<!-- end -->
"""


def test_hand_edited_file_round_trips_without_loss():
    config = parse(HAND_EDITED)
    out = render(config)
    text = out.decode()
    for kept in (
        "<!-- maintained by the platform team -->",
        'ops:owner="platform"',
        "<!-- tuned for our WSUS-less sites -->",
        'ops:ticket="CHG-1"',
        "<!-- the only real success -->",
        "<ops:Note>keep the log switch</ops:Note>",
        '<ops:Audit by="alice"/>',
        "/log:C:\\Logs\\wusa.evt",
        "<!-- end -->",
    ):
        assert kept in text
    assert parse(out) == config
    assert render(parse(out)) == out
    # the comment before the MSU rule stays before it, the audit element between the containers
    assert text.index("tuned for") < text.index('name="MSU"')
    assert text.index("</ExtensionRules>") < text.index("ops:Audit") < text.index("<FolderRules>")


def test_namespaced_file_keeps_its_namespace():
    xml = HAND_EDITED.replace(b"<DefaultRules ", b'<DefaultRules xmlns="urn:example:hotfix" ')
    config = parse(xml)
    assert config.namespace == "urn:example:hotfix"
    assert [r.name for r in config.folder_rules] == ["Bios"]
    out = render(config)
    assert b'xmlns="urn:example:hotfix"' in out
    assert parse(out) == config


def test_merge_replaces_named_rules_keeps_others_and_extras():
    existing = parse(HAND_EDITED)
    desired = from_yaml_data(
        {"cau_hotfix_folder_rules": [rule("bios", success=[0, 1]), FIRMWARE_RULE]}, defaults=False
    )
    merged = merge(existing, desired)
    assert [r.name for r in merged.folder_rules] == ["bios", "FirmwareUpdate"]
    assert merged.folder_rules[0].exit_conditions.success == (0, 1)
    # the user's MSU rule is kept (desired does not name it); missing defaults are added after it
    assert [r.name for r in merged.extension_rules] == ["MSU", "MSI", "MSP"]
    assert merged.extension_rules[0] == existing.extension_rules[0]
    text = render(merged).decode()
    assert "<!-- maintained by the platform team -->" in text and "<ops:Audit" in text
    # Preserved unknown elements are outside the documented structure: our strict schema says so.
    assert any("Audit" in e for e in validate(render(merged)))
    assert parse(render(merged)) == merged


def test_merge_replaces_a_rule_as_a_whole_and_never_removes():
    existing = parse(HAND_EDITED)
    msu = from_yaml_data(
        {
            "cau_hotfix_extension_rules": [
                {"name": "msu", "template": {"path": "$update$"}, "exit_conditions": {"success": 0}}
            ]
        },
        defaults=False,
    )
    merged = merge(existing, msu, fill_defaults=False)
    assert [r.name for r in merged.extension_rules] == ["MSU"]
    assert not merged.extension_rules[0].extras  # the role owns the rules it declares
    assert [r.name for r in merged.folder_rules] == ["Bios"]
    assert merge(merged, HotfixConfig(extension_rules=()), fill_defaults=False) == merged


# --------------------------------------------------------------------------------------------
# Untrusted input
# --------------------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<DefaultRules><ExtensionRules/><!-- &lol3; --></DefaultRules>"""

XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<DefaultRules><FolderRules><Folder name="&xxe;"/></FolderRules></DefaultRules>"""

XXE_NETWORK = b"""<!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd"><DefaultRules/>"""
PARAMETER_ENTITY = b"""<!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/hostname"> %p;]><DefaultRules/>"""


@pytest.mark.parametrize(
    "xml",
    [
        BILLION_LAUGHS,
        XXE_FILE,
        XXE_NETWORK,
        PARAMETER_ENTITY,
        '<?xml version="1.0" encoding="utf-16"?>\n<!DOCTYPE r [<!ENTITY a "b">]><DefaultRules/>'.encode(
            "utf-16"
        ),
        '<!DOCTYPE r [<!ENTITY a "b">]><DefaultRules/>'.encode("utf-16-le"),
    ],
    ids=["billion-laughs", "xxe-file", "xxe-network", "parameter-entity", "utf16-bom", "utf16-no-bom"],
)
def test_dtds_and_entities_are_refused(xml):
    with pytest.raises(InputError, match="DOCTYPE"):
        parse(xml)
    assert "DOCTYPE" in validate(xml)[0]


XXE_CONTENT = (
    b"""<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><DefaultRules>&xxe;</DefaultRules>"""
)


@pytest.mark.parametrize("xml", [XXE_CONTENT, XXE_FILE, BILLION_LAUGHS, XXE_NETWORK])
def test_second_net_when_the_prescan_is_bypassed(monkeypatch, xml):
    """Without the byte prescan, libxml2 (no entity resolution) or the docinfo check refuses."""
    monkeypatch.setattr(hc, "_declares_dtd", lambda _data: False)
    with pytest.raises(InputError) as caught:
        parse(xml)
    assert "root:" not in caught.value.message  # nothing from /etc/passwd leaked into the error
    assert "DOCTYPE" in caught.value.message or "entity" in caught.value.message


@pytest.mark.parametrize(
    ("xml", "fragment"),
    [
        (b"<DefaultRules>&undefined;</DefaultRules>", "not well-formed"),
        (b"<DefaultRules>", "not well-formed"),
        (b"<DefaultRules/>" + b" " * hc.MAX_CONFIG_BYTES, "far smaller"),
        ("<DefaultRules/>", "bytes"),
    ],
)
def test_malformed_oversize_and_text_input_refused(xml, fragment):
    with pytest.raises(InputError, match=fragment):
        parse(xml)


def test_utf16_file_as_powershell_writes_it_is_accepted():
    xml = render(example_config()).decode().replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-16")
    assert parse(xml) == example_config()


# --------------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------------

GOOD = render(example_config())


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (
            lambda x: x.replace(
                b'<Success>\n          <ExitCode Code="0"/>\n        </Success>\n        <Success_RebootRequired>',
                b"<Success_RebootRequired>",
                1,
            ),
            "Success",
        ),
        (lambda x: x.replace(b'Code="2"', b'Code="two"'), "Code"),
        (lambda x: x.replace(b'Code="2"', b'Code="4294967296"'), "Code"),
        (lambda x: x.replace(b'Code="2"', b'Code="0"'), "UniqueFolderExitCode"),
        (lambda x: x.replace(b'name="MSP"', b'name="M SP"'), "name"),
        (lambda x: x.replace(b'name="MSP"', b'name="MSU"'), "UniqueExtensionName"),
        (lambda x: x.replace(b'name="FirmwareUpdate"', b'name="Firm?ware"'), "name"),
        (lambda x: x.replace(b'name="FirmwareUpdate"', b'name="Firmware."'), "name"),
        (lambda x: x.replace(b'alwaysReboot="true"', b'alwaysReboot="yes"'), "alwaysReboot"),
        (lambda x: x.replace(b'<Template path="$update$" parameters="/s /norestart"/>', b""), "Template"),
        (lambda x: x.replace(b'path="$update$"', b'path=""'), "path"),
        (lambda x: x.replace(b'<ExitCode Code="2"/>', b'<ExitCode Code="2"/><Code>3</Code>'), "Code"),
        (lambda x: x.replace(b"</FolderRules>", b"</FolderRules><Unknown/>"), "Unknown"),
        (lambda x: x.replace(b"<ExtensionRules>", b"<ExtensionRules>\n<Extension name='EXE'/>"), "Extension"),
        # rules the XSD cannot express, caught by the model layer of validate()
        (lambda x: x.replace(b'name="MSP"', b'name="msu"'), "case-insensitive"),
        (lambda x: x.replace(b'name="FirmwareUpdate"', b'name="NUL"'), "reserved device"),
        (lambda x: x.replace(b'path="$update$"', b'path="fw.exe"'), "$update$"),
    ],
)
def test_schema_rejects_bad_configs_with_readable_errors(mutate, fragment):
    bad = mutate(GOOD)
    assert bad != GOOD
    errors = validate(bad)
    assert errors, bad.decode()
    assert any(fragment in e for e in errors), errors


def test_schema_file_is_ours_and_loadable():
    text = SCHEMA_PATH.read_text(encoding="utf-8")
    assert "HotfixConfigSchema.xsd" in text and "OURS" in text
    assert validate(GOOD, schema_path=SCHEMA_PATH) == []
    assert validate(GOOD, schema_path=str(SCHEMA_PATH)) == []


def test_schema_errors_carry_the_line():
    errors = validate(GOOD.replace(b'Code="2"', b'Code="two"'))
    assert errors[0].startswith("line ")


# --------------------------------------------------------------------------------------------
# Properties over generated rule sets
# --------------------------------------------------------------------------------------------

NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-."
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    max_size=30,
)


def _valid_name(name: str) -> bool:
    try:
        validate_folder_name(name)
        return True
    except InputError:
        return False


names = st.text(alphabet=NAME_CHARS, min_size=1, max_size=20).filter(_valid_name)


@st.composite
def exit_conditions(draw):
    codes = draw(st.lists(st.integers(-(2**31), 2**31 - 1), min_size=1, max_size=12, unique=True))
    cut = sorted(draw(st.lists(st.integers(1, len(codes)), min_size=4, max_size=4)))
    sets = [
        codes[0 : cut[0]],
        codes[cut[0] : cut[1]],
        codes[cut[1] : cut[2]],
        codes[cut[2] : cut[3]],
        codes[cut[3] :],
    ]
    return ExitConditions(*[tuple(s) for s in sets])


@st.composite
def templates(draw):
    where = draw(st.sampled_from(["path", "parameters", "both"]))
    path = draw(TEXT.filter(lambda t: t.strip())) if where == "parameters" else "$update$"
    parameters = draw(st.none() | TEXT) if where == "path" else draw(TEXT) + " $update$ " + draw(TEXT)
    if where == "both":
        path = draw(TEXT) + "$update$"
    return Template(path, parameters)


@st.composite
def configs(draw):
    folder_names = draw(st.lists(names, max_size=5, unique_by=str.casefold))
    ext_names = draw(
        st.lists(
            st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=5),
            max_size=4,
            unique_by=str.casefold,
        )
    )
    folder_rules = [
        FolderRule(n, draw(templates()), draw(exit_conditions()), draw(st.booleans())) for n in folder_names
    ]
    ext_rules = [hc.ExtensionRule(n, draw(templates()), draw(exit_conditions())) for n in ext_names]
    return HotfixConfig(tuple(ext_rules), tuple(folder_rules))


PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(configs())
def test_property_render_parse_round_trip(config):
    xml = render(config)
    assert parse(xml) == config
    assert render(parse(xml)) == xml


@PROPERTY
@given(configs())
def test_property_rendered_config_is_schema_valid(config):
    assert validate(render(config)) == []


@PROPERTY
@given(configs(), configs())
def test_property_merge_keeps_every_name_and_desired_wins(existing, desired):
    merged = merge(existing, desired, fill_defaults=False)
    for rules in ("folder_rules", "extension_rules"):
        merged_by_name = {r.name.casefold(): r for r in getattr(merged, rules)}
        for r in getattr(existing, rules):
            assert r.name.casefold() in merged_by_name
        for r in getattr(desired, rules):
            assert merged_by_name[r.name.casefold()] == r
    assert merge(merged, desired, fill_defaults=False) == merged  # idempotent
    assert validate(render(merged)) == []
