# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Alibaba Cloud ECS API access for the collection's controller modules (internal use only).

Two layers, so that everything that decides is unit-tested without a network:

* pure functions: where credentials, region and endpoint come from, how an API error is
  classified and explained to an operator, the back-off schedule, and a bounded waiting loop;
* :class:`EcsClient`, a thin wrapper of the official SDK (``alibabacloud-ecs20140526`` on
  ``alibabacloud-tea-openapi``) that sends one action with a dict of parameters in the API's own
  names, retries throttling with bounded exponential back-off, and turns every SDK exception
  into :class:`AlicloudError` carrying a message that names the action, the resource and the fix.

Secrets never leave :class:`Credentials`: its ``repr`` hides them, and no message built here
contains them.
"""

from __future__ import annotations

import math
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence, TypeVar

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError

try:
    from alibabacloud_ecs20140526 import models as _ecs_models
    from alibabacloud_ecs20140526.client import Client as _EcsSdkClient
    from alibabacloud_tea_openapi.utils_models import Config as _SdkConfig
    from darabonba.runtime import RuntimeOptions as _RuntimeOptions

    HAS_SDK = True
except ImportError:  # pragma: no cover - exercised by the module's missing_required_lib path
    HAS_SDK = False

#: The pip packages the modules need (see requirements.txt).
SDK_REQUIREMENT = "alibabacloud-ecs20140526 (with alibabacloud-tea-openapi)"
USER_AGENT = "winfleet.updates/0.1.0"
API_VERSION = "2014-05-26"

# Environment variables. The ALIBABA_CLOUD_* names are the ones the official SDKs, their default
# credential chain (alibabacloud_credentials) and the aliyun CLI read; the ALICLOUD_* names are
# those of the alibaba.alicloud Ansible collection and the alicloud Terraform provider, still
# common in AWX credentials. A key pair and its STS token are read from ONE of these triples.
ENV_KEY_SOURCES: tuple[tuple[str, str, str], ...] = (
    ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN"),
    ("ALICLOUD_ACCESS_KEY", "ALICLOUD_SECRET_KEY", "ALICLOUD_SECURITY_TOKEN"),
)
ENV_ACCESS_KEY_ID = tuple(source[0] for source in ENV_KEY_SOURCES)
ENV_ACCESS_KEY_SECRET = tuple(source[1] for source in ENV_KEY_SOURCES)
ENV_SECURITY_TOKEN = tuple(source[2] for source in ENV_KEY_SOURCES)
ENV_REGION = ("ALIBABA_CLOUD_REGION_ID", "ALICLOUD_REGION")
#: A profile of the aliyun CLI's ~/.aliyun/config.json.
ENV_PROFILE = ("ALIBABA_CLOUD_PROFILE", "ALICLOUD_PROFILE")
#: The RAM role attached to the ECS instance the controller runs on (instance metadata).
ENV_ECS_ROLE_NAME = ("ALIBABA_CLOUD_ECS_METADATA", "ALICLOUD_ECS_ROLE_NAME")
ENV_ECS_METADATA_DISABLED = "ALIBABA_CLOUD_ECS_METADATA_DISABLED"
#: OIDC (RRSA in ACK): all three are needed, as in alibabacloud_credentials' default chain.
ENV_OIDC = ("ALIBABA_CLOUD_OIDC_TOKEN_FILE", "ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN")
ENV_ROLE_SESSION_NAME = ("ALIBABA_CLOUD_ROLE_SESSION_NAME", "ALICLOUD_ASSUME_ROLE_SESSION_NAME")
#: A RAM role to assume (AssumeRole) with whatever credentials were found.
ENV_ASSUME_ROLE_ARN = ("ALICLOUD_ASSUME_ROLE_ARN",)
DEFAULT_ROLE_SESSION_NAME = "winfleet-updates"
# The collection's own: one endpoint for every ECS call when no `endpoint` option is set (a proxy,
# a VPC endpoint, or the fake endpoint `make fake-ecs` prints).
ENV_ENDPOINT = "WINFLEET_ECS_ENDPOINT"

_REGION_RE = re.compile(r"[a-z]{2,}(-[a-z0-9]+)+")
_HOST_RE = re.compile(r"[A-Za-z0-9.-]+(:\d{1,5})?")
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")

# ---------------------------------------------------------------------------------------------
# Options shared by every module (keep equal to plugins/doc_fragments/alicloud.py).
# ---------------------------------------------------------------------------------------------


def alicloud_argument_spec() -> dict[str, dict[str, Any]]:
    """Argument spec of the connection options every ECS module accepts.

    Credentials are ``no_log``; values found in the environment are masked by the module too
    (see :func:`ecs_client_from_params`), so a secret cannot reach a result or a log either way.
    """
    return {
        "access_key_id": {"type": "str", "no_log": True, "aliases": ["alicloud_access_key", "access_key"]},
        "access_key_secret": {
            "type": "str",
            "no_log": True,
            "aliases": ["alicloud_secret_key", "secret_key"],
        },
        "security_token": {"type": "str", "no_log": True, "aliases": ["alicloud_security_token"]},
        "profile": {"type": "str", "aliases": ["alicloud_profile"]},
        "ecs_role_name": {"type": "str", "aliases": ["alicloud_ecs_role_name"]},
        "assume_role_arn": {"type": "str", "aliases": ["alicloud_assume_role_arn"]},
        "assume_role_session_name": {"type": "str", "aliases": ["alicloud_assume_role_session_name"]},
        "region_id": {"type": "str", "aliases": ["alicloud_region"]},
        "endpoint": {"type": "str"},
        "api_retries": {"type": "int", "default": 5},
        "api_retry_delay": {"type": "float", "default": 1.0},
    }


@dataclass(frozen=True)
class Credentials:
    """An access key (and STS token); ``repr`` never shows the secret parts.

    ``provider`` is the alibabacloud_credentials provider they came from: the SDK client asks it
    again before each request, so a RAM role's STS token is refreshed during a long wait.
    """

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)
    source: str = "module options"
    provider: Any = field(default=None, repr=False, compare=False)

    def secrets(self) -> list[str]:
        """Every value that must be masked in output."""
        return [value for value in (self.access_key_id, self.access_key_secret, self.security_token) if value]


def _first(
    params: Mapping[str, Any], option: str, environ: Mapping[str, str], names: Sequence[str]
) -> tuple[str | None, str]:
    """The option's value, else the first non-empty environment variable; and where it came from."""
    value = params.get(option)
    if value:
        return value, f"option {option}"
    for name in names:
        if environ.get(name):
            return environ[name], f"environment variable {name}"
    return None, ""


