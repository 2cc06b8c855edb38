"""The Cloud Assistant probe script: PowerShell 2.0 only, and its output read like the WinRM probe's."""

from __future__ import annotations

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils import _virtio
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_probe_script import (
    MARKER,
    NOT_IN_POWERSHELL_2,
    parse_probe_output,
    probe_script,
)
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from tests.fakeecs import scripts


def test_script_uses_nothing_newer_than_powershell_2():
    script = probe_script(list(_virtio.DEFAULT_DRIVER_FILES))
    for construct in NOT_IN_POWERSHELL_2:
        assert construct.lower() not in script.lower(), construct
    assert "Get-WmiObject -Class Win32_OperatingSystem" in script
    assert "'viostor.sys', 'netkvm.sys'" in script


def test_driver_files_are_validated_before_they_reach_the_script():
    with pytest.raises(InputError, match="bare .sys file name"):
        probe_script(["viostor.sys", "x'; Remove-Item C:\\ -Recurse; '.sys"])


HOST = {"os_version": "6.1.7601", "os_caption": "Microsoft Windows Server 2008 R2 Datacenter", "product_type": 3,
        "drivers": {"viostor.sys": {"file_version": "62, 77, 104, 58016", "product_version": "62.77.104.58016"}}}


def test_output_of_a_2008_r2_host_is_assessed_like_the_winrm_probe():
    exit_code, output = scripts.answer(HOST, probe_script(["viostor.sys", "netkvm.sys"]))
    assert exit_code == 0
    raw = parse_probe_output("agent banner\r\n" + output + "\r\n")
    assessed = _virtio.assess_probe(raw, ["online_resize", "serial_query"], _virtio.CAPABILITY_THRESHOLDS)
    assert assessed["virtio_build"] == 58016 and assessed["os_version"] == "6.1.7601"
    assert assessed["capabilities"] == {"online_resize": True, "serial_query": False}
    assert [d["present"] for d in assessed["drivers"]] == [True, False]


def test_the_fake_fails_a_powershell_3_cmdlet_on_2008_r2():
    """The regression the 2.0-only rule prevents: a ConvertTo-Json probe dies on 2008 R2."""
    newer = probe_script(["viostor.sys"]).replace("Write-Output (", "ConvertTo-Json @{} | Out-Null\nWrite-Output (")
    exit_code, output = scripts.answer(HOST, newer)
    assert exit_code == 1 and "ConvertTo-Json" in output
    assert scripts.answer({**HOST, "os_version": "10.0.17763"}, newer)[0] == 0


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("", "printed no result line"),
        (MARKER + "{not json", "not valid JSON"),
        (MARKER + '{"os": {}}', "lacks os or drivers"),
    ],
)
def test_unreadable_output_is_a_named_error(output, message):
    with pytest.raises(InputError, match=message) as err:
        parse_probe_output(output)
    assert err.value.field == "probe_output"
