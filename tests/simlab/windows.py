"""What a simulated Windows host looks like from the outside: paths and facts (test code only).

Shared by the handlers of the ``ansible.windows`` / ``community.windows`` modules the lab answers
(``setup``, ``win_file_version``, ``win_powershell``), so they describe the same machine the
collection's own modules see: the OS of the fleet description and its driver files under
``C:\\Windows\\System32\\drivers``.
"""

from __future__ import annotations

import hashlib
from typing import Any

SYSTEM_ROOT = "C:\\Windows"
DRIVERS_DIR = f"{SYSTEM_ROOT}\\System32\\drivers"
_PRODUCT_TYPES = {1: "workstation", 2: "domain_controller", 3: "server"}


# ansible-core 2.19's bootstrap wrapper, the first thing every PowerShell module runs on the host
# (lib/ansible/executor/powershell/bootstrap_wrapper.ps1), refuses older hosts with exactly this
# answer and exit code 1; Ansible documents PowerShell 5.1 as the minimum:
# https://docs.ansible.com/ansible/latest/os_guide/windows_setup.html
# WMF 5.1 (which brings PowerShell 5.1) installs on Windows Server 2012 R2, 2012 and 2008 R2 SP1,
# not on Windows Server 2008: https://learn.microsoft.com/powershell/scripting/windows-powershell/wmf/setup/install-configure
BOOTSTRAP_REFUSAL = b'{"failed":true,"msg":"Ansible requires PowerShell v5.1"}\r\n'
DEFAULT_POWERSHELL_VERSION = "5.1"


def powershell_refusal(state: dict[str, Any]) -> tuple[int, bytes, bytes] | None:
    """What the bootstrap wrapper answers a module on this host: None when PowerShell is 5.1 or later."""
    version = tuple(int(part) for part in str(state.get("powershell_version", DEFAULT_POWERSHELL_VERSION)).split("."))
    if version < (5, 1):
        return 1, BOOTSTRAP_REFUSAL, b""
    return None


def driver_at(state: dict[str, Any], path: str) -> dict[str, Any] | None:
    """The driver file of the host at ``path`` (a FileVersionInfo description), or None."""
    normalised = path.replace("/", "\\").lower()
    directory, _, name = normalised.rpartition("\\")
    if directory not in (DRIVERS_DIR.lower(), "%systemroot%\\system32\\drivers", "$env:systemroot\\system32\\drivers"):
        return None
    return state["drivers"].get(name)


def version_parts(driver: dict[str, Any], kind: str = "file") -> list[int]:
    """FileVersionInfo's numeric parts: 0.0.0.0 when the fleet gave only a string (no fixed resource)."""
    return list(driver.get(f"{kind}_version_parts") or [0, 0, 0, 0])


def _number(name: str, salt: str, modulo: int) -> int:
    return int(hashlib.sha256(f"{name}:{salt}".encode()).hexdigest()[:8], 16) % modulo