def _library_providers() -> dict[str, Callable[..., Any]]:
    """The alibabacloud_credentials providers each source uses (tests inject their own)."""
    from alibabacloud_credentials.provider import (  # pylint: disable=import-outside-toplevel
        CLIProfileCredentialsProvider,
        EcsRamRoleCredentialsProvider,
        OIDCRoleArnCredentialsProvider,
        RamRoleArnCredentialsProvider,
        StaticAKCredentialsProvider,
        StaticSTSCredentialsProvider,
    )

    def static(access_key_id: str, access_key_secret: str, security_token: str | None) -> Any:
        if security_token:
            return StaticSTSCredentialsProvider(
                access_key_id=access_key_id,
                access_key_secret=access_key_secret,
                security_token=security_token,
            )
        return StaticAKCredentialsProvider(access_key_id=access_key_id, access_key_secret=access_key_secret)

    return {
        "static": static,
        "cli_profile": lambda profile_name, profile_file: CLIProfileCredentialsProvider(
            profile_name=profile_name, profile_file=profile_file
        ),
        # async_update_enabled=False: no background scheduler thread in a short-lived module.
        "ecs_ram_role": lambda role_name: EcsRamRoleCredentialsProvider(
            role_name=role_name, async_update_enabled=False
        ),
        "oidc": lambda role_arn, oidc_provider_arn, oidc_token_file, session_name: OIDCRoleArnCredentialsProvider(
            role_arn=role_arn,
            oidc_provider_arn=oidc_provider_arn,
            oidc_token_file_path=oidc_token_file,
            role_session_name=session_name,
        ),
        "assume_role": lambda base, role_arn, session_name: RamRoleArnCredentialsProvider(
            credentials_provider=base, role_arn=role_arn, role_session_name=session_name
        ),
    }


def _key_pair(
    key_id: str | None, secret: str | None, id_name: str, secret_name: str, where: str
) -> tuple[str, str] | None:
    """Both halves of a key pair from one place, or None when neither is there."""
    if not key_id and not secret:
        return None
    if not secret:
        raise InputError(
            "access_key_secret",
            f"an access key id is given ({where} {id_name}) but no secret; set {secret_name} there too",
        )
    if not key_id:
        raise InputError(
            "access_key_id",
            f"an access key secret is given ({where} {secret_name}) but no id; set {id_name} there too",
        )
    return key_id, secret


