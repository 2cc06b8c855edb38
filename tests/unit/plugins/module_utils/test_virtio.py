"""Version parsing and capability gates of module_utils/_virtio.py."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._virtio import (
    CAPABILITY_THRESHOLDS,
    assess_probe,
    capabilities_for_build,
    normalise_required_capabilities,
    normalise_thresholds,
    parse_driver_version,
    parse_os_version,
    validate_driver_files,
)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("62.77.104.58011", (62, 77, 104, 58011)),
        ("62, 77, 104, 58016", (62, 77, 104, 58016)),
        ("62,77,104,58016", (62, 77, 104, 58016)),
        ("62.77.104.58101 (built by: WinDDK)", (62, 77, 104, 58101)),
        ("6.1.7600.16385 built by: WinDDK", (6, 1, 7600, 16385)),
        ("0, 3, 0, 0 built by: WinDDK", (0, 3, 0, 0)),
        ("  62.77.104.58017  ", (62, 77, 104, 58017)),
        ("100.85.104.20800", (100, 85, 104, 20800)),
        ("62.77.104.58011(beta)", (62, 77, 104, 58011)),
    ],
)
def test_parse_driver_version_accepts_what_windows_prints(text, parts):
    version = parse_driver_version(text, "viostor.sys.file_version")
    assert version.parts == parts
    assert version.build == parts[3]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("v58011-beta", "cannot read a version"),
        ("62.77.104", "cannot read a version"),
        ("62.77.104.58011a", "cannot read a version"),
        ("62.77.104.", "cannot read a version"),
        ("62..77.104.58011", "cannot read a version"),
        ("62.77.104.70000", "above 65535"),
        ("", "expected a version string"),
        (None, "expected a version string"),
        (58011, "expected a version string"),
    ],
)
def test_parse_driver_version_refuses_to_guess(text, reason):
    with pytest.raises(InputError) as err:
        parse_driver_version(text, "viostor.sys.file_version")
    assert err.value.field == "viostor.sys.file_version"
    assert reason in str(err.value)
    assert str(err.value).startswith("viostor.sys.file_version: ")


_part = st.integers(min_value=0, max_value=0xFFFF)
_separator = st.sampled_from([".", ",", ", ", " , ", " ."])
_suffix = st.sampled_from(["", " (built by: WinDDK)", " built by: WinDDK", "(x)", "  "])


@given(st.tuples(_part, _part, _part, _part), st.lists(_separator, min_size=3, max_size=3), _suffix)
def test_any_well_formed_version_parses_to_its_parts(parts, separators, suffix):
    text = f"{parts[0]}{separators[0]}{parts[1]}{separators[1]}{parts[2]}{separators[2]}{parts[3]}{suffix}"
    assert parse_driver_version(text, "f").parts == parts


@given(st.text(max_size=40))
def test_parser_never_raises_anything_but_input_error(text):
    try:
        version = parse_driver_version(text, "f")
    except InputError:
        return
    assert str(version).count(".") == 3


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (None, {"online_resize": False, "serial_query": False}),
        (58010, {"online_resize": False, "serial_query": False}),
        (58011, {"online_resize": True, "serial_query": False}),
        (58016, {"online_resize": True, "serial_query": False}),
        (58017, {"online_resize": True, "serial_query": True}),
        (60000, {"online_resize": True, "serial_query": True}),
    ],
)
def test_capability_gates_at_the_thresholds(build, expected):
    assert capabilities_for_build(build, CAPABILITY_THRESHOLDS) == expected


def test_threshold_override_follows_the_english_edition():
    thresholds = normalise_thresholds({"serial_query": 58015})
    assert thresholds == {"online_resize": 58011, "serial_query": 58015}
    assert capabilities_for_build(58015, thresholds)["serial_query"] is True


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"hot_plug": 1}, "thresholds.hot_plug"), ({"serial_query": "58015"}, "thresholds.serial_query"),
     ({"serial_query": 0}, "thresholds.serial_query"), ({"serial_query": True}, "thresholds.serial_query")],
)
def test_bad_thresholds_name_the_field(overrides, field):
    with pytest.raises(InputError) as err:
        normalise_thresholds(overrides)
    assert err.value.field == field


def test_required_capabilities_default_dedupe_and_refuse_unknown():
    assert normalise_required_capabilities(None) == ["online_resize", "serial_query"]
    assert normalise_required_capabilities(["serial_query", "serial_query"]) == ["serial_query"]
    with pytest.raises(InputError, match=r"required_capabilities\[1\]: unknown capability 'x'; valid: online_resize, serial_query"):
        normalise_required_capabilities(["online_resize", "x"])


@pytest.mark.parametrize(
    ("files", "field"),
    [(["netkvm.sys"], "driver_files"), (["viostor.sys", "..\\x.sys"], "driver_files[1]"),
     (["viostor.sys", "C:\\a.sys"], "driver_files[1]"), (["viostor.sys", "a.dll"], "driver_files[1]")],
)
def test_driver_files_are_bare_sys_names_including_viostor(files, field):
    with pytest.raises(InputError) as err:
        validate_driver_files(files)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("text", "nt"),
    [("10.0.17763", (10, 0)), ("6.0.6002", (6, 0)), ("5.2.3790", (5, 2)), ("6.3", (6, 3))],
)
def test_parse_os_version(text, nt):
    assert parse_os_version(text).nt == nt


@pytest.mark.parametrize("text", ["Windows 2019", "10", "", None, "10.0.x"])
def test_parse_os_version_refuses_garbage(text):
    with pytest.raises(InputError, match="^os.version: "):
        parse_os_version(text, "os.version")


def _raw(os_version="10.0.17763", product_type=3, viostor=None, parts=None):
    drivers = [{"name": "viostor.sys", "present": viostor is not None or parts is not None,
                "file_version": viostor, "product_version": viostor,
                "file_version_parts": parts or [0, 0, 0, 0], "product_version_parts": [0, 0, 0, 0]},
               {"name": "netkvm.sys", "present": False}]
    return {"os": {"version": os_version, "caption": "Windows", "product_type": product_type}, "drivers": drivers}


def test_assess_numeric_parts_win_over_the_string():
    result = assess_probe(_raw(viostor="0, 3, 0, 0 built by: WinDDK", parts=[62, 77, 104, 58017]),
                          ["online_resize", "serial_query"], CAPABILITY_THRESHOLDS)
    assert result["virtio_build"] == 58017
    assert result["drivers"][0]["version_source"] == "file_version_parts"
    assert result["update_needed"] is False


def test_assess_not_a_virtio_guest_is_an_answer():
    result = assess_probe(_raw(), ["online_resize"], CAPABILITY_THRESHOLDS)
    assert result["is_virtio_guest"] is False
    assert result["virtio_build"] is None
    assert result["update_needed"] is False
    assert result["capabilities"] == {"online_resize": False, "serial_query": False}


@pytest.mark.parametrize(
    ("os_version", "product_type", "supported", "reason"),
    [("6.0.6002", 3, True, None), ("5.2.3790", 3, False, "older than Windows Server 2008"),
     ("10.0.19045", 1, False, "Server editions only"), ("10.0.17763", 2, True, None)],
)
def test_assess_update_supported(os_version, product_type, supported, reason):
    result = assess_probe(_raw(os_version, product_type, "62.77.104.58000"), ["online_resize"], CAPABILITY_THRESHOLDS)
    assert result["update_supported"] is supported
    assert (reason is None and result["unsupported_reason"] is None) or reason in result["unsupported_reason"]


def test_assess_unparseable_string_without_parts_names_the_file():
    with pytest.raises(InputError) as err:
        assess_probe(_raw(viostor="unknown"), ["online_resize"], CAPABILITY_THRESHOLDS)
    assert err.value.field == "viostor.sys.file_version"


def test_an_unreadable_secondary_driver_is_reported_for_that_file_only():
    from ansible_collections.winfleet.updates.plugins.module_utils._virtio import assess_probe

    raw = {
        "os": {"version": "10.0.17763", "caption": "Windows Server 2019", "product_type": 3},
        "drivers": [
            {"name": "viostor.sys", "present": True, "file_version": "62.77.104.58017", "file_version_parts": [62, 77, 104, 58017]},
            {"name": "netkvm.sys", "present": True, "error": "cannot read the version of C:\\Windows\\System32\\drivers\\netkvm.sys: denied"},
            {"name": "vioser.sys", "present": True, "file_version": "garbage", "file_version_parts": [0, 0, 0, 0]},
        ],
    }
    assessment = assess_probe(raw, ["online_resize"], {"online_resize": 58011})
    assert assessment["virtio_build"] == 58017 and assessment["update_needed"] is False
    by_name = {d["name"]: d for d in assessment["drivers"]}
    assert by_name["netkvm.sys"]["error"].startswith("cannot read the version of") and by_name["netkvm.sys"]["build"] is None
    assert "vioser.sys.file_version" in by_name["vioser.sys"]["error"]


def test_an_unreadable_storage_driver_still_fails_the_probe():
    from ansible_collections.winfleet.updates.plugins.module_utils._virtio import assess_probe

    raw = {"os": {"version": "10.0.17763", "product_type": 3},
           "drivers": [{"name": "viostor.sys", "present": True, "error": "cannot read the version of viostor.sys: denied"}]}
    with pytest.raises(InputError) as err:
        assess_probe(raw, ["online_resize"], {"online_resize": 58011})
    assert err.value.field == "viostor.sys"
