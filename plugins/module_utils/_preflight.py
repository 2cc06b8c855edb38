# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every option of a shipped playbook checked before the first host is contacted (for internal collection use only).

The playbooks run ``winfleet.updates.preflight`` in a first play on the controller. It hands the
variables the user set (extra vars, ``group_vars/all``) to :func:`validate`, which checks them
all and names each problem by the user's own variable (``virtio_reboot_timeout``), not by the
role or module option it later becomes. A configuration error is then one failure of the
controller's play, before any host is contacted, instead of a failure of every host, or worse,
a host installed and rebooted before a bad reboot timeout is noticed.

Values arrive as Ansible gives them: ``-e virtio_serial=2`` is the string ``"2"``, so numbers
are accepted as numeric strings too. ``serial`` keeps accepting what the play keyword accepts
(https://docs.ansible.com/ansible/latest/playbook_guide/playbooks_strategies.html#setting-the-batch-size-with-serial):
a number, a percentage such as ``"25%"``, or a list of those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from ansible_collections.winfleet.updates.plugins.module_utils import _virtio
from ansible_collections.winfleet.updates.plugins.module_utils._antivirus import validate_antivirus_services
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_rollout import ECS_SNAPSHOT_PROVIDERS, TRANSPORTS, install_command
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError, kind_of
from ansible_collections.winfleet.updates.plugins.module_utils._strings import check_text, redact_urls_in
from ansible_collections.winfleet.updates.plugins.module_utils._virtio_install import validate_source
from ansible_collections.winfleet.updates.plugins.module_utils._virtio_report import AUDIT_STATES, AUDIT_STATUSES

__all__ = [
    "KINDS",
    "PreflightError",
    "check_number",
    "check_percentage",
    "check_serial",
    "validate",
]

KINDS: tuple[str, ...] = ("virtio_rollout", "virtio_audit", "cau_update")
ROLLOUT_SOURCES: tuple[str, ...] = ("script", "package", "cloud_assistant", "cloud_assistant_api")
SNAPSHOT_PROVIDERS: tuple[str, ...] = ("none", "alicloud_ecs", "custom")
SNAPSHOT_DISK_SCOPES: tuple[str, ...] = ("all", "system")
SNAPSHOT_RETENTIONS: tuple[str, ...] = ("keep", "delete_after_verify")
REBOOT_METHODS: tuple[str, ...] = ("winrm", "ecs_api")
AUDIT_FAIL_ON: tuple[str, ...] = tuple(s for s in AUDIT_STATUSES if s != "ok") + AUDIT_STATES
# ECS tag values are at most 128 characters
# (https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-createsnapshot).
MAX_ROLLOUT_ID = 128
MAX_PATH = 4096

_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
# Whole percentages only: Ansible reads "25%" with int() (ansible.utils.helpers.pct_to_int), so
# "12.5%" would end the play with a ValueError.
_PERCENT_RE = re.compile(r"(\d+)%")


class PreflightError(InputError):
    """Every problem the preflight found, each naming the user's variable."""

    def __init__(self, problems: Sequence[InputError]) -> None:
        self.problems = list(problems)
        lines = "; ".join(str(problem) for problem in self.problems)
        count = len(self.problems)
        super().__init__(
            self.problems[0].field,
            f"{count} configuration problem{'s' if count > 1 else ''} found before any host was contacted "
            f"(nothing was changed): {lines}",
        )

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class _Number:
    value: float

    @property
    def is_integer(self) -> bool:
        return float(self.value).is_integer()


def _parse_number(field: str, value: Any, what: str) -> _Number:
    if isinstance(value, bool):
        raise InputError(field, f"expected {what}, got the boolean {value!r}")
    if isinstance(value, (int, float)):
        return _Number(float(value))
    if isinstance(value, str) and _NUMBER_RE.fullmatch(value.strip()):
        return _Number(float(value.strip()))
    raise InputError(field, f"expected {what}, got {redact_urls_in(repr(value))}")


def check_number(
    field: str,
    value: Any,
    *,
    minimum: float,
    maximum: float | None = None,
    integer: bool = True,
    exclusive_minimum: bool = False,
    unit: str = "",
) -> int | float:
    """A number within bounds (a numeric string counts), as ``int`` when ``integer``."""
    bounds = (
        f"greater than {minimum:g}" if exclusive_minimum else f"at least {minimum:g}"
    ) + (f" and at most {maximum:g}" if maximum is not None else "")
    what = f"{'a whole number' if integer else 'a number'}{unit} {bounds}"
    number = _parse_number(field, value, what)
    too_small = number.value <= minimum if exclusive_minimum else number.value < minimum
    if too_small or (maximum is not None and number.value > maximum) or (integer and not number.is_integer):
        raise InputError(field, f"expected {what}, got {value!r}")
    return int(number.value) if integer else number.value


def check_percentage(field: str, value: Any) -> int | float:
    """A failure percentage as the play keyword ``max_fail_percentage`` reads it: 0 to 100."""
    return check_number(field, value, minimum=0, maximum=100, integer=False)


def _serial_item(field: str, value: Any) -> int | str:
    if isinstance(value, str):
        percent = _PERCENT_RE.fullmatch(value.strip())
        if percent:
            if not 0 < float(percent.group(1)) <= 100:
                raise InputError(field, f"expected a percentage greater than 0% and at most 100%, got {value!r}")
            return value.strip()
    try:
        return int(check_number(field, value, minimum=1))
    except InputError:
        raise InputError(
            field,
            "expected a number of hosts of at least 1, a percentage such as '25%', or a list of those "
            f"(0 or less would put every host in one batch, so a failed host could not stop the others); got {value!r}",
        ) from None


def check_serial(field: str, value: Any) -> int | str | list[int | str]:
    """A batch size the play keyword ``serial`` accepts, refusing those that disable the stop rule."""
    if isinstance(value, (list, tuple)):
        if not value:
            raise InputError(field, "expected at least one batch size, got an empty list")
        return [_serial_item(f"{field}[{index}]", item) for index, item in enumerate(value)]
    return _serial_item(field, value)


def _check_choice(field: str, value: Any, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise InputError(field, f"expected one of {', '.join(choices)}, got {redact_urls_in(repr(value))}")
    return value


def _check_bool(field: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return value.strip().lower() in ("true", "yes", "on", "1")
    raise InputError(field, f"expected true or false, got {value!r}")


def _check_string_list(field: str, value: Any, *, what: str, example: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise InputError(
            field,
            f"expected a list of {what} such as {example}, got {kind_of(value)} {value!r}",
        )
    return [check_text(f"{field}[{index}]", item, allow_empty=False, what=what) for index, item in enumerate(value)]


class _Checker:
    """Runs checks and keeps every problem, so that one run names them all."""

    def __init__(self, values: Mapping[str, Any], names: Mapping[str, str]) -> None:
        self.values = values
        self.names = names
        self.problems: list[InputError] = []

    def name(self, key: str) -> str:
        return self.names.get(key, key)

    def given(self, key: str) -> bool:
        return key in self.values and self.values[key] is not None

    def get(self, key: str, default: Any = None) -> Any:
        return self.values[key] if self.given(key) else default

    def run(self, check: Callable[[], Any]) -> Any:
        try:
            return check()
        except InputError as err:
            self.problems.append(err)
            return None

    def field(self, key: str, check: Callable[[str, Any], Any]) -> Any:
        """Check ``key`` when the user set it; the message names the user's variable."""
        if not self.given(key):
            return None
        return self.run(lambda: check(self.name(key), self.values[key]))

    def renamed(self, err: InputError, mapping: Mapping[str, str]) -> InputError:
        """An error of a helper that names its own option, renamed to the user's variable."""
        head, _bracket, rest = err.field.partition("[")
        head, dot, tail = head.partition(".")
        message = err.message
        for option, key in mapping.items():
            message = re.sub(rf"\b{re.escape(option)}\b", self.name(key), message)
        message = re.sub(r"\bsource=", f"{self.name('virtio_source')}=", message)
        if head in mapping:
            field = self.name(mapping[head]) + (dot + tail if dot else "") + ("[" + rest if rest else "")
            return InputError(field, redact_urls_in(message))
        return InputError(err.field, redact_urls_in(message))


def _positive(unit: str = " of seconds", integer: bool = False) -> Callable[[str, Any], Any]:
    return lambda field, value: check_number(
        field, value, minimum=0, exclusive_minimum=True, integer=integer, unit=unit
    )


def _text(max_length: int, allow_empty: bool = True) -> Callable[[str, Any], Any]:
    return lambda field, value: check_text(field, value, max_length=max_length, allow_empty=allow_empty)


def _capabilities(checker: _Checker, key: str, thresholds_key: str, *, rollout: bool) -> None:
    if checker.given(key):
        value = checker.values[key]
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            checker.problems.append(
                InputError(checker.name(key), f"expected a list such as [online_resize, serial_query], got {value!r}")
            )
        elif rollout and not value:
            checker.problems.append(
                InputError(
                    checker.name(key),
                    "an empty list would make every host compliant, so nothing would be updated; list the "
                    f"capabilities the update must deliver ({', '.join(_virtio.CAPABILITY_THRESHOLDS)}), or run "
                    "the audit (winfleet.updates.virtio_audit) to only report the drivers",
                )
            )
        else:
            try:
                _virtio.normalise_required_capabilities(value)
            except InputError as err:
                checker.problems.append(checker.renamed(err, {"required_capabilities": key}))
    if checker.given(thresholds_key):
        value = checker.values[thresholds_key]
        if not isinstance(value, Mapping):
            checker.problems.append(
                InputError(checker.name(thresholds_key), f"expected a mapping such as {{serial_query: 58015}}, got {value!r}")
            )
        else:
            try:
                _virtio.normalise_thresholds(value)
            except InputError as err:
                checker.problems.append(checker.renamed(err, {"thresholds": thresholds_key}))


def _rollout_source(checker: _Checker) -> None:
    source = checker.field("virtio_source", lambda f, v: _check_choice(f, v, ROLLOUT_SOURCES))
    if source is None and checker.given("virtio_source"):
        return
    source = source or "script"
    keys = {
        "script_src": "virtio_script_src",
        "script_url": "virtio_script_url",
        "script_checksum": "virtio_script_checksum",
        "package_src": "virtio_package_src",
    }
    for key in keys.values():
        checker.field(key, _text(MAX_PATH))
    if _package_url_checked(checker):
        return  # virtio_transport=ecs_api: its own check (_rollout_transport) covers the source options
    try:
        validate_source(
            "cloud_assistant" if source == "cloud_assistant_api" else source,
            **{option: checker.get(key) for option, key in keys.items()},
        )
    except InputError as err:
        checker.problems.append(checker.renamed(err, keys))


def _package_url_checked(checker: _Checker) -> bool:
    """Whether the transport's check covers the sources; a package URL over WinRM is refused here."""
    for key in ("virtio_package_url", "virtio_package_checksum"):
        checker.field(key, _text(MAX_PATH))
    if checker.get("virtio_transport") == "ecs_api":
        return True
    for key in ("virtio_package_url", "virtio_package_checksum"):
        if checker.get(key):
            checker.problems.append(InputError(
                checker.name(key),
                "is used only with virtio_transport=ecs_api, where the instances download the package; over "
                "WinRM give virtio_package_src, a controller path the rollout pushes to each host"))
    return False


def _rollout_transport(checker: _Checker) -> None:
    """virtio_transport=ecs_api: only sources that need no connection to the host, no custom snapshot tasks."""
    transport = checker.field("virtio_transport", lambda f, v: _check_choice(f, v, TRANSPORTS))
    if transport != "ecs_api":
        return
    keys = {
        "script_src": "virtio_script_src",
        "script_url": "virtio_script_url",
        "script_checksum": "virtio_script_checksum",
        "package_src": "virtio_package_src",
        "package_url": "virtio_package_url",
        "package_checksum": "virtio_package_checksum",
        "transport": "virtio_transport",
    }
    try:
        install_command(checker.get("virtio_source") or "script",
                        **{option: checker.get(key) for option, key in keys.items() if option != "transport"})
    except InputError as err:
        checker.problems.append(checker.renamed(err, keys))
    provider = checker.get("virtio_snapshot_provider")
    if provider is not None and provider not in ECS_SNAPSHOT_PROVIDERS:
        checker.problems.append(InputError(
            checker.name("virtio_snapshot_provider"),
            f"custom runs your tasks on each host, which virtio_transport=ecs_api does not connect to; choose one of "
            f"{', '.join(ECS_SNAPSHOT_PROVIDERS)}"))


def _snapshot(checker: _Checker) -> None:
    provider = checker.field("virtio_snapshot_provider", lambda f, v: _check_choice(f, v, SNAPSHOT_PROVIDERS))
    checker.field("snapshot_disk_scope", lambda f, v: _check_choice(f, v, SNAPSHOT_DISK_SCOPES))
    checker.field("snapshot_timeout", _positive())
    checker.field("snapshot_poll_interval", _positive())
    checker.field("snapshot_api_retries", lambda f, v: check_number(f, v, minimum=0, maximum=20))
    checker.field("snapshot_api_retry_delay", lambda f, v: check_number(f, v, minimum=0, integer=False))
    checker.field("snapshot_rollout_id", _text(MAX_ROLLOUT_ID))
    checker.field("snapshot_custom_tasks", _text(MAX_PATH))
    if provider == "custom" and not checker.get("snapshot_custom_tasks"):
        checker.problems.append(
            InputError(
                checker.name("snapshot_custom_tasks"),
                "virtio_snapshot_provider=custom needs snapshot_custom_tasks: the path of your task file "
                "that sets the fact snapshot_ids",
            )
        )
    for key in ("virtio_update_snapshot_retention", "reboot_verify_snapshot_retention"):
        checker.field(key, lambda f, v: _check_choice(f, v, SNAPSHOT_RETENTIONS))
    for key in ("virtio_update_snapshot_grace_minutes", "reboot_verify_snapshot_grace_minutes"):
        checker.field(key, lambda f, v: check_number(f, v, minimum=0, unit=" of minutes"))
    checker.field("reboot_verify_method", lambda f, v: _check_choice(f, v, REBOOT_METHODS))
    checker.field("reboot_verify_api_poll_interval", _positive())


def _rollout(checker: _Checker) -> None:
    _rollout_source(checker)
    _rollout_transport(checker)
    _capabilities(checker, "virtio_required_capabilities", "virtio_thresholds", rollout=True)
    checker.field(
        "virtio_antivirus_services",
        lambda f, v: validate_antivirus_services(
            _check_string_list(f, v, what="Windows service names", example="[SAVService]"), field=f
        ),
    )
    _snapshot(checker)
    install = checker.field("virtio_install_timeout", _positive(integer=True))
    poll = checker.field("virtio_poll_interval", _positive())
    checker.field("virtio_reconnect_timeout", _positive(integer=True))
    checker.field("virtio_reboot_timeout", _positive(integer=True))
    if install is not None and poll is not None and poll > install:
        checker.problems.append(
            InputError(checker.name("virtio_poll_interval"), f"must not exceed virtio_install_timeout ({install}), got {poll!r}")
        )
    checker.field("virtio_serial", check_serial)
    checker.field("virtio_max_fail_percentage", check_percentage)
    checker.field("virtio_report_dir", _text(MAX_PATH, allow_empty=False))
    checker.field("virtio_rollout_id", _text(MAX_ROLLOUT_ID, allow_empty=False))
    checker.field("virtio_hosts", _text(MAX_PATH, allow_empty=False))


def _audit(checker: _Checker) -> None:
    _capabilities(checker, "virtio_required_capabilities", "virtio_thresholds", rollout=False)
    checker.field("virtio_report_dir", _text(MAX_PATH, allow_empty=False))
    checker.field("virtio_hosts", _text(MAX_PATH, allow_empty=False))
    checker.field(
        "virtio_audit_fail_on",
        lambda f, v: [
            _check_choice(f"{f}[{index}]", item, AUDIT_FAIL_ON)
            for index, item in enumerate(_check_string_list(f, v, what="statuses", example="[failed, unreachable]"))
        ],
    )


def _cau(checker: _Checker) -> None:
    checker.field("cau_clusters_per_batch", check_serial)
    checker.field("cau_poll_interval", _positive())
    checker.field("cau_timeout", _positive(integer=True))
    checker.field("cau_report_dir", _text(MAX_PATH, allow_empty=False))
    checker.field("cau_continue_on_failure", _check_bool)
    checker.field(
        "cau_target_clusters",
        lambda f, v: _check_string_list(f, v, what="cluster names", example='["hvcl01"]'),
    )


_VALIDATORS: Mapping[str, Callable[[_Checker], None]] = {
    "virtio_rollout": _rollout,
    "virtio_audit": _audit,
    "cau_update": _cau,
}


def validate(kind: str, values: Mapping[str, Any], names: Mapping[str, str] | None = None) -> None:
    """Check every option of the playbook ``kind`` the user set; raise one :class:`PreflightError` naming them all.

    ``values`` holds only the variables the user set (unset ones keep their checked defaults);
    ``names`` renames a variable in messages when a caller passes it under another name.
    """
    if kind not in _VALIDATORS:
        raise InputError("kind", f"expected one of {', '.join(KINDS)}, got {kind!r}")
    checker = _Checker(values, names or {})
    _VALIDATORS[kind](checker)
    if checker.problems:
        raise PreflightError(checker.problems)


def hosts_matched(
    kind: str, pattern: str, matched: Iterable[str], limit: str | None, variable: str | None = None
) -> list[str]:
    """The hosts the play will run on; none is an error that says which pattern and limit matched nothing.

    ``variable`` names the user's variable that set the pattern (default: the playbook's own).
    """
    hosts = list(matched)
    if not hosts:
        variable = variable or ("cau_target_clusters" if kind == "cau_update" else "virtio_hosts")
        where = f" within --limit {limit!r}" if limit else ""
        raise InputError(
            variable,
            f"the host pattern {pattern!r}{where} matches no host of the inventory, so nothing would be "
            "done; check the inventory (-i), the pattern and --limit",
        )
    return hosts
