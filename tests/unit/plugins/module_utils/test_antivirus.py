"""Only third-party antivirus may be paused: Defender is refused on the controller."""

from __future__ import annotations

import pytest
from ansible_collections.winfleet.updates.plugins.module_utils._antivirus import validate_antivirus_services
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError


@pytest.mark.parametrize(
    ("services", "expected"),
    [
        (None, []),
        ([], []),
        (["SAVService"], ["SAVService"]),
        (["ekrn", " SepMasterService ", "EKRN"], ["ekrn", "SepMasterService"]),
    ],
)
def test_third_party_services_are_accepted_in_order_without_duplicates(services, expected):
    assert validate_antivirus_services(services) == expected


@pytest.mark.parametrize(
    "name", ["WinDefend", "windefend", "WdNisSvc", "Sense", "SecurityHealthService", "MDCoreSvc"]
)
def test_defender_is_refused(name):
    with pytest.raises(InputError) as err:
        validate_antivirus_services(["SAVService", name])
    assert err.value.field == "services[1]"
    assert "built-in Microsoft Defender" in err.value.message


@pytest.mark.parametrize("name", ["", "   ", "a\\b", "a/b", 42, None, "x" * 257])
def test_malformed_names_are_refused(name):
    with pytest.raises(InputError) as err:
        validate_antivirus_services([name])
    assert err.value.field == "services[0]"


@pytest.mark.parametrize("name", ["Win*", "SAV?ervice", "[S]AVService"])
def test_wildcard_characters_are_refused(name):
    """Get-Service -Name expands wildcards: Win* would stop WinDefend, WinRM and Winmgmt."""
    with pytest.raises(InputError) as err:
        validate_antivirus_services(["ekrn", name])
    assert err.value.field == "services[1]"
    assert "wildcard character" in err.value.message
