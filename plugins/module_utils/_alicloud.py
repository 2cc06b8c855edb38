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

# Environment variables, most specific first. The ALIBABA_CLOUD_* names are the ones the official
# SDKs and the aliyun CLI read; the ALICLOUD_* names are the older ones of the alicloud Terraform
# provider and the historic Ansible alicloud modules, still common in AWX credentials.
ENV_ACCESS_KEY_ID = ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALICLOUD_ACCESS_KEY")
ENV_ACCESS_KEY_SECRET = ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALICLOUD_SECRET_KEY")
ENV_SECURITY_TOKEN = ("ALIBABA_CLOUD_SECURITY_TOKEN", "ALICLOUD_SECURITY_TOKEN")
ENV_REGION = ("ALIBABA_CLOUD_REGION_ID", "ALICLOUD_REGION")

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
        "access_key_id": {"type": "str", "no_log": True},
        "access_key_secret": {"type": "str", "no_log": True},
        "security_token": {"type": "str", "no_log": True},
        "region_id": {"type": "str"},
        "endpoint": {"type": "str"},
        "api_retries": {"type": "int", "default": 5},
        "api_retry_delay": {"type": "float", "default": 1.0},
    }


@dataclass(frozen=True)
class Credentials:
    """An access key (and STS token); ``repr`` never shows the secret parts."""

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)
    source: str = "module options"

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


def resolve_credentials(params: Mapping[str, Any], environ: Mapping[str, str]) -> Credentials:
    """Credentials from the module options, else the standard environment variables.

    An access key id without its secret (or the reverse) is an error naming what is missing,
    rather than a confusing signature failure later.
    """
    key_id, key_id_source = _first(params, "access_key_id", environ, ENV_ACCESS_KEY_ID)
    secret, secret_source = _first(params, "access_key_secret", environ, ENV_ACCESS_KEY_SECRET)
    token, _token_source = _first(params, "security_token", environ, ENV_SECURITY_TOKEN)
    if not key_id and not secret:
        raise InputError(
            "access_key_id",
            "no Alibaba Cloud credentials found; set access_key_id and access_key_secret, or the environment "
            f"variables {ENV_ACCESS_KEY_ID[0]} and {ENV_ACCESS_KEY_SECRET[0]} "
            f"(also read: {ENV_ACCESS_KEY_ID[1]}, "
            f"{ENV_ACCESS_KEY_SECRET[1]})",
        )
    if not secret:
        raise InputError(
            "access_key_secret",
            f"an access key id is given ({key_id_source}) but no secret; set access_key_secret "
            f"or {ENV_ACCESS_KEY_SECRET[0]}",
        )
    if not key_id:
        raise InputError(
            "access_key_id",
            f"an access key secret is given ({secret_source}) but no id; set access_key_id "
            f"or {ENV_ACCESS_KEY_ID[0]}",
        )
    return Credentials(key_id, secret, token or None, key_id_source)


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
                access_key_id=credentials.access_key_id,
                access_key_secret=credentials.access_key_secret,
                security_token=credentials.security_token,
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
            self._sleep(self._delays[attempt - 1])

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
        return AlicloudError(
            action,
            kind,
            str(code),
            message,
            str(request_id) if request_id else None,
            context,
            attempts,
            missing,
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
    endpoint = resolve_endpoint(params.get("endpoint"), region)
    client = EcsClient(
        credentials,
        region,
        endpoint,
        retries=params.get("api_retries", 5),
        retry_delay=params.get("api_retry_delay", 1.0),
        sleep=sleep,
    )
    return client, credentials