def _home(environ: Mapping[str, str]) -> str:
    return environ.get("HOME") or os.path.expanduser("~")


def _base_source(
    params: Mapping[str, Any], environ: Mapping[str, str], providers: Mapping[str, Callable[..., Any]]
) -> tuple[str, Any]:
    """(description, provider) of the first credential source that is configured.

    Options first, then the environment, then files and the instance's RAM role, in the order
    of alibabacloud_credentials' default chain (environment, OIDC, CLI profile, ECS RAM role).
    """
    pair = _key_pair(
        params.get("access_key_id"),
        params.get("access_key_secret"),
        "access_key_id",
        "access_key_secret",
        "option",
    )
    if pair:
        # the token of a key given as options comes from the options only: a stale
        # ALIBABA_CLOUD_SECURITY_TOKEN in the shell must not be attached to another key
        return "module options", providers["static"](*pair, params.get("security_token") or None)
    if params.get("security_token"):
        raise InputError(
            "security_token",
            "a security token is given without access_key_id and access_key_secret; set all three",
        )
    if params.get("profile"):
        profile_file = os.path.join(_home(environ), ".aliyun", "config.json")
        return f"CLI profile {params['profile']} ({profile_file})", providers["cli_profile"](
            params["profile"], profile_file
        )
    if params.get("ecs_role_name"):
        return f"ECS RAM role {params['ecs_role_name']}", providers["ecs_ram_role"](params["ecs_role_name"])
    for id_name, secret_name, token_name in ENV_KEY_SOURCES:
        pair = _key_pair(
            environ.get(id_name), environ.get(secret_name), id_name, secret_name, "environment variable"
        )
        if pair:
            return f"environment variables {id_name}/{secret_name}", providers["static"](
                *pair, environ.get(token_name) or None
            )
    profile_file = os.path.join(_home(environ), ".aliyun", "config.json")
    profile, where = _first({}, "", environ, ENV_PROFILE)
    if profile:
        return f"CLI profile {profile} ({where}, {profile_file})", providers["cli_profile"](
            profile, profile_file
        )
    role_name, where = _first({}, "", environ, ENV_ECS_ROLE_NAME)
    if role_name:
        return f"ECS RAM role {role_name} ({where})", providers["ecs_ram_role"](role_name)
    if all(environ.get(name) for name in ENV_OIDC):
        token_file, role_arn, provider_arn = (environ[name] for name in ENV_OIDC)
        session, _where = _first({}, "", environ, ENV_ROLE_SESSION_NAME)
        return f"OIDC role {role_arn}", providers["oidc"](
            role_arn, provider_arn, token_file, session or DEFAULT_ROLE_SESSION_NAME
        )
    if os.path.isfile(profile_file):
        return f"CLI profile file {profile_file} (its current profile)", providers["cli_profile"](
            None, profile_file
        )
    if str(environ.get(ENV_ECS_METADATA_DISABLED, "")).lower() != "true":
        return "the RAM role of this ECS instance (instance metadata)", providers["ecs_ram_role"](None)
    raise InputError(
        "access_key_id",
        "no Alibaba Cloud credentials found; set access_key_id and access_key_secret, profile, ecs_role_name, "
        f"or the environment variables {ENV_ACCESS_KEY_ID[0]} and {ENV_ACCESS_KEY_SECRET[0]} (also read: "
        f"{ENV_ACCESS_KEY_ID[1]}, {ENV_ACCESS_KEY_SECRET[1]}, {', '.join(ENV_PROFILE)}, "
        f"{', '.join(ENV_ECS_ROLE_NAME)}; docs/alicloud.md gives the order)",
    )


