"""Answer what Ansible sends a Windows host, from the simulated host's state (test code only).

Ansible runs a PowerShell module by piping two JSON documents to the host (the bootstrap
manifest, then the exec manifest whose ``module_wrapper.ps1`` action carries the module's
arguments as ``complex_args``). The lab reads the module's FQCN and arguments from there and
calls the matching handler ``tests/simlab/modules/<name>.py``; raw commands (such as those
``ansible.windows.win_reboot`` sends) go to ``tests/simlab/raw.py``.

Handlers receive a :class:`HostCall` and return the module's result dictionary, exactly what
the real module would print. Module arguments are checked against the module's ``$spec`` (read
statically from the .ps1, this collection's or an installed collection's such as ansible.windows)
the way ``Ansible.Basic`` would reject them, so the lab cannot hide a contract drift between an
action plugin and its host module.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.simlab import ansible_basic
from tests.static.powershell import module_spec

MANIFEST_SEPARATOR = b"\n\0\0\0\0\n"
REPO_ROOT = Path(__file__).resolve().parents[2]
OWN_COLLECTION = "winfleet.updates"


@dataclass
class HostCall:
    """One module invocation on one simulated host."""

    state: dict[str, Any]           # the host's state; handlers change it in place
    args: dict[str, Any]            # module options, without the _ansible_* keys
    check_mode: bool
    lab: dict[str, Any]             # lab settings (round_trip_ms, time_scale, ...)
    lab_dir: Path
    internal: dict[str, Any] = field(default_factory=dict)  # the _ansible_* keys

    def after(self, simulated_seconds: float) -> float:
        """The real epoch time at which ``simulated_seconds`` of host time will have passed."""
        return time.time() + simulated_seconds * self.lab.get("time_scale", 1.0)

    def log(self, event: str, **details: Any) -> None:
        """Record what happened on the host, for assertions and for the demo."""
        self.state.setdefault("events", []).append({"event": event, **details})


def parse_module_payload(in_data: bytes) -> dict[str, Any]:
    """Extract ``complex_args`` from the exec manifest Ansible pipes to a PowerShell host."""
    try:
        _bootstrap, exec_manifest = in_data.split(MANIFEST_SEPARATOR, 1)
        manifest = json.loads(exec_manifest)
    except ValueError as err:
        raise ValueError(f"simlab: not a PowerShell module payload ({err})") from None
    for action in manifest.get("actions", []):
        if action.get("name") == "module_wrapper.ps1":
            for variable in action["params"].get("Variables") or []:
                if variable.get("Name") == "complex_args":
                    return variable["Value"]
    raise ValueError("simlab: the payload has no module_wrapper.ps1 action with complex_args")


def _module_script(fqcn: str) -> Path | None:
    """The .ps1 of a module: this checkout's for winfleet.updates, the installed collection's otherwise."""
    namespace_name, _, module = fqcn.rpartition(".")
    if namespace_name == OWN_COLLECTION:
        return REPO_ROOT / "plugins" / "modules" / f"{module}.ps1"
    if namespace_name.count(".") != 1:
        return None
    namespace, name = namespace_name.split(".")
    from ansible import constants  # pylint: disable=import-outside-toplevel  (the lab runs inside ansible)

    for root in [*constants.COLLECTIONS_PATHS, *sys.path]:
        script = Path(root) / "ansible_collections" / namespace / name / "plugins" / "modules" / f"{module}.ps1"
        if script.is_file():
            return script
    return None


def host_spec(fqcn: str) -> dict[str, Any] | None:
    """The ``$spec`` of a PowerShell module, read from its .ps1 (this collection's or an installed one's).

    None when the module cannot be found or declares no ``$spec`` (legacy ``Parse-Args`` modules such
    as community.windows.win_file_version): their handlers validate what they need themselves.
    """
    script = _module_script(fqcn)
    if script is None or not script.is_file():
        return None
    try:
        return module_spec(script)
    except ValueError:
        return None


def check_arguments(fqcn: str, args: dict[str, Any]) -> str | None:
    """Reject arguments the way ``Ansible.Basic`` would: unknown options, missing required ones,
    values its type conversion or ``choices`` refuse (tests/simlab/ansible_basic.py)."""
    return validated_arguments(fqcn, args)[0]


def validated_arguments(fqcn: str, args: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The refusal message (or None) and the arguments converted as the module's ``Params`` hold them."""
    spec = host_spec(fqcn)
    if spec is None:
        return None, args
    return ansible_basic.validate(fqcn, spec, args)


def _handler(fqcn: str):
    short = fqcn.rsplit(".", 1)[-1]
    try:
        return importlib.import_module(f"tests.simlab.modules.{short}")
    except ModuleNotFoundError:
        return None


def run_module(state: dict[str, Any], complex_args: dict[str, Any], lab: dict[str, Any], lab_dir: Path) -> dict[str, Any]:
    """Run one module invocation against a host state and return its JSON result."""
    internal = {k: v for k, v in complex_args.items() if k.startswith("_ansible_")}
    args = {k: v for k, v in complex_args.items() if not k.startswith("_ansible_")}
    fqcn = internal.get("_ansible_module_name", "")
    handler = _handler(fqcn)
    if handler is None:
        return {"failed": True, "msg": f"simlab: module {fqcn!r} is not simulated (add tests/simlab/modules/{fqcn.rsplit('.', 1)[-1]}.py)"}
    argument_error, args = validated_arguments(fqcn, args)
    if argument_error:
        return {"failed": True, "msg": argument_error}
    check_mode = bool(internal.get("_ansible_check_mode"))
    if check_mode and not getattr(handler, "SUPPORTS_CHECK_MODE", False):
        return {"skipped": True, "changed": False, "msg": "remote module does not support check mode"}
    call = HostCall(state=state, args=args, check_mode=check_mode, lab=lab, lab_dir=lab_dir, internal=internal)
    result = handler.run(call)
    result.setdefault("changed", False)
    return result
