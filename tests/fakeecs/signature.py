"""ACS3-HMAC-SHA256 request signatures, verified the way the ECS endpoint does (test code only).

The official Python SDK (alibabacloud-tea-openapi >= 0.4, ``Client.do_request``) signs every RPC
call with ACS3-HMAC-SHA256 unless told otherwise: the parameters travel in the query string, the
body is empty, and the ``Authorization`` header reads::

    ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=<h1;h2;...>,Signature=<hex>

The signature is HMAC-SHA256(secret, "ACS3-HMAC-SHA256\\n" + hex(sha256(canonical request))),
where the canonical request is method, path, canonical query (keys sorted, values
percent-encoded with only ``~`` safe), the signed headers as ``name:value`` lines (lower-case
names, trimmed values), the signed header list, and the hex SHA-256 of the body. This module
recomputes it from what arrived on the wire; it does not import the SDK, so a change in the
SDK's signing shows up as a rejected request, not as a silently matching bug.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping
from urllib.parse import quote

ALGORITHM = "ACS3-HMAC-SHA256"
MAX_CLOCK_SKEW_SECONDS = 15 * 60


@dataclass(frozen=True)
class SignatureError(Exception):
    """A rejected request: the API's error code, HTTP status and message."""

    code: str
    status: int
    message: str


def canonical_query(query: Mapping[str, str]) -> str:
    return "&".join(f"{key}={quote(query[key], safe='~')}" for key in sorted(query))


def parse_authorization(value: str) -> tuple[str, list[str], str]:
    """(access key id, signed header names, signature) from the Authorization header."""
    algorithm, _, rest = value.partition(" ")
    if algorithm != ALGORITHM:
        raise SignatureError(
            "IncompleteSignature", 400, f"The request signature algorithm {algorithm!r} is not supported."
        )
    fields = {}
    for part in rest.split(","):
        key, _, item = part.strip().partition("=")
        fields[key] = item
    if not all(fields.get(k) for k in ("Credential", "SignedHeaders", "Signature")):
        raise SignatureError(
            "IncompleteSignature", 400, "The request signature does not conform to Aliyun standards."
        )
    return fields["Credential"], fields["SignedHeaders"].split(";"), fields["Signature"]


def string_to_sign(
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    signed_headers: list[str],
    body: bytes,
) -> str:
    lower = {k.lower(): v for k, v in headers.items()}
    canonical_headers = "".join(f"{name}:{str(lower.get(name, '')).strip()}\n" for name in signed_headers)
    canonical_request = "\n".join(
        [
            method.upper(),
            path or "/",
            canonical_query(query),
            canonical_headers,
            ";".join(signed_headers),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    return f"{ALGORITHM}\n{hashlib.sha256(canonical_request.encode('utf-8')).hexdigest()}"


def verify(
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
    secrets: Mapping[str, str],
    tokens: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> str:
    """Return the caller's access key id, or raise SignatureError with the API's error code."""
    lower = {k.lower(): v for k, v in headers.items()}
    authorization = lower.get("authorization")
    if not authorization:
        raise SignatureError("MissingAuthorization", 400, "Authorization is mandatory for this action.")
    key_id, signed_headers, signature = parse_authorization(authorization)
    if key_id not in secrets:
        raise SignatureError("InvalidAccessKeyId.NotFound", 404, "Specified access key is not found.")
    for required in (
        "host",
        "x-acs-action",
        "x-acs-version",
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-content-sha256",
    ):
        if required not in signed_headers:
            raise SignatureError("IncompleteSignature", 400, f"The header {required} must be signed.")
    if lower.get("x-acs-content-sha256") != hashlib.sha256(body).hexdigest():
        raise SignatureError(
            "IncompleteSignature", 400, "The x-acs-content-sha256 header does not match the body."
        )
    try:
        stamp = datetime.strptime(lower["x-acs-date"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise SignatureError(
            "InvalidTimeStamp.Format", 400, "Specified time stamp or date value is not well formatted."
        ) from None
    if abs(((now or datetime.now(timezone.utc)) - stamp).total_seconds()) > MAX_CLOCK_SKEW_SECONDS:
        raise SignatureError(
            "InvalidTimeStamp.Expired", 400, "Specified time stamp or date value is expired."
        )
    expected = hmac.new(
        secrets[key_id].encode("utf-8"),
        string_to_sign(method, path, query, headers, signed_headers, body).encode("utf-8"),
        hashlib.sha256,
    ).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise SignatureError(
            "SignatureDoesNotMatch", 400, "Specified signature is not matched with our calculation."
        )
    token = lower.get("x-acs-security-token")
    if token is not None:
        if "x-acs-security-token" not in signed_headers or (tokens or {}).get(key_id) != token:
            raise SignatureError(
                "InvalidSecurityToken.Malformed", 400, "Specified SecurityToken is malformed."
            )
    return key_id