def resolve_credentials(
    params: Mapping[str, Any],
    environ: Mapping[str, str],
    providers: Mapping[str, Callable[..., Any]] | None = None,
) -> Credentials:
    """The credentials to sign with, from the first configured source; one source for key and token.

    ``params`` uses the option names of :func:`alicloud_argument_spec` (``access_key_id``,
    ``access_key_secret``, ``security_token``, ``profile``, ``ecs_role_name``,
    ``assume_role_arn``, ``assume_role_session_name``); absent keys are fine, so an inventory
    plugin can pass its own options. ``environ`` is the process environment (``os.environ``).
    ``providers`` replaces the alibabacloud_credentials provider factories (tests inject a RAM
    role there, so nothing ever contacts the instance metadata address).

    The order (docs/alicloud.md): key options; profile option; ecs_role_name option; the
    ALIBABA_CLOUD_* key variables; the ALICLOUD_* key variables; ALIBABA_CLOUD_PROFILE /
    ALICLOUD_PROFILE; ALIBABA_CLOUD_ECS_METADATA / ALICLOUD_ECS_ROLE_NAME; OIDC (RRSA); the
    current profile of ~/.aliyun/config.json; the instance's RAM role (unless
    ALIBABA_CLOUD_ECS_METADATA_DISABLED=true). ``assume_role_arn`` (or ALICLOUD_ASSUME_ROLE_ARN)
    then assumes that role with them. Half a key pair is an error naming what is missing.
    """
    factories = {**_library_providers(), **(providers or {})}
    source, provider = _base_source(params, environ, factories)
    role_arn, _where = _first(params, "assume_role_arn", environ, ENV_ASSUME_ROLE_ARN)
    if role_arn:
        session, _where = _first(params, "assume_role_session_name", environ, ENV_ROLE_SESSION_NAME)
        provider = factories["assume_role"](provider, role_arn, session or DEFAULT_ROLE_SESSION_NAME)
        source = f"role {role_arn} assumed with {source}"
    field_name = _source_field(params)
    try:
        found = provider.get_credentials()
    except Exception as err:  # noqa: BLE001 - any provider failure is the user's configuration
        raise InputError(
            field_name, f"could not get Alibaba Cloud credentials from {source}: {_first_line(str(err))}"
        ) from None
    if found is None or not found.get_access_key_id() or not found.get_access_key_secret():
        raise InputError(field_name, f"could not get Alibaba Cloud credentials from {source}: empty answer")
    return Credentials(
        found.get_access_key_id(),
        found.get_access_key_secret(),
        found.get_security_token() or None,
        source,
        provider,
    )


def _source_field(params: Mapping[str, Any]) -> str:
    """The option an error about the credential source is reported against."""
    for option in ("assume_role_arn", "access_key_id", "profile", "ecs_role_name"):
        if params.get(option):
            return option
    return "access_key_id"


def resolve_region(params: Mapping[str, Any], environ: Mapping[str, str]) -> str:
    """The region id (``cn-hangzhou``), from ``region_id`` or the environment; validated."""
    region, _source = _first(params, "region_id", environ, ENV_REGION)
    if not region:
        raise InputError(
            "region_id",
            "no region given; set region_id (per host: the alicloud_region host variable) "
            f"or {ENV_REGION[0]}",
        )
    if not _REGION_RE.fullmatch(region):
        raise InputError(
            "region_id", f"{region!r} is not a region id such as 'cn-hangzhou' or 'ap-southeast-1'"
        )
    return region


@dataclass(frozen=True)
class Endpoint:
    """Where API requests go: the SDK takes the protocol and the host[:port] separately."""

    protocol: str
    host: str

    @property
    def url(self) -> str:
        return f"{self.protocol}://{self.host}"


def resolve_endpoint(endpoint: str | None, region_id: str) -> Endpoint:
    """``ecs.<region>.aliyuncs.com`` over HTTPS unless overridden.

    The endpoint is always explicit: the SDK's built-in region map sends some regions to a
    central endpoint, which is not what an operator who pinned a region expects. An override is
    ``host[:port]`` (HTTPS) or ``https://host[:port]``; ``http://`` is accepted only for a
    loopback host (a local proxy or a test endpoint), because the security token travels in a
    header.
    """
    if not endpoint:
        return Endpoint("https", f"ecs.{region_id}.aliyuncs.com")
    protocol, sep, rest = endpoint.partition("://")
    if not sep:
        protocol, rest = "https", endpoint
    protocol = protocol.lower()
    rest = rest.rstrip("/")
    if protocol not in ("https", "http"):
        raise InputError(
            "endpoint", f"{endpoint!r}: the scheme must be https:// (or http:// for a loopback test endpoint)"
        )
    if not _HOST_RE.fullmatch(rest):
        raise InputError(
            "endpoint",
            f"{endpoint!r}: expected host[:port] such as 'ecs-vpc.{region_id}.aliyuncs.com', without a path",
        )
    if protocol == "http" and rest.rsplit(":", 1)[0] not in _LOOPBACK_HOSTS:
        raise InputError(
            "endpoint", f"{endpoint!r}: plain http:// is accepted only for a loopback host; use https://"
        )
    return Endpoint(protocol, rest)


# ---------------------------------------------------------------------------------------------
# Errors: classification and explanation.
# ---------------------------------------------------------------------------------------------

