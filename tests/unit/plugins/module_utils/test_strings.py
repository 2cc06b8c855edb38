"""Strings sent to a host or an API are full-matched and free of control characters; URLs are shown redacted."""

from __future__ import annotations

import pytest
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._strings import (
    check_text,
    redact_secrets,
    redact_url,
    redact_urls_in,
    url_secrets,
)


@pytest.mark.parametrize("value", ["netkvm.sys\n", "a\rb", "tab\there", "nul\x00", "del\x7f", "c1\x85", "sep\u2028"])
def test_control_characters_are_refused(value):
    with pytest.raises(InputError, match="field: must not contain control characters"):
        check_text("field", value)


@pytest.mark.parametrize(
    ("value", "kwargs", "message"),
    [
        (5, {}, "field: expected a string, got integer 5"),
        ("", {"allow_empty": False}, "field: expected a string, got an empty string"),
        ("x" * 257, {"max_length": 256}, "field: must be at most 256 characters, got 257"),
    ],
)
def test_types_emptiness_and_length(value, kwargs, message):
    with pytest.raises(InputError, match=message):
        check_text("field", value, **kwargs)


def test_a_plain_string_passes():
    assert check_text("field", "SAVService", max_length=256, allow_empty=False) == "SAVService"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/InstallVirtIo.ps1", "https://example.com/InstallVirtIo.ps1"),
        ("https://user:hunter2@example.com/x.ps1", "https://REDACTED@example.com/x.ps1"),
        ("https://user@example.com:8443/x.ps1", "https://REDACTED@example.com:8443/x.ps1"),
        (
            "https://b.oss-cn-hangzhou.aliyuncs.com/x.ps1?OSSAccessKeyId=LTAI&Expires=1&Signature=abc%2B",
            "https://b.oss-cn-hangzhou.aliyuncs.com/x.ps1?OSSAccessKeyId=REDACTED&Expires=REDACTED&Signature=REDACTED",
        ),
        ("https://a.blob.core.windows.net/c/x.ps1?sv=1&sig=abc#frag", "https://a.blob.core.windows.net/c/x.ps1?sv=REDACTED&sig=REDACTED"),
        ("https://h/x?justasecret", "https://h/x?REDACTED"),
        ("https://[::1]:8080/x?sig=1", "https://[::1]:8080/x?sig=REDACTED"),
    ],
)
def test_urls_lose_their_secrets_but_stay_recognisable(url, expected):
    assert redact_url(url) == expected


def test_an_unparsable_url_is_not_echoed():
    assert "hunter2" not in redact_url("https://u:hunter2@h:notaport/x")


def test_urls_inside_a_message_are_redacted():
    text = "cannot download https://u:hunter2@h/x.ps1?sig=s3cr3t: 404"
    assert redact_urls_in(text) == "cannot download https://REDACTED@h/x.ps1?sig=REDACTED: 404"


def test_every_secret_of_a_url_is_replaced_wherever_it_appears_in_a_result():
    url = "https://user:hunter2@example.com/x.ps1?sv=1&sig=s3cr%2Bt"
    result = {
        "msg": f"cannot download {url}: 404",
        "log_excerpt": ["GET /x.ps1?sv=1&sig=s3cr+t", "auth user hunter2"],
        "invocation": {"module_args": {"_url": url}},
        "exit_code": 1,
    }
    redacted = redact_secrets(result, url_secrets(url))
    text = repr(redacted)
    assert "hunter2" not in text and "s3cr" not in text, text
    assert redacted["msg"] == "cannot download https://REDACTED@example.com/x.ps1?sv=REDACTED&sig=REDACTED: 404"
    assert redacted["exit_code"] == 1


@pytest.mark.parametrize("url", [None, "", 5])
def test_no_url_means_nothing_to_redact(url):
    assert url_secrets(url) == {}
    assert redact_secrets({"msg": "x"}, url_secrets(url)) == {"msg": "x"}
