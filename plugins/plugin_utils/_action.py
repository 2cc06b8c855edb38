# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Base class of the collection's action plugins (for internal collection use only).

Every custom module of this collection is a Python action plugin that validates its options,
decides on the controller, and calls a small host-side PowerShell module. This base holds the
parts they all share, so each plugin reads as its own decision logic only:

* options are validated against ``ARGUMENT_SPEC`` (the contract test keeps it equal to the
  module's DOCUMENTATION);
* an :class:`InputError` raised anywhere below becomes one ``failed`` result naming the field,
  never a traceback;
* host modules are called through :meth:`run_host_module`, which turns a host failure into
  :class:`HostModuleFailed` so callers cannot forget to check it.
"""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError


class HostModuleFailed(Exception):
    """The host-side module reported ``failed``; ``result`` is its whole answer."""

    def __init__(self, result: dict[str, Any]) -> None:
        self.result = result
        super().__init__(result.get("msg", "host module failed"))


class WinfleetAction(ActionBase):
    """Validate, decide, call the host module, return a structured result."""

    #: Option name -> ansible argument spec entry, mirroring the module's DOCUMENTATION.
    ARGUMENT_SPEC: dict[str, dict[str, Any]] = {}
    #: Options consumed on the controller and never sent to the host-side module.
    CONTROLLER_OPTIONS: frozenset[str] = frozenset()

    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        _validation, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        try:
            result.update(self.run_validated(args, task_vars or {}))
        except InputError as err:
            result.update(failed=True, changed=False, msg=str(err), field=err.field)
        except HostModuleFailed as err:
            result.update(err.result)
            result["failed"] = True
        return result

    def run_validated(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        """Do the plugin's work with validated ``args``; subclasses implement this."""
        raise NotImplementedError

    def run_host_module(self, module_name: str, module_args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        """Run a host-side module; raise :class:`HostModuleFailed` when it fails."""
        result = self._execute_module(module_name=module_name, module_args=module_args, task_vars=task_vars)
        if result.get("failed"):
            raise HostModuleFailed(result)
        return result