THROTTLING = "throttling"
PERMISSION = "permission"
AUTHENTICATION = "authentication"
NOT_FOUND = "not_found"
QUOTA = "quota"
BUSY = "busy"
TRANSIENT = "transient"
CONNECTION = "connection"
INVALID = "invalid"

_PERMISSION_CODES = (
    "Forbidden.RAM",
    "NoPermission",
    "Forbidden",
    "Forbidden.NotAuthorized",
    "Forbidden.Unauthorized",
)
_AUTH_CODES = (
    "InvalidAccessKeyId.NotFound",
    "InvalidAccessKeyId.Inactive",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "InvalidSecurityToken.Expired",
    "InvalidSecurityToken.Malformed",
    "InvalidSecurityToken.MismatchWithAccessKey",
    "SignatureNonceUsed",
    "InvalidTimeStamp.Expired",
)
_TRANSIENT_CODES = (
    "ServiceUnavailable",
    "InternalError",
    "UnknownError",
    "InternalError.Dispatch",
    "OperationConflict",
)


def classify_error(code: str | None, status_code: int | None = None) -> str:
    """Which kind of failure an API error code is; decides retrying and the advice given."""
    code = code or ""
    if code.startswith("Throttling") or code in ("RequestThrottled", "Throttling"):
        return THROTTLING
    if code in _PERMISSION_CODES or code.startswith("Forbidden.RAM") or code.startswith("NoPermission"):
        return PERMISSION
    if (
        code in _AUTH_CODES
        or code.startswith("InvalidAccessKeyId")
        or code.startswith("InvalidSecurityToken")
    ):
        return AUTHENTICATION
    if code.endswith(".NotFound") or code.endswith("NotFound"):
        return NOT_FOUND
    if code.startswith("QuotaExceed") or code.startswith("QuotaExceeded"):
        return QUOTA
    if (
        code.startswith("IncorrectDiskStatus")
        or code.startswith("IncorrectInstanceStatus")
        or code.startswith("InvalidStatus")
    ):
        return BUSY
    if code in _TRANSIENT_CODES or (status_code is not None and status_code >= 500):
        return TRANSIENT
    return INVALID


# Specific advice for codes the modules are known to meet; the kind gives a default.
_CODE_HINTS: dict[str, str] = {
    "InvalidInstanceId.NotFound": "the instance does not exist in this region; check the ecs_instance_id and "
    "alicloud_region host variables",
    "InvalidInstance.NotFound": "the instance does not exist in this region; check the ecs_instance_id and "
    "alicloud_region host variables",
    "InvalidDiskId.NotFound": "the disk no longer exists (detached or released since it was listed); re-run",
    "InvalidSnapshotId.NotFound": "the snapshot no longer exists",
    "QuotaExceed.Snapshot": "the snapshot quota is reached; delete snapshots no longer needed (ecs_snapshot "
    "state=absent with their rollout id) or ask Alibaba Cloud for a higher quota",
    "IncorrectDiskStatus.CreatingSnapshot": "a snapshot of this disk is already being created; wait until it "
    "finishes and run again",
    "IncorrectInstanceStatus": "the instance is not in a state that allows this (it must be Running, "
    "or Stopped "
    "for snapshots); wait and run again",
    "InvalidStatus.InstanceStatus": "the instance is not in a state that allows this; wait and run again",
    "InvalidCommandContent.LengthLimitExceeded": "the command is longer than the API accepts "
    "(16 KB after Base64)",
    "InvalidCmdContent.LengthLimitExceeded": "the command is longer than the API accepts "
    "(16 KB after Base64)",
}

_KIND_HINTS: dict[str, str] = {
    AUTHENTICATION: "the credentials were not accepted; check access_key_id / access_key_secret (or "
    "ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET) and that an STS token has not expired",
    NOT_FOUND: "the resource does not exist in this region",
    QUOTA: "an Alibaba Cloud quota is reached",
    BUSY: "the resource is busy; wait and run again",
    TRANSIENT: "the service reported a temporary failure",
    CONNECTION: "the endpoint could not be reached; check the network, proxy settings and the endpoint "
    "option",
    INVALID: "the request was refused",
}


@dataclass
class AlicloudError(Exception):
    """An ECS API call failed; ``str()`` is a complete message for the operator."""

    action: str
    kind: str
    code: str
    message: str
    request_id: str | None = None
    context: str = ""
    attempts: int = 1
    missing_permission: str | None = None
    #: Seconds the API asked to wait before retrying (a throttling answer's x-acs-retry-after).
    retry_after: float | None = None

    def __str__(self) -> str:
        return explain_error(
            self.action,
            self.kind,
            self.code,
            self.message,
            self.request_id,
            self.context,
            self.attempts,
            self.missing_permission,
        )


