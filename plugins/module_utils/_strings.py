# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks and redaction for strings that reach a host, an API or a message (for internal collection use only).

Two rules the whole collection follows:

* A string that is sent somewhere is checked with a *full* match and without control characters.
  Python's ``$`` also matches before a trailing newline
  (https://docs.python.org/3/library/re.html#regular-expression-syntax), so ``^...$`` with
  ``re.match`` lets ``'netkvm.sys\\n'`` through; ``re.fullmatch`` does not.
* A URL is shown only without the secrets it may carry: the user information of
  ``https://user:password@host/`` (RFC 3986 section 3.2.1 deprecates it for this reason,
  https://www.rfc-editor.org/rfc/rfc3986#section-3.2.1) and every query value, which holds the
  signature of a pre-signed URL (Alibaba Cloud OSS ``Signature=``,
  https://www.alibabacloud.com/help/en/oss/user-guide/upload-and-download-files-by-using-signed-urls;
  Azure SAS ``sig=``, https://learn.microsoft.com/en-us/rest/api/storageservices/create-service-sas).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError, kind_of

__all__ = ["REDACTED", "check_text", "control_character", "redact_secrets", "redact_url", "redact_urls_in", "url_secrets"]

REDACTED = "REDACTED"

# C0 and C1 control characters, DEL, and the Unicode line and paragraph separators: none belongs in
# a name, a path, a URL, an id, a tag or a description.
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Any URL inside a longer text (a message, an installer's output); trailing punctuation is the text's.
_URL_IN_TEXT_RE = re.compile(r"[a-z][a-z0-9+.-]*://[^\s'\"<>]*[^\s'\"<>.,;:)\]]", re.IGNORECASE)


def control_character(value: str) -> str | None:
    """The first control character of ``value``, as ``repr`` shows it, or ``None``."""
    found = _CONTROL_RE.search(value)
    return repr(found.group(0)) if found else None


def check_text(
    field: str,
    value: Any,
    *,
    max_length: int | None = None,
    allow_empty: bool = True,
    what: str = "a string",
) -> str:
    """Return ``value`` when it is a string without control characters and within ``max_length``."""
    if not isinstance(value, str):
        raise InputError(field, f"expected {what}, got {kind_of(value)} {value!r}")
    if not value and not allow_empty:
        raise InputError(field, f"expected {what}, got an empty string")
    bad = control_character(value)
    if bad is not None:
        raise InputError(field, f"must not contain control characters (found {bad}); got {redact_urls_in(value)!r}")
    if max_length is not None and len(value) > max_length:
        raise InputError(field, f"must be at most {max_length} characters, got {len(value)}")
    return value


def _redacted_netloc(parts: SplitResult) -> str:
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port is not None else ""
    user = f"{REDACTED}@" if parts.username is not None or parts.password is not None else ""
    return f"{user}{host}{port}"


def redact_url(url: Any) -> str:
    """``url`` without its user information, query values and fragment, safe for logs and reports.

    The scheme, host, port, path and the query's parameter *names* stay, so the operator still
    recognises which URL it is: ``https://REDACTED@h/x.ps1?Expires=REDACTED&Signature=REDACTED``.
    """
    text = str(url)
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return f"<a URL that cannot be parsed, {len(text)} characters>"
    if not parts.scheme or not parts.netloc:
        return text if "@" not in text and "?" not in text else f"<a URL, {len(text)} characters>"
    # A parameter without "=" may be a bare token: all of it goes.
    query = "&".join(
        f"{item.split('=', 1)[0]}={REDACTED}" if "=" in item else REDACTED
        for item in parts.query.split("&")
        if item
    )
    return urlunsplit((parts.scheme, _redacted_netloc(parts), parts.path, query, ""))


def redact_urls_in(text: Any) -> str:
    """``text`` with every URL in it redacted (for messages that quote what a user gave)."""
    return _URL_IN_TEXT_RE.sub(lambda found: redact_url(found.group(0)), str(text))


# Secret parts shorter than this are not replaced on their own (``sv=1`` would mangle every "1");
# the whole URL they belong to is still replaced.
_MIN_SECRET = 4


def url_secrets(url: Any) -> dict[str, str]:
    """What must never be shown of ``url``: text -> its replacement.

    The whole URL (becomes :func:`redact_url`), then its password, user name and query values as
    written and percent-decoded, because a host may echo any of them (an installer printing the
    URL it fetches, a download error quoting it decoded).
    """
    if not isinstance(url, str) or not url:
        return {}
    replacements = {url: redact_url(url)}
    try:
        parts = urlsplit(url)
        pieces = [parts.password, parts.username]
    except ValueError:
        return replacements
    pieces += [item.split("=", 1)[1] if "=" in item else item for item in parts.query.split("&") if item]
    for piece in pieces:
        for form in (piece, unquote(piece or "")):
            if form and len(form) >= _MIN_SECRET:
                replacements.setdefault(form, REDACTED)
    return replacements


def redact_secrets(value: Any, replacements: dict[str, str]) -> Any:
    """``value`` (a result: dicts, lists, strings) with every secret of ``replacements`` replaced, longest first."""
    if not replacements:
        return value
    if isinstance(value, str):
        for secret in sorted(replacements, key=len, reverse=True):
            value = value.replace(secret, replacements[secret])
        return value
    if isinstance(value, dict):
        return {key: redact_secrets(item, replacements) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_secrets(item, replacements) for item in value]
    return value
