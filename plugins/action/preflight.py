# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of winfleet.updates.preflight: check a playbook's options before any host is contacted.

Runs on the controller without a connection. The checks are ``module_utils._preflight``; this
plugin adds what needs the controller: the files named by ``virtio_script_src`` and
``virtio_package_src`` exist, and the play's host pattern (within ``--limit``) matches a host.
"""

from __future__ import annotations

import os
from typing import Any

from ansible.errors import AnsibleError

from ansible_collections.winfleet.updates.plugins.module_utils import _preflight
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.plugin_utils._action import WinfleetAction
from ansible_collections.winfleet.updates.plugins.plugin_utils._host_patterns import hosts_within_limit

# The controller files each install source pushes: the variable that names it, for that source.
_CONTROLLER_FILES = {"script": "virtio_script_src", "package": "virtio_package_src"}


class ActionModule(WinfleetAction):
    ARGUMENT_SPEC = {
        "kind": {"type": "str", "required": True, "choices": list(_preflight.KINDS)},
        "variables": {"type": "dict", "default": {}},
        "names": {"type": "dict", "default": {}},
        "hosts_pattern": {"type": "str"},
    }
    _requires_connection = False

    def run_validated(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        variables = args["variables"]
        names = {str(key): str(value) for key, value in args["names"].items()}
        problems: list[InputError] = []
        try:
            _preflight.validate(args["kind"], variables, names)
        except _preflight.PreflightError as err:
            problems.extend(err.problems)
        if args["kind"] == "virtio_rollout":
            problems.extend(self._missing_files(variables, names, {p.field for p in problems}))
        hosts: list[str] = []
        if args["hosts_pattern"] is not None:
            try:
                hosts = self._matched_hosts(args["kind"], args["hosts_pattern"], task_vars)
            except InputError as err:
                problems.append(err)
        if problems:
            raise _preflight.PreflightError(problems)
        return {
            "changed": False,
            "hosts": hosts,
            "checked": sorted(variables),
            "msg": f"{len(variables)} option(s) set by the user checked; nothing is wrong",
        }

    def _missing_files(self, variables: dict[str, Any], names: dict[str, str], known: set[str]) -> list[InputError]:
        """A script or package that is not on the controller, found as the install would look for it."""
        source = variables.get("virtio_source") or "script"
        key = _CONTROLLER_FILES.get(source)
        path = variables.get(key) if key else None
        field = names.get(key, key) if key else ""
        if not path or not isinstance(path, str) or field in known:
            return []
        if os.path.exists(os.path.expanduser(path)):  # as given, relative to where ansible-playbook runs
            return []
        try:
            self._find_needle("files", path)
        except AnsibleError:
            return [
                InputError(
                    field,
                    f"cannot find {path!r} on the controller (looked in the playbook directory and as given, "
                    "relative to where ansible-playbook runs); give the path of an existing file",
                )
            ]
        return []

    def _matched_hosts(self, kind: str, pattern: str, task_vars: dict[str, Any]) -> list[str]:
        """The hosts ``pattern`` matches within ``--limit``, as the next play will see them."""
        limit = task_vars.get("ansible_limit") or None
        try:
            matched = hosts_within_limit(self._loader, task_vars.get("groups") or {}, pattern, limit)
        except AnsibleError as err:
            raise InputError("virtio_hosts", f"cannot read the host pattern {pattern!r}: {err}") from None
        return _preflight.hosts_matched(kind, pattern, matched, limit)