class OperationFailed(Exception):
    """The calls succeeded but the outcome did not (a snapshot failed, a wait timed out).

    ``result`` is what the module returns alongside the message, so the operator still gets the
    ids of what was made (for example the snapshots to clean up).
    """

    def __init__(self, message: str, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.result = result


def permission_action(action: str, access_denied_detail: Mapping[str, Any] | None) -> str:
    """The RAM action that was missing: the one Alibaba names, else ``ecs:<Action>``."""
    if access_denied_detail and access_denied_detail.get("AuthAction"):
        return str(access_denied_detail["AuthAction"])
    return f"ecs:{action}"


def explain_error(
    action: str,
    kind: str,
    code: str,
    message: str,
    request_id: str | None = None,
    context: str = "",
    attempts: int = 1,
    missing_permission: str | None = None,
) -> str:
    """One sentence an operator can act on: what failed, for what, why, and what to do."""
    where = f"{action} ({context})" if context else action
    detail = f": {message}" if message else ""
    if kind == PERMISSION:
        permission = missing_permission or f"ecs:{action}"
        advice = (
            f"the RAM identity is not allowed to call {permission}; grant {permission} "
            "(docs/alicloud.md lists "
            "the complete policy)"
        )
    elif kind == THROTTLING:
        advice = (
            f"the API kept throttling the request after {attempts} attempts; lower the rollout's batch size "
            "(serial) or raise api_retries / api_retry_delay"
        )
    else:
        advice = _CODE_HINTS.get(code) or _KIND_HINTS.get(kind, _KIND_HINTS[INVALID])
    reference = f"Alibaba Cloud error {code}" if code else "no response"
    if request_id:
        reference += f", request id {request_id}"
    return f"{where} failed: {advice} ({reference}{detail})"


def backoff_delays(retries: int, base: float, cap: float = 20.0) -> list[float]:
    """The sleeps between attempts: ``base * 2**n``, capped, ``retries`` of them.

    Bounded by construction: the whole schedule is known before the first call, so a throttled
    rollout waits at most ``sum(backoff_delays(...))`` per call.
    """
    if retries < 0:
        raise InputError("api_retries", f"expected a number >= 0, got {retries}")
    if base < 0:
        raise InputError("api_retry_delay", f"expected a number >= 0, got {base}")
    return [min(cap, base * (2**attempt)) for attempt in range(retries)]


#: The longest wait a throttling answer's retry-after is honoured for (the SDK's own cap, 120 s).
MAX_RETRY_AFTER = 120.0


def retry_delay(backoff: float, retry_after: float | None) -> float:
    """The back-off, or longer when the API said when to come back (``x-acs-retry-after``, which
    alibabacloud_tea_openapi reads into ``ThrottlingException.retry_after`` in milliseconds)."""
    if retry_after is None:
        return backoff
    return max(backoff, min(retry_after, MAX_RETRY_AFTER))


def should_retry(kind: str, idempotent: bool) -> bool:
    """Retry throttling always (the request was refused, not run); transient failures only when safe.

    A request is safe to repeat when it only reads, or carries a ClientToken so the API itself
    recognises the repeat.
    """
    if kind == THROTTLING:
        return True
    return idempotent and kind in (TRANSIENT, CONNECTION)


# ---------------------------------------------------------------------------------------------
# Waiting.
# ---------------------------------------------------------------------------------------------

T = TypeVar("T")


@dataclass
class WaitResult:
    """What the last poll returned, whether it satisfied the condition, and how many polls it took."""

    value: Any
    done: bool
    polls: int
    elapsed: float


@dataclass
class Waiting:
    """How long and how often a module polls; clock and sleep are injectable for tests."""

    timeout: float = 1800.0
    interval: float = 5.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def max_polls(timeout: float, interval: float) -> int:
    """The hard bound on polls for a timeout: a wait can never loop more often than this."""
    if timeout < 0:
        raise InputError("wait_timeout", f"expected a number of seconds >= 0, got {timeout}")
    if interval <= 0:
        raise InputError("poll_interval", f"expected a number of seconds > 0, got {interval}")
    return int(math.ceil(timeout / interval)) + 1


def wait_until(
    poll: Callable[[], T],
    done: Callable[[T], bool],
    timeout: float,
    interval: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> WaitResult:
    """Call ``poll`` until ``done(value)``, bounded both in time and in number of polls.

    Polls at once, then every ``interval`` seconds; never sleeps past the deadline. Returns the
    last value with ``done=False`` on timeout, so the caller can say what was still pending.
    """
    limit = max_polls(timeout, interval)
    start = clock()
    deadline = start + timeout
    value = poll()
    polls = 1
    while not done(value):
        now = clock()
        if polls >= limit or now >= deadline:
            return WaitResult(value, False, polls, now - start)
        sleep(min(interval, max(0.0, deadline - now)))
        value = poll()
        polls += 1
    return WaitResult(value, True, polls, clock() - start)


def client_token() -> str:
    """A fresh ClientToken: repeats of one logical request (our retries) reuse it, so the API
    creates at most one snapshot or invocation for it."""
    return str(uuid.uuid4())


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """``{"k": "v"}`` as the API's ``Tag.N.Key`` / ``Tag.N.Value`` list, in a stable order."""
    return [{"Key": str(key), "Value": str(value)} for key, value in sorted(tags.items())]


def tags_of(resource: Mapping[str, Any]) -> dict[str, str]:
    """Tags of a described resource as a dict.

    The API nests them as ``Tags.Tag[]`` with TagKey/TagValue (snapshots) or Key/Value (groups).
    """
    tags = (resource.get("Tags") or {}).get("Tag") or []
    return {str(t.get("TagKey", t.get("Key"))): str(t.get("TagValue", t.get("Value", ""))) for t in tags}


# ---------------------------------------------------------------------------------------------
# The SDK wrapper.
# ---------------------------------------------------------------------------------------------


def _snake(action: str) -> str:
    """``DescribeInvocationResults`` -> ``describe_invocation_results`` (the SDK's method names)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()


class EcsClient:
    """Send ECS API actions through the official SDK; retries and error translation included.

    ``call("CreateSnapshot", {"DiskId": "d-1", ...})`` builds the SDK's request model from the
    API's parameter names, so request building stays a pure, testable dict.
    """

    def __init__(
        self,
        credentials: Credentials,
        region_id: str,
        endpoint: Endpoint,
        retries: int = 5,
        retry_delay: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        connect_timeout_ms: int = 10000,
        read_timeout_ms: int = 30000,
    ) -> None:
        if not HAS_SDK:
            raise InputError(
                "requirements",
                f"the Python packages {SDK_REQUIREMENT} are not installed on the controller; "
                "pip install -r requirements.txt",
            )
        self.region_id = region_id
        self.endpoint = endpoint
        self._delays = backoff_delays(retries, retry_delay)
        self._sleep = sleep
        self.calls: list[str] = []
        self._runtime = _RuntimeOptions(connect_timeout=connect_timeout_ms, read_timeout=read_timeout_ms)
        self._client = _EcsSdkClient(
            _SdkConfig(
                **_sdk_credentials(credentials),
                region_id=region_id,
                endpoint=endpoint.host,
                protocol=endpoint.protocol,
                user_agent=USER_AGENT,
                connect_timeout=connect_timeout_ms,
                read_timeout=read_timeout_ms,
            )
        )

    def call(
        self, action: str, params: Mapping[str, Any], context: str = "", idempotent: bool | None = None
    ) -> dict[str, Any]:
        """Send one action; return the response body as a dict in the API's names.

        ``idempotent`` defaults to True for Describe* actions and for requests carrying a
        ClientToken. Raises :class:`AlicloudError` (never an SDK exception).
        """
        if idempotent is None:
            idempotent = action.startswith("Describe") or bool(params.get("ClientToken"))
        request_class = getattr(_ecs_models, f"{action}Request")
        method = getattr(self._client, f"{_snake(action)}_with_options")
        attempt = 0
        while True:
            attempt += 1
            self.calls.append(action)
            try:
                response = method(request_class().from_map(dict(params)), self._runtime)
                return response.body.to_map() if response.body is not None else {}
            except Exception as err:  # noqa: BLE001 - every SDK failure becomes one AlicloudError
                error = translate_sdk_error(action, err, context, attempt)
            if attempt > len(self._delays) or not should_retry(error.kind, idempotent):
                raise error
            self._sleep(retry_delay(self._delays[attempt - 1], error.retry_after))

    def call_paged(
        self,
        action: str,
        params: Mapping[str, Any],
        path: Sequence[str],
        context: str = "",
        page_size: int = 100,
        max_pages: int = 50,
    ) -> list[dict[str, Any]]:
        """All items of a paged Describe* action (PageNumber/PageSize), at most ``max_pages`` pages."""
        items: list[dict[str, Any]] = []
        for page in range(1, max_pages + 1):
            body = self.call(action, {**params, "PageNumber": page, "PageSize": page_size}, context)
            batch = dig(body, path)
            items.extend(batch)
            total = body.get("TotalCount")
            if not batch or len(batch) < page_size or (total is not None and len(items) >= int(total)):
                return items
        raise AlicloudError(
            action,
            INVALID,
            "TooManyPages",
            f"more than {max_pages * page_size} items; narrow the query",
            context=context,
        )


def call_tokened(
    client: "EcsClient",
    action: str,
    params: Mapping[str, Any],
    path: Sequence[str],
    context: str = "",
    max_results: int = 100,
    max_pages: int = 50,
) -> list[dict[str, Any]]:
    """All items of a Describe* action paged with NextToken / MaxResults (bounded pages).

    DescribeSnapshotGroups pages this way only; the API returns at most ``MaxResults`` items and
    a ``NextToken`` while more remain.
    """
    items: list[dict[str, Any]] = []
    token = ""
    for _page in range(max_pages):
        request = {**params, "MaxResults": max_results}
        if token:
            request["NextToken"] = token
        body = client.call(action, request, context)
        items.extend(dig(body, path))
        token = str(body.get("NextToken") or "")
        if not token:
            return items
    raise AlicloudError(
        action,
        INVALID,
        "TooManyPages",
        f"more than {max_pages * max_results} items; narrow the query",
        context=context,
    )


def _sdk_credentials(credentials: Credentials) -> dict[str, Any]:
    """What the SDK's Config takes: the provider (refreshed per request) when there is one."""
    if credentials.provider is not None:
        from alibabacloud_credentials.client import (
            Client as _CredentialClient,
        )  # pylint: disable=import-outside-toplevel

        return {"credential": _CredentialClient(provider=credentials.provider)}
    return {
        "access_key_id": credentials.access_key_id,
        "access_key_secret": credentials.access_key_secret,
        "security_token": credentials.security_token,
    }


def dig(body: Mapping[str, Any], path: Sequence[str]) -> list[dict[str, Any]]:
    """The list at ``path`` in a response (``("Snapshots", "Snapshot")``), empty when absent."""
    node: Any = body
    for key in path:
        node = (node or {}).get(key) if isinstance(node, Mapping) else None
    return list(node or [])


def translate_sdk_error(action: str, err: Exception, context: str = "", attempts: int = 1) -> AlicloudError:
    """An SDK exception as an :class:`AlicloudError`; reads only code, message and request id."""
    code = getattr(err, "code", None)
    data = getattr(err, "data", None)
    status = getattr(err, "status_code", None) or getattr(err, "statusCode", None)
    if code and code != "None":
        data = data if isinstance(data, Mapping) else {}
        message = str(data.get("Message") or data.get("message") or "")
        request_id = data.get("RequestId") or getattr(err, "request_id", None)
        kind = classify_error(code, status)
        missing = None
        if kind == PERMISSION:
            detail = getattr(err, "access_denied_detail", None) or data.get("AccessDeniedDetail")
            missing = permission_action(action, detail if isinstance(detail, Mapping) else None)
        retry_after_ms = getattr(err, "retry_after", None)
        return AlicloudError(
            action,
            kind,
            str(code),
            message,
            str(request_id) if request_id else None,
            context,
            attempts,
            missing,
            (
                float(retry_after_ms) / 1000.0
                if isinstance(retry_after_ms, (int, float)) and retry_after_ms > 0
                else None
            ),
        )
    inner = getattr(err, "inner_exception", None) or err
    text = getattr(inner, "message", None) or str(inner)
    return AlicloudError(
        action, CONNECTION, "", f"{type(inner).__name__}: {_first_line(str(text))}", None, context, attempts
    )


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else ""


def ecs_client_from_params(
    params: Mapping[str, Any], environ: Mapping[str, str], sleep: Callable[[float], None] = time.sleep
) -> tuple[EcsClient, Credentials]:
    """Build the client from module options and the environment (InputError when incomplete)."""
    credentials = resolve_credentials(params, environ)
    region = resolve_region(params, environ)
    endpoint = resolve_endpoint(params.get("endpoint") or environ.get(ENV_ENDPOINT), region)
    client = EcsClient(
        credentials,
        region,
        endpoint,
        retries=params.get("api_retries", 5),
        retry_delay=params.get("api_retry_delay", 1.0),
        sleep=sleep,
    )
    return client, credentials
