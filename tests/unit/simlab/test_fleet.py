"""The lab refuses malformed fleet descriptions with a message naming host and field."""

from __future__ import annotations

import pytest

from tests.simlab.build_lab import main as build_lab_main
from tests.simlab.fleet import FleetError, load_fleet


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hosts: {web01: {os_verison: '10.0.17763'}}", "hosts.web01: unknown key(s) os_verison; valid:"),
        ("hosts: {web01: {os_version: 'Windows 2019'}}", "hosts.web01.os_version: expected Win32_OperatingSystem.Version"),
        ("hosts: {web01: {reachable: 'no'}}", "hosts.web01.reachable: expected true or false"),
        ("hosts: {web01: {drivers: {viostor: '1.2.3.4'}}}", "hosts.web01.drivers.viostor: expected a driver file name"),
        ("hosts: {web01: {drivers: {viostor.sys: {version: '1'}}}}", "hosts.web01.drivers.viostor.sys: unknown key(s) version"),
        ("hosts: {web01: {drivers: {viostor.sys: {file_version_parts: [1, 2]}}}}", "file_version_parts: expected four integers"),
        ("hosts: {}", "hosts: expected a non-empty mapping"),
        ("lab: {round_trip_ms: -1}\nhosts: {a: {}}", "lab.round_trip_ms: expected a number >= 0"),
        ("hosts: {a: {}}\ngroups: {g: {hosts: [b]}}", "groups.g.hosts: unknown host(s) b"),
        ("hosts: [a, b]", "hosts: expected a non-empty mapping"),
        ("hosts: {a: {}\n", "cannot read the fleet description"),
        ("bogus: {}\nhosts: {a: {}}", "unknown key(s) bogus"),
    ],
)
def test_malformed_fleets_are_named_errors(tmp_path, text, message):
    fleet = tmp_path / "fleet.yml"
    fleet.write_text(text)
    with pytest.raises(FleetError) as err:
        load_fleet(fleet)
    assert message in str(err.value)


def test_defaults_are_a_windows_server_2019_guest_without_drivers(tmp_path):
    fleet = tmp_path / "fleet.yml"
    fleet.write_text("hosts: {a: null}")
    host = load_fleet(fleet)["hosts"]["a"]
    assert (host["os_version"], host["product_type"], host["reachable"], host["drivers"]) == ("10.0.17763", 3, True, {})


def test_cli_prints_the_error_and_exits_2(tmp_path, capsys):
    fleet = tmp_path / "fleet.yml"
    fleet.write_text("hosts: {web01: {bogus: 1}}")
    assert build_lab_main([str(fleet), str(tmp_path / "lab")]) == 2
    assert "fleet error: hosts.web01: unknown key(s) bogus" in capsys.readouterr().err
    assert not (tmp_path / "lab" / "inventory.yml").exists()
