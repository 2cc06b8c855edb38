# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AnsibleModule side of the ECS modules (for internal collection use only).

One entry point, :func:`run_ecs_module`, so every ECS module handles errors the same way:
a missing SDK, bad input, an API error or a failed wait each become one ``failed`` result with a
message naming the field or resource and the fix, never a traceback; credentials found in the
environment are masked like ``no_log`` options before anything can be printed.
"""

from __future__ import annotations

import os
from typing import Any, Callable

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import (
    HAS_SDK,
    SDK_REQUIREMENT,
    AlicloudError,
    EcsClient,
    OperationFailed,
    Waiting,
    alicloud_argument_spec,
    ecs_client_from_params,
)
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError


def argument_spec(own: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The module's own options plus the shared connection options (doc fragment alicloud)."""
    spec = alicloud_argument_spec()
    spec.update(own)
    return spec


def waiting_from(params: dict[str, Any]) -> Waiting:
    """``wait_timeout`` / ``poll_interval`` as a :class:`Waiting` (validated by wait_until)."""
    return Waiting(timeout=float(params["wait_timeout"]), interval=float(params["poll_interval"]))


def error_fields(err: AlicloudError) -> dict[str, Any]:
    """What a failed result carries about an API error, for the report and for conditionals."""
    return {
        "error_code": err.code or None,
        "error_kind": err.kind,
        "request_id": err.request_id,
        "api_action": err.action,
        "missing_permission": err.missing_permission,
    }


def run_ecs_module(
    spec: dict[str, dict[str, Any]],
    work: Callable[[AnsibleModule, EcsClient], dict[str, Any]],
    **module_kwargs: Any,
) -> None:
    """Create the module, build the client, run ``work`` and exit with its result."""
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True, **module_kwargs)
    if not HAS_SDK:
        module.fail_json(msg=missing_required_lib(SDK_REQUIREMENT))
    try:
        client, credentials = ecs_client_from_params(module.params, os.environ)
        module.no_log_values.update(credentials.secrets())
        result = work(module, client)
    except InputError as err:
        module.fail_json(msg=str(err), field=err.field)
    except AlicloudError as err:
        module.fail_json(msg=str(err), **error_fields(err))
    except OperationFailed as err:
        module.fail_json(msg=str(err), **err.result)
    module.exit_json(**result)
