"""Connection plugin of the simulated Windows lab (test code only, never shipped).

It stands where ``ansible.builtin.winrm`` or ``ansible.builtin.psrp`` would: a PowerShell shell,
pipelined modules, ``.ps1`` implementations preferred. Instead of a network it answers from the
lab's per-host state (see docs/simlab.md), sleeps the lab's round-trip latency, counts round trips,
and fails like an unreachable host where the fleet says so.
"""

from __future__ import annotations

DOCUMENTATION = """
    name: winfleet_simlab
    short_description: Simulated Windows host of the winfleet.updates test lab
    description:
        - Answers the collection's host-side PowerShell modules from per-host state files.
        - Test code only; inventories written by C(make lab) select it.
    author: winfleet.updates maintainers
    options:
        lab_dir:
            description: Directory written by C(tests/simlab/build_lab.py).
            type: str
            required: true
            vars:
                - name: winfleet_simlab_dir
        remote_addr:
            description: The simulated host to answer as.
            type: str
            default: inventory_hostname
            vars:
                - name: inventory_hostname
                - name: ansible_host
"""

import json
import sys
import time
from pathlib import Path

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.connection import ConnectionBase

_REPO_ROOT = str(Path(__file__).resolve().parents[3])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from tests.simlab import dispatch, raw, windows  # noqa: E402  (needs the repository root on sys.path)
from tests.simlab.state import Lab  # noqa: E402


class Connection(ConnectionBase):
    """A Windows host made of a JSON file."""

    transport = "winfleet_simlab"
    module_implementation_preferences = (".ps1", ".exe", "")
    allow_executable = False
    has_pipelining = True
    allow_extras = True

    def __init__(self, *args, **kwargs):
        self.always_pipeline_modules = True
        self.has_native_async = True
        self._shell_type = "powershell"
        self._lab = None
        super().__init__(*args, **kwargs)

    @property
    def host_name(self) -> str:
        return self.get_option("remote_addr")

    def _connect(self):
        if self._lab is None:
            self._lab = Lab(self.get_option("lab_dir"))
        self._connected = True
        return self

    def _round_trip(self, handle):
        """Run ``handle(state)`` as one round trip: latency, counting, reachability, state lock."""
        self._connect()
        time.sleep(self._lab.settings.get("round_trip_ms", 0) / 1000.0)
        with self._lab.host(self.host_name) as state:
            state["round_trips"] = state.get("round_trips", 0) + 1
            reason = raw.unreachable_reason(state, self._lab.settings)
            if reason:
                state["failed_round_trips"] = state.get("failed_round_trips", 0) + 1
            else:
                return handle(state)
        raise AnsibleConnectionFailure(f"simlab: {self.host_name} is unreachable: {reason}")

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        if in_data:
            complex_args = dispatch.parse_module_payload(in_data)

            def handle(state):
                refusal = windows.powershell_refusal(state)  # the bootstrap wrapper answers first
                if refusal is not None:
                    return refusal
                result = dispatch.run_module(state, complex_args, self._lab.settings, self._lab.root)
                return 0, json.dumps(result).encode(), b""
        else:
            def handle(state):
                return raw.run_raw(state, cmd, self._lab)
        return self._round_trip(handle)

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        data = Path(in_path).read_bytes()

        def handle(state):
            raw.store_file(state, self._shell._unquote(out_path), data, self._lab)
        self._round_trip(handle)

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)

        def handle(state):
            return raw.read_file(state, self._shell._unquote(in_path), self._lab)
        Path(out_path).write_bytes(self._round_trip(handle))

    def reset(self):
        self.close()

    def close(self):
        self._connected = False
