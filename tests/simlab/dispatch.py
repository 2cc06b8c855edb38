"""Answer what Ansible sends a Windows host, from the simulated host's state (test code only).

Ansible runs a PowerShell module by piping two JSON documents to the host (the bootstrap
manifest, then the exec manifest whose ``module_wrapper.ps1`` action carries the module's
arguments as ``complex_args``). The lab reads the module's FQCN and arguments from there and
calls the matching handler ``tests/simlab/modules/<name>.py``; raw commands (such as those
``ansible.windows.win_reboot`` sends) go to ``tests/simlab/raw.py``.

Handlers receive a :class:`HostCall` and return the module's result dictionary, exactly what
the real module would print. Module arguments are checked against the module's DOCUMENTATION
the way ``Ansible.Basic`` would reject them, so the lab cannot hide a contract drift.
"""

from __future__ import annotations

import importlib
import json
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

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


@lru_cache(maxsize=None)
def documented_options(fqcn: str) -> frozenset[str] | None:
    """Option names from the collection module's DOCUMENTATION (None when not ours)."""
    namespace, name, module = fqcn.rsplit(".", 2) if fqcn.count(".") == 2 else ("", "", fqcn)
    if f"{namespace}.{name}" != OWN_COLLECTION:
        return None
    modules_dir = REPO_ROOT / "plugins" / "modules"
    sidecar = modules_dir / f"{module}.yml"
    if sidecar.exists():
        doc = yaml.safe_load(sidecar.read_text(encoding="utf-8"))["DOCUMENTATION"]
    else:
        import ast

        tree = ast.parse((modules_dir / f"{module}.py").read_text(encoding="utf-8"))
        text = next(node.value.value for node in tree.body
                    if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "DOCUMENTATION")
        doc = yaml.safe_load(text)
    return frozenset((doc.get("options") or {}).keys())


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
    options = documented_options(fqcn)
    if options is not None:
        # `_`-prefixed options are the host-only instructions an action plugin adds itself (the
        # ansible.windows win_updates convention); DOCUMENTATION describes only the user's options.
        unsupported = sorted(name for name in set(args) - options if not name.startswith("_"))
        if unsupported:
            return {"failed": True, "msg": f"Unsupported parameters for ({fqcn}) module: {', '.join(unsupported)}. "
                                           f"Supported parameters include: {', '.join(sorted(options))}"}
    check_mode = bool(internal.get("_ansible_check_mode"))
    if check_mode and not getattr(handler, "SUPPORTS_CHECK_MODE", False):
        return {"skipped": True, "changed": False, "msg": "remote module does not support check mode"}
    call = HostCall(state=state, args=args, check_mode=check_mode, lab=lab, lab_dir=lab_dir, internal=internal)
    result = handler.run(call)
    result.setdefault("changed", False)
    return result
