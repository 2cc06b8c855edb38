"""The registrar refuses what cannot be done before any host is contacted (action cau_plugin)."""

from __future__ import annotations

import pytest

from ansible_collections.winfleet.updates.plugins.action.cau_plugin import host_arguments
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError

DLL = "C:\\Program Files\\Contoso\\Contoso.FirmwarePlugin.dll"


@pytest.mark.parametrize(
    ("name", "path", "state", "expected"),
    [
        ("Contoso.FirmwarePlugin", DLL, "present", {"name": "Contoso.FirmwarePlugin", "path": DLL, "state": "present", "allow_unc_path": False}),
        ("Contoso.FirmwarePlugin", None, "absent", {"name": "Contoso.FirmwarePlugin", "path": None, "state": "absent", "allow_unc_path": False}),
        ("microsoft.windowsupdateplugin", None, "present",
         {"name": "Microsoft.WindowsUpdatePlugin", "path": None, "state": "present", "allow_unc_path": False}),
    ],
)
def test_host_arguments(name, path, state, expected):
    assert host_arguments(name, path, state) == expected


@pytest.mark.parametrize(
    ("name", "path", "state", "field", "message"),
    [
        ("Microsoft.WindowsUpdatePlugin", None, "absent", "name", "cannot be unregistered"),
        ("MICROSOFT.HOTFIXPLUGIN", None, "absent", "name", "Microsoft.HotfixPlugin is built into CAU"),
        ("Microsoft.HotfixPlugin", DLL, "present", "path", "installed with CAU"),
        ("Contoso.FirmwarePlugin", DLL, "absent", "path", "only applies to state=present"),
        ("Contoso.FirmwarePlugin", "Contoso.dll", "present", "path", "absolute path"),
        ("Contoso Firmware", DLL, "present", "name", "not a valid plug-in name"),
        ("", None, "present", "name", "non-empty string"),
    ],
)
def test_impossible_requests_are_errors_naming_the_option(name, path, state, field, message):
    with pytest.raises(InputError) as err:
        host_arguments(name, path, state)
    assert err.value.field == field
    assert message in err.value.message


UNC_DLL = "\\\\fs01\\plugins\\Contoso.FirmwarePlugin.dll"


def test_a_unc_plugin_path_is_refused_unless_explicitly_allowed():
    with pytest.raises(InputError) as err:
        host_arguments("Contoso.FirmwarePlugin", UNC_DLL, "present")
    assert err.value.field == "path"
    assert err.value.message.startswith(f"{UNC_DLL!r} is a UNC path: CAU would load the plug-in's code from a share")
    assert "set allow_unc_path: true" in err.value.message
    allowed = host_arguments("Contoso.FirmwarePlugin", UNC_DLL, "present", allow_unc_path=True)
    assert (allowed["path"], allowed["allow_unc_path"]) == (UNC_DLL, True)
