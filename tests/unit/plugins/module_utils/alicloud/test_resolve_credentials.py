"""Credentials come from options, then ALIBABA_CLOUD_*, then the older ALICLOUD_* variables."""

from __future__ import annotations

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import (
    Credentials,
    resolve_credentials,
)
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError

OPTIONS = {"access_key_id": "opt-id", "access_key_secret": "opt-secret"}
NEW_ENV = {
    "ALIBABA_CLOUD_ACCESS_KEY_ID": "new-id",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "new-secret",
    "ALIBABA_CLOUD_SECURITY_TOKEN": "new-token",
}
OLD_ENV = {
    "ALICLOUD_ACCESS_KEY": "old-id",
    "ALICLOUD_SECRET_KEY": "old-secret",
    "ALICLOUD_SECURITY_TOKEN": "old-token",
}


@pytest.mark.parametrize(
    ("params", "environ", "expected"),
    [
        (OPTIONS, {}, ("opt-id", "opt-secret", None, "option access_key_id")),
        (OPTIONS, {**NEW_ENV, **OLD_ENV}, ("opt-id", "opt-secret", "new-token", "option access_key_id")),
        (
            {},
            NEW_ENV,
            ("new-id", "new-secret", "new-token", "environment variable ALIBABA_CLOUD_ACCESS_KEY_ID"),
        ),
        ({}, OLD_ENV, ("old-id", "old-secret", "old-token", "environment variable ALICLOUD_ACCESS_KEY")),
        (
            {},
            {**OLD_ENV, **NEW_ENV},
            ("new-id", "new-secret", "new-token", "environment variable ALIBABA_CLOUD_ACCESS_KEY_ID"),
        ),
        (
            {"access_key_id": None, "access_key_secret": ""},
            NEW_ENV,
            ("new-id", "new-secret", "new-token", "environment variable ALIBABA_CLOUD_ACCESS_KEY_ID"),
        ),
        (
            {**OPTIONS, "security_token": "opt-token"},
            NEW_ENV,
            ("opt-id", "opt-secret", "opt-token", "option access_key_id"),
        ),
    ],
)
def test_precedence(params, environ, expected):
    credentials = resolve_credentials(params, environ)
    assert (
        credentials.access_key_id,
        credentials.access_key_secret,
        credentials.security_token,
        credentials.source,
    ) == expected


@pytest.mark.parametrize(
    ("params", "environ", "field", "message"),
    [
        (
            {},
            {},
            "access_key_id",
            "no Alibaba Cloud credentials found; set access_key_id and access_key_secret",
        ),
        (
            {"access_key_id": "x"},
            {},
            "access_key_secret",
            "an access key id is given (option access_key_id) but no secret",
        ),
        (
            {},
            {"ALICLOUD_SECRET_KEY": "s"},
            "access_key_id",
            "an access key secret is given (environment variable ALICLOUD_SECRET_KEY) but no id",
        ),
    ],
)
def test_incomplete_credentials_name_what_is_missing(params, environ, field, message):
    with pytest.raises(InputError) as err:
        resolve_credentials(params, environ)
    assert err.value.field == field
    assert message in str(err.value)


def test_repr_and_messages_never_show_the_secret():
    credentials = Credentials("AKID", "very-secret-value", "sts-token-value")
    assert "very-secret-value" not in repr(credentials)
    assert "sts-token-value" not in repr(credentials)
    assert credentials.secrets() == ["AKID", "very-secret-value", "sts-token-value"]
    with pytest.raises(InputError) as err:
        resolve_credentials({"access_key_secret": "very-secret-value"}, {})
    assert "very-secret-value" not in str(err.value)
