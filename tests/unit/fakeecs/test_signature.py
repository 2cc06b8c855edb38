"""The fake's ACS3-HMAC-SHA256 check accepts what the SDK's own signer produces, and nothing else."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from alibabacloud_tea_openapi.utils import Utils
from darabonba.request import DaraRequest

from tests.fakeecs.signature import SignatureError, verify

SECRETS = {"AKID": "the-secret"}
NOW = datetime(2024, 5, 1, 8, 0, 0, tzinfo=timezone.utc)
EMPTY = hashlib.sha256(b"").hexdigest()


def signed(query=None, secret="the-secret", date="2024-05-01T08:00:00Z", extra_headers=None):
    """A request signed by the SDK's Utils.get_authorization, as the wire carries it."""
    request = DaraRequest()
    request.method = "POST"
    request.pathname = "/"
    request.query = (
        query if query is not None else {"RegionId": "cn-hangzhou", "InstanceId.1": "i-1", "Tag.1.Key": "a b"}
    )
    request.headers = {
        "host": "127.0.0.1:8080",
        "x-acs-version": "2014-05-26",
        "x-acs-action": "RunCommand",
        "user-agent": "AlibabaCloud winfleet.updates/0.1.0",
        "x-acs-date": date,
        "x-acs-signature-nonce": "n1",
        "accept": "application/json",
        "x-acs-content-sha256": EMPTY,
        **(extra_headers or {}),
    }
    request.headers["Authorization"] = Utils.get_authorization(
        request, "ACS3-HMAC-SHA256", EMPTY, "AKID", secret
    )
    return request


def check(request, query=None, headers=None, body=b"", now=NOW, tokens=None):
    return verify(
        request.method,
        request.pathname,
        query if query is not None else request.query,
        headers if headers is not None else request.headers,
        body,
        SECRETS,
        tokens,
        now,
    )


def test_a_request_signed_by_the_sdk_is_accepted():
    assert check(signed()) == "AKID"


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (
            lambda r: (
                r.query,
                {**r.headers, "Authorization": r.headers["Authorization"].replace("AKID", "OTHER")},
            ),
            "InvalidAccessKeyId.NotFound",
        ),
        (lambda r: ({**r.query, "InstanceId.1": "i-2"}, r.headers), "SignatureDoesNotMatch"),
        (lambda r: ({**r.query, "Extra": "1"}, r.headers), "SignatureDoesNotMatch"),
        (lambda r: (r.query, {**r.headers, "x-acs-action": "RebootInstances"}), "SignatureDoesNotMatch"),
        (
            lambda r: (r.query, {k: v for k, v in r.headers.items() if k != "Authorization"}),
            "MissingAuthorization",
        ),
        (lambda r: (r.query, {**r.headers, "Authorization": "HMAC-SHA1 x"}), "IncompleteSignature"),
        (lambda r: (r.query, {**r.headers, "x-acs-content-sha256": "0" * 64}), "IncompleteSignature"),
    ],
)
def test_tampered_requests_are_rejected(mutate, code):
    query, headers = mutate(signed())
    with pytest.raises(SignatureError) as err:
        check(signed(), query=query, headers=headers)
    assert err.value.code == code


def test_a_wrong_secret_does_not_match():
    with pytest.raises(SignatureError) as err:
        check(signed(secret="not-the-secret"))
    assert (err.value.code, err.value.status) == ("SignatureDoesNotMatch", 400)


def test_a_stale_date_is_expired():
    with pytest.raises(SignatureError) as err:
        check(signed(), now=NOW + timedelta(minutes=16))
    assert err.value.code == "InvalidTimeStamp.Expired"


def test_a_body_changes_the_hash():
    with pytest.raises(SignatureError):
        check(signed(), body=b"RegionId=cn-hangzhou")


def test_sts_token_must_be_signed_and_known():
    request = signed(extra_headers={"x-acs-security-token": "tok", "x-acs-accesskey-id": "AKID"})
    assert check(request, tokens={"AKID": "tok"}) == "AKID"
    with pytest.raises(SignatureError) as err:
        check(request, tokens={"AKID": "other"})
    assert err.value.code == "InvalidSecurityToken.Malformed"
