"""Where credentials come from: one source for key and token, the SDK's chain, the alicloud names.

Nothing here contacts the instance metadata address (100.100.100.200): the CLI profile is a real
file in a temporary HOME read by alibabacloud_credentials' own CLIProfileCredentialsProvider, and
the RAM-role, OIDC and assume-role providers are injected through ``resolve_credentials``'s
``providers`` hook. A socket guard fails any test that tries to connect there anyway.
"""

from __future__ import annotations

import json
import socket

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import (
    Credentials,
    alicloud_argument_spec,
    resolve_credentials,
)
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError

METADATA = "100.100.100.200"
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
NO_METADATA = {"ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true"}


@pytest.fixture(autouse=True)
def no_metadata_traffic(monkeypatch):
    """Fail loudly if anything tries to reach the instance metadata service."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        if isinstance(address, tuple) and address[0] == METADATA:
            raise AssertionError(f"a test tried to contact the instance metadata address {METADATA}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


class FakeProvider:
    """An alibabacloud_credentials provider answering fixed STS credentials."""

    def __init__(self, name, key_id="role-id", secret="role-secret", token="role-token"):
        self.name = name
        self.values = (key_id, secret, token)

    def get_credentials(self):
        from alibabacloud_credentials.provider.refreshable import Credentials as LibCredentials

        key_id, secret, token = self.values
        return LibCredentials(
            access_key_id=key_id, access_key_secret=secret, security_token=token, provider_name=self.name
        )

    def get_provider_name(self):
        return self.name


class Recorder:
    """Injected provider factories that remember how they were called."""

    def __init__(self):
        self.calls = []

    def factories(self):
        def ecs_ram_role(role_name):
            self.calls.append(("ecs_ram_role", role_name))
            return FakeProvider("ecs_ram_role")

        def oidc(role_arn, provider_arn, token_file, session):
            self.calls.append(("oidc", role_arn, provider_arn, token_file, session))
            return FakeProvider("oidc_role_arn", "oidc-id", "oidc-secret", "oidc-token")

        def assume_role(base, role_arn, session):
            base_key = base.get_credentials().get_access_key_id()
            self.calls.append(("assume_role", base_key, role_arn, session))
            return FakeProvider("ram_role_arn", "assumed-id", "assumed-secret", "assumed-token")

        return {"ecs_ram_role": ecs_ram_role, "oidc": oidc, "assume_role": assume_role}


def values(credentials):
    return (credentials.access_key_id, credentials.access_key_secret, credentials.security_token)


@pytest.mark.parametrize(
    ("params", "environ", "expected", "source"),
    [
        (OPTIONS, {}, ("opt-id", "opt-secret", None), "module options"),
        (
            {**OPTIONS, "security_token": "opt-token"},
            NEW_ENV,
            ("opt-id", "opt-secret", "opt-token"),
            "module options",
        ),
        ({}, NEW_ENV, ("new-id", "new-secret", "new-token"), "ALIBABA_CLOUD_ACCESS_KEY_ID"),
        ({}, OLD_ENV, ("old-id", "old-secret", "old-token"), "ALICLOUD_ACCESS_KEY"),
        ({}, {**OLD_ENV, **NEW_ENV}, ("new-id", "new-secret", "new-token"), "ALIBABA_CLOUD_ACCESS_KEY_ID"),
        (
            {"access_key_id": None, "access_key_secret": ""},
            NEW_ENV,
            ("new-id", "new-secret", "new-token"),
            "ALIBABA",
        ),
    ],
)
def test_precedence(params, environ, expected, source):
    credentials = resolve_credentials(params, {**environ, **NO_METADATA})
    assert values(credentials) == expected
    assert source in credentials.source


@pytest.mark.parametrize(
    ("params", "environ"),
    [
        # a key given as options never picks up a token left in the environment
        (OPTIONS, NEW_ENV),
        (OPTIONS, OLD_ENV),
        # nor does one environment triple borrow the other's token
        (
            {},
            {
                "ALIBABA_CLOUD_ACCESS_KEY_ID": "new-id",
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "new-secret",
                "ALICLOUD_SECURITY_TOKEN": "old-token",
            },
        ),
    ],
)
def test_a_key_and_its_token_come_from_one_source(params, environ):
    assert resolve_credentials(params, {**environ, **NO_METADATA}).security_token is None


@pytest.mark.parametrize(
    ("params", "environ", "field", "message"),
    [
        (
            {},
            NO_METADATA,
            "access_key_id",
            "no Alibaba Cloud credentials found; set access_key_id and access_key_secret",
        ),
        (
            {"access_key_id": "x"},
            NO_METADATA,
            "access_key_secret",
            "an access key id is given (option access_key_id) but no secret",
        ),
        (
            {},
            {"ALICLOUD_SECRET_KEY": "s", **NO_METADATA},
            "access_key_id",
            "an access key secret is given (environment variable ALICLOUD_SECRET_KEY) but no id",
        ),
        # half a key from the options and the other half from the environment is not one source
        (
            {"access_key_id": "x"},
            {**NEW_ENV, **NO_METADATA},
            "access_key_secret",
            "an access key id is given",
        ),
        (
            {"security_token": "t"},
            {**NEW_ENV, **NO_METADATA},
            "security_token",
            "a security token is given without access_key_id and access_key_secret",
        ),
    ],
)
def test_incomplete_credentials_name_what_is_missing(params, environ, field, message):
    with pytest.raises(InputError) as err:
        resolve_credentials(params, environ)
    assert err.value.field == field
    assert message in str(err.value)


def write_cli_config(home, profiles, current):
    folder = home / ".aliyun"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(
        json.dumps({"current": current, "profiles": profiles}), encoding="utf-8"
    )


AK_PROFILE = {
    "name": "default",
    "mode": "AK",
    "access_key_id": "cli-id",
    "access_key_secret": "cli-secret",
    "region_id": "cn-hangzhou",
}
STS_PROFILE = {
    "name": "ops",
    "mode": "StsToken",
    "access_key_id": "sts-id",
    "access_key_secret": "sts-secret",
    "sts_token": "sts-token",
    "region_id": "cn-shanghai",
}


def test_the_current_cli_profile_in_home_is_used_when_nothing_else_is_set(tmp_path):
    write_cli_config(tmp_path, [AK_PROFILE, STS_PROFILE], "default")
    credentials = resolve_credentials({}, {"HOME": str(tmp_path), **NO_METADATA})
    assert values(credentials) == ("cli-id", "cli-secret", None)
    assert ".aliyun/config.json" in credentials.source


@pytest.mark.parametrize(
    ("params", "environ"),
    [
        ({"profile": "ops"}, {}),
        ({}, {"ALIBABA_CLOUD_PROFILE": "ops"}),
        ({}, {"ALICLOUD_PROFILE": "ops"}),
    ],
)
def test_a_named_cli_profile(tmp_path, params, environ):
    write_cli_config(tmp_path, [AK_PROFILE, STS_PROFILE], "default")
    credentials = resolve_credentials(params, {"HOME": str(tmp_path), **environ, **NO_METADATA})
    assert values(credentials) == ("sts-id", "sts-secret", "sts-token")
    assert "ops" in credentials.source


def test_an_unknown_profile_is_an_error_naming_the_source(tmp_path):
    write_cli_config(tmp_path, [AK_PROFILE], "default")
    with pytest.raises(InputError) as err:
        resolve_credentials({"profile": "nope"}, {"HOME": str(tmp_path), **NO_METADATA})
    assert err.value.field == "profile"
    assert "could not get Alibaba Cloud credentials from CLI profile nope" in str(err.value)


def test_without_any_key_the_instances_ram_role_is_used(tmp_path):
    recorder = Recorder()
    credentials = resolve_credentials({}, {"HOME": str(tmp_path)}, providers=recorder.factories())
    assert recorder.calls == [("ecs_ram_role", None)]  # the role name is discovered from metadata
    assert values(credentials) == ("role-id", "role-secret", "role-token")
    assert "RAM role of this ECS instance" in credentials.source
    assert credentials.provider is not None  # the SDK refreshes the STS token through it


@pytest.mark.parametrize(
    ("params", "environ"),
    [
        ({"ecs_role_name": "AWXRole"}, {}),
        ({}, {"ALICLOUD_ECS_ROLE_NAME": "AWXRole"}),
        ({}, {"ALIBABA_CLOUD_ECS_METADATA": "AWXRole"}),
    ],
)
def test_a_named_ram_role(tmp_path, params, environ):
    recorder = Recorder()
    credentials = resolve_credentials(
        params, {"HOME": str(tmp_path), **environ}, providers=recorder.factories()
    )
    assert recorder.calls == [("ecs_ram_role", "AWXRole")]
    assert credentials.security_token == "role-token"


def test_keys_win_over_the_ram_role(tmp_path):
    recorder = Recorder()
    credentials = resolve_credentials({}, {"HOME": str(tmp_path), **NEW_ENV}, providers=recorder.factories())
    assert recorder.calls == []
    assert credentials.access_key_id == "new-id"


def test_oidc_rrsa(tmp_path):
    recorder = Recorder()
    environ = {
        "HOME": str(tmp_path),
        "ALIBABA_CLOUD_OIDC_TOKEN_FILE": "/var/run/secrets/tokens/oidc-token",
        "ALIBABA_CLOUD_ROLE_ARN": "acs:ram::1:role/awx",
        "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": "acs:ram::1:oidc-provider/ack",
    }
    credentials = resolve_credentials({}, environ, providers=recorder.factories())
    assert recorder.calls == [
        (
            "oidc",
            "acs:ram::1:role/awx",
            "acs:ram::1:oidc-provider/ack",
            "/var/run/secrets/tokens/oidc-token",
            "winfleet-updates",
        )
    ]
    assert credentials.access_key_id == "oidc-id"


@pytest.mark.parametrize(
    ("params", "environ"),
    [
        ({**OPTIONS, "assume_role_arn": "acs:ram::1:role/ops", "assume_role_session_name": "s1"}, {}),
        (
            OPTIONS,
            {"ALICLOUD_ASSUME_ROLE_ARN": "acs:ram::1:role/ops", "ALICLOUD_ASSUME_ROLE_SESSION_NAME": "s1"},
        ),
    ],
)
def test_assume_role_uses_the_credentials_found(tmp_path, params, environ):
    recorder = Recorder()
    credentials = resolve_credentials(
        params, {"HOME": str(tmp_path), **environ}, providers=recorder.factories()
    )
    assert recorder.calls == [("assume_role", "opt-id", "acs:ram::1:role/ops", "s1")]
    assert values(credentials) == ("assumed-id", "assumed-secret", "assumed-token")
    assert credentials.source.startswith("role acs:ram::1:role/ops assumed with module options")


def test_the_alibaba_alicloud_option_names_are_aliases():
    spec = alicloud_argument_spec()
    aliases = {alias: name for name, option in spec.items() for alias in option.get("aliases", [])}
    assert {
        "alicloud_access_key": "access_key_id",
        "alicloud_secret_key": "access_key_secret",
        "alicloud_security_token": "security_token",
        "alicloud_region": "region_id",
        "alicloud_profile": "profile",
        "alicloud_assume_role_arn": "assume_role_arn",
    }.items() <= aliases.items()


def test_repr_and_messages_never_show_the_secret():
    credentials = Credentials("AKID", "very-secret-value", "sts-token-value")
    assert "very-secret-value" not in repr(credentials)
    assert "sts-token-value" not in repr(credentials)
    assert credentials.secrets() == ["AKID", "very-secret-value", "sts-token-value"]
    with pytest.raises(InputError) as err:
        resolve_credentials({"access_key_secret": "very-secret-value"}, NO_METADATA)
    assert "very-secret-value" not in str(err.value)