def facts(state: dict[str, Any]) -> dict[str, Any]:
    """The ansible_* facts ansible.windows.setup gathers, derived from the host's state.

    The values that matter (OS version, caption, product type, host name) come from the fleet
    description; the rest are stable per-host values of realistic shape and size, so that fact
    gathering costs the controller what it costs on a real fleet.
    """
    name = state["name"]
    major, minor, *rest = (state["os_version"].split(".") + ["0", "0"])[:4]
    build = rest[0] if rest else "0"
    octet = _number(name, "ip", 250) + 2
    mac = ":".join(f"{_number(name, f'mac{i}', 256):02X}" for i in range(6))
    env = {
        "ALLUSERSPROFILE": "C:\\ProgramData", "APPDATA": f"C:\\Users\\Administrator\\AppData\\Roaming",
        "COMPUTERNAME": name.upper()[:15], "ComSpec": f"{SYSTEM_ROOT}\\system32\\cmd.exe",
        "NUMBER_OF_PROCESSORS": "4", "OS": "Windows_NT", "PATHEXT": ".COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC",
        "PROCESSOR_ARCHITECTURE": "AMD64", "ProgramData": "C:\\ProgramData", "ProgramFiles": "C:\\Program Files",
        "ProgramFiles(x86)": "C:\\Program Files (x86)", "PSModulePath": "C:\\Program Files\\WindowsPowerShell\\Modules;"
        f"{SYSTEM_ROOT}\\system32\\WindowsPowerShell\\v1.0\\Modules", "PUBLIC": "C:\\Users\\Public",
        "SystemDrive": "C:", "SystemRoot": SYSTEM_ROOT, "TEMP": "C:\\Users\\ADMINI~1\\AppData\\Local\\Temp",
        "TMP": "C:\\Users\\ADMINI~1\\AppData\\Local\\Temp", "USERDOMAIN": "WORKGROUP", "USERNAME": "Administrator",
        "USERPROFILE": "C:\\Users\\Administrator", "windir": SYSTEM_ROOT,
    }
    return {
        "ansible_architecture": "64-bit",
        "ansible_architecture2": "x86_64",
        "ansible_bios_date": "04/01/2014",
        "ansible_bios_version": "449e491",
        "ansible_domain": "",
        "ansible_distribution": state["os_caption"],
        "ansible_distribution_major_version": major,
        "ansible_distribution_version": f"{major}.{minor}.{build}.0",
        "ansible_env": env,
        "ansible_fqdn": name,
        "ansible_hostname": name.upper()[:15],
        "ansible_interfaces": [{
            "connection_name": "Ethernet", "default_gateway": "172.16.0.1", "dns_domain": None,
            "interface_index": 6, "interface_name": "Red Hat VirtIO Ethernet Adapter", "macaddress": mac,
        }],
        "ansible_ip_addresses": [f"172.16.{_number(name, 'subnet', 250)}.{octet}", f"fe80::{_number(name, 'v6', 65535):x}"],
        "ansible_kernel": f"{major}.{minor}.{build}.0",
        "ansible_lastboot": "2026-11-01 03:12:45Z",
        "ansible_machine_id": f"S-1-5-21-{_number(name, 'sid1', 10**9)}-{_number(name, 'sid2', 10**9)}-{_number(name, 'sid3', 10**9)}",
        "ansible_memfree_mb": 2048 + _number(name, "memfree", 4096),
        "ansible_memtotal_mb": 8192,
        "ansible_netbios_name": name.upper()[:15],
        "ansible_nodename": name,
        "ansible_os_family": "Windows",
        "ansible_os_installation_type": "Server" if state["product_type"] != 1 else "Client",
        "ansible_os_name": state["os_caption"],
        "ansible_os_product_type": _PRODUCT_TYPES[state["product_type"]],
        "ansible_owner_contact": "",
        "ansible_owner_name": "Administrator",
        "ansible_powershell_version": 5,
        "ansible_processor": ["GenuineIntel", "Intel(R) Xeon(R) Platinum 8269CY CPU @ 2.50GHz"] * 4,
        "ansible_processor_cores": 2,
        "ansible_processor_count": 1,
        "ansible_processor_threads_per_core": 2,
        "ansible_processor_vcpus": 4,
        "ansible_product_name": "Alibaba Cloud ECS",
        "ansible_product_serial": f"{_number(name, 'serial', 16**8):08x}-0000-0000-0000-000000000000",
        "ansible_reboot_pending": False,
        "ansible_swaptotal_mb": 0,
        "ansible_system": "Win32NT",
        "ansible_system_description": "",
        "ansible_system_vendor": "Alibaba Cloud",
        "ansible_uptime_seconds": 1900000 + _number(name, "uptime", 100000),
        "ansible_user_dir": "C:\\Users\\Administrator",
        "ansible_user_gecos": "",
        "ansible_user_id": "Administrator",
        "ansible_user_sid": f"S-1-5-21-{_number(name, 'usid', 10**9)}-500",
        "ansible_virtualization_role": "guest",
        "ansible_virtualization_type": "kvm",
        "ansible_windows_domain": "WORKGROUP",
        "ansible_windows_domain_member": False,
        "ansible_windows_domain_role": "Stand-alone server",
        "module_setup": True,
    }
