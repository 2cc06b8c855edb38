"""The fake ECS endpoint: a small threaded HTTP server on 127.0.0.1 (test code only).

    fake = FakeEcs(lab).start()          # random free port; fake.url == "http://127.0.0.1:PORT"
    fake.throttle(3)                     # the next 3 calls answer Throttling.User
    fake.fail("CreateSnapshot", "QuotaExceed.Snapshot")
    fake.deny("CreateSnapshotGroup")     # Forbidden.RAM, naming ecs:CreateSnapshotGroup
    fake.world.snapshot_seconds = 600    # slow snapshots (simulated seconds)
    fake.stop()

Every request is verified like the real endpoint would (ACS3-HMAC-SHA256 signature with the
test secret, content hash, clock skew, nonce reuse) before anything else, then fault knobs
apply, then :mod:`tests.fakeecs.api` answers from the lab. The server stops by itself after
``idle_timeout`` seconds without a request and after ``max_lifetime`` seconds in any case, so a
test that forgets to stop it cannot leave it running. ``python -m tests.fakeecs.server LAB``
runs one for manual use and prints how to point the modules at it.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakeecs import TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET, TEST_SECURITY_TOKEN
from tests.fakeecs import latency
from tests.fakeecs.api import ACTIONS, ApiError, EcsWorld, request_id
from tests.fakeecs.signature import SignatureError, verify
from tests.fakeecs.strict import check_request
from tests.simlab.state import Lab

API_VERSION = "2014-05-26"
#: Marker of an answer the handler drops (the connection closes instead).
LOST = "__lost__"
#: Key of extra response headers in an answer (not sent in the body).
HEADERS = "__headers__"


@dataclass
class Fault:
    """An answer forced on the next ``remaining`` matching calls (None: every call)."""

    action: str | None
    code: str
    message: str
    status: int
    remaining: int | None
    extra: dict[str, Any] | None = None
    #: Matching calls let through before the fault applies (0: the very next one).
    skip: int = 0
    #: Extra response headers of the fault's answer.
    headers: dict[str, str] | None = None

    def matches(self, action: str) -> bool:
        return (self.action is None or self.action == action) and (
            self.remaining is None or self.remaining > 0
        )


class FakeEcs:
    """A fake ECS endpoint over a simulated lab."""

    def __init__(
        self,
        lab: Lab,
        idle_timeout: float = 120.0,
        max_lifetime: float = 1800.0,
        call_delay: float = latency.CALL_DELAY_S,
        script_seconds: float = latency.SCRIPT_SECONDS,
    ) -> None:
        self.world = EcsWorld(lab)
        # Latency (tests/fakeecs/latency.py): every answer waits call_delay real seconds; a
        # recognised collection script finishes script_seconds after it was sent.
        self.call_delay = call_delay
        self.world.script_seconds = script_seconds
        self.idle_timeout = idle_timeout
        self.max_lifetime = max_lifetime
        self.secrets = {TEST_ACCESS_KEY_ID: TEST_ACCESS_KEY_SECRET}
        self.tokens = {TEST_ACCESS_KEY_ID: TEST_SECURITY_TOKEN}
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.rejected: list[tuple[str, str]] = []
        self._faults: list[Fault] = []
        self._tokens_seen: dict[tuple[str, str], tuple[dict[str, str], dict[str, Any]]] = {}
        #: action -> how many more answers of it are lost after the action ran
        self._lost: dict[str, int] = {}
        self._nonces: collections.deque[str] = collections.deque(maxlen=10000)
        self._lock = threading.RLock()
        self._last_request = time.monotonic()
        self._started = time.monotonic()
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self, port: int = 0) -> "FakeEcs":
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        serve = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="fakeecs", daemon=True
        )
        watchdog = threading.Thread(target=self._watchdog, name="fakeecs-watchdog", daemon=True)
        self._threads = [serve, watchdog]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=5)

    def _watchdog(self) -> None:
        """Stop the server when idle too long or alive too long (bounded, even if a test forgets)."""
        while not self._stopping.wait(0.2):
            now = time.monotonic()
            if now - self._last_request > self.idle_timeout or now - self._started > self.max_lifetime:
                self._stopping.set()
                if self._server is not None:
                    self._server.shutdown()
                return

    def __enter__(self) -> "FakeEcs":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- fault knobs -----------------------------------------------------------------------

    def throttle(
        self,
        count: int,
        action: str | None = None,
        code: str = "Throttling.User",
        retry_after_ms: int | None = None,
    ) -> None:
        """The next ``count`` calls (of ``action``, or any) are throttled; ``retry_after_ms`` adds the
        ``x-acs-retry-after`` header the OpenAPI gateway sends with a throttling answer (the header the
        official SDK, alibabacloud_tea_openapi ``Utils.get_throttling_time_left``, reads)."""
        headers = {"x-acs-retry-after": str(retry_after_ms)} if retry_after_ms else None
        self._add(
            Fault(action, code, "Request was denied due to user flow control.", 400, count, headers=headers)
        )

    def fail(
        self,
        action: str,
        code: str,
        message: str = "",
        status: int = 400,
        count: int | None = 1,
        skip: int = 0,
    ) -> None:
        """The next ``count`` calls of ``action`` fail with ``code`` (None: all of them), after
        ``skip`` calls of it that succeed."""
        self._add(
            Fault(
                action,
                code,
                message or f"The fake was told to fail {action} with {code}.",
                status,
                count,
                skip=skip,
            )
        )

    def deny(self, action: str) -> None:
        """The caller's RAM policy lacks ``ecs:<action>``: Forbidden.RAM with AccessDeniedDetail."""
        detail = {
            "AuthAction": f"ecs:{action}",
            "AuthPrincipalType": "SubUser",
            "AuthPrincipalDisplayName": "winfleet-ci",
            "NoPermissionType": "ImplicitDeny",
            "PolicyType": "AccountLevelIdentityBasedPolicy",
            "EncodedDiagnosticMessage": "AQEAAAAA",
        }
        self._add(
            Fault(
                action,
                "Forbidden.RAM",
                "User not authorized to operate on the specified resource, or this API doesn't support RAM.",
                403,
                None,
                {"AccessDeniedDetail": detail},
            )
        )

    def lose_response(self, action: str, count: int = 1) -> None:
        """The next ``count`` calls of ``action`` run, but the connection closes before the answer:
        "created, but the response was lost". A retry with the same ClientToken gets the first
        answer (https://www.alibabacloud.com/help/en/ecs/developer-reference/how-to-ensure-idempotence)."""
        with self._lock:
            self._lost[action] = self._lost.get(action, 0) + count

    def _take_lost(self, action: str) -> bool:
        with self._lock:
            if self._lost.get(action, 0) > 0:
                self._lost[action] -= 1
                return True
        return False

    def fail_snapshots_of(self, disk_id: str) -> None:
        """Snapshots of this disk end ``failed`` halfway through."""
        self.world.failing_disks.add(disk_id)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _forced(self, action: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(action):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    if fault.remaining is not None:
                        fault.remaining -= 1
                    return fault
        return None

    # -- requests --------------------------------------------------------------------------

    def count(self, action: str) -> int:
        return sum(1 for name, _params in self.calls if name == action)

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        """Verify, apply faults, answer: (HTTP status, JSON body)."""
        self._last_request = time.monotonic()
        rid = request_id()
        parts = urlsplit(path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        lower = {k.lower(): v for k, v in headers.items()}
        action = lower.get("x-acs-action") or query.get("Action", "")
        try:
            verify(method, parts.path, query, headers, body, self.secrets, self.tokens)
            nonce = lower.get("x-acs-signature-nonce", "")
            with self._lock:
                if nonce in self._nonces:
                    raise SignatureError(
                        "SignatureNonceUsed", 400, "Specified signature nonce was used already."
                    )
                self._nonces.append(nonce)
        except SignatureError as err:
            self.rejected.append((action, err.code))
            return err.status, {
                "RequestId": rid,
                "HostId": "127.0.0.1",
                "Code": err.code,
                "Message": err.message,
                "Recommend": "https://api.aliyun.com/troubleshoot",
            }
        if lower.get("x-acs-version") != API_VERSION:
            return 400, _error(
                rid,
                "InvalidVersion",
                f"Specified parameter Version is not valid: {lower.get('x-acs-version')}",
            )
        params = dict(query)
        if body and "application/x-www-form-urlencoded" in lower.get("content-type", ""):
            params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        with self._lock:
            self.calls.append((action, params))
        latency.wait(self.call_delay)
        fault = self._forced(action)
        if fault is not None:
            answer = {**_error(rid, fault.code, fault.message), **(fault.extra or {})}
            if fault.headers:
                answer[HEADERS] = fault.headers
            return fault.status, answer
        method_name = ACTIONS.get(action)
        if method_name is None:
            return 404, _error(
                rid,
                "InvalidApi.NotFound",
                f"Specified api {action} is not found, please check your url and method.",
            )
        token = params.get("ClientToken")
        try:
            check_request(action, params)
            if token and (action, token) in self._tokens_seen:
                # the same token with other parameters is refused, not answered from the first request
                # (https://www.alibabacloud.com/help/en/ecs/developer-reference/how-to-ensure-idempotence)
                first_params, first_answer = self._tokens_seen[(action, token)]
                if first_params != params:
                    raise ApiError(
                        "IdempotentParameterMismatch",
                        "The request uses the same client token as a previous, but non-identical request.",
                    )
                return self._maybe_lost(action, (200, {**first_answer, "RequestId": rid}))
            answer = getattr(self.world, method_name)(params)
        except ApiError as err:
            return err.status, {**_error(rid, err.code, err.message), **(err.extra or {})}
        if token:
            self._tokens_seen[(action, token)] = (dict(params), answer)
        return self._maybe_lost(action, (200, {"RequestId": rid, **answer}))

    def _maybe_lost(self, action: str, reply: tuple[int, dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        """The reply, or the marker that makes the handler close the connection without it."""
        if self._take_lost(action):
            return 0, {LOST: True}
        return reply


def _error(rid: str, code: str, message: str) -> dict[str, Any]:
    return {
        "RequestId": rid,
        "HostId": "127.0.0.1",
        "Code": code,
        "Message": message,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}",
    }


class _Handler(BaseHTTPRequestHandler):
    fake: FakeEcs
    protocol_version = "HTTP/1.1"
    # Headers and body are separate writes: without TCP_NODELAY every answer waits ~40 ms for
    # the client's delayed ACK (Nagle), which makes polling tests slow for no reason.
    disable_nagle_algorithm = True

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items()}
        try:
            status, payload = self.fake.handle(self.command, self.path, headers, body)
        except Exception as err:  # noqa: BLE001 - a bug in the fake must answer, not hang the client
            status, payload = (
                500,
                _error(request_id(), "InternalError", f"fake ECS bug: {type(err).__name__}: {err}"),
            )
        if payload.get(LOST):
            self.close_connection = True  # the action ran; its answer never arrives
            return
        extra_headers = payload.pop(HEADERS, None) or {}
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        for name, value in extra_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-acs-request-id", str(payload.get("RequestId", "")))
        self.end_headers()
        self.wfile.write(data)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's signature
        return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run the fake ECS endpoint over a simulated lab (test code only)."
    )
    parser.add_argument("lab", help="lab directory written by tests/simlab/build_lab.py")
    parser.add_argument("--idle-timeout", type=float, default=600.0, help="stop after this many idle seconds")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--call-delay", type=float, default=latency.CALL_DELAY_S,
                        help=f"seconds every API call takes (default {latency.CALL_DELAY_S})")
    parser.add_argument("--script-seconds", type=float, default=latency.SCRIPT_SECONDS,
                        help=f"seconds a collection script runs on an instance (default {latency.SCRIPT_SECONDS})")
    args = parser.parse_args(argv)
    fake = FakeEcs(Lab(args.lab), idle_timeout=args.idle_timeout, max_lifetime=float("inf"),
                   call_delay=args.call_delay, script_seconds=args.script_seconds).start(args.port)
    # The export lines first, so `eval "$(make -s fake-ecs LAB=lab | head -3)"` style use works.
    print(f"export ALIBABA_CLOUD_ACCESS_KEY_ID={TEST_ACCESS_KEY_ID}")
    print(f"export ALIBABA_CLOUD_ACCESS_KEY_SECRET={TEST_ACCESS_KEY_SECRET}")
    print(f"export WINFLEET_ECS_ENDPOINT={fake.url}")
    print(f"# fake ECS endpoint (SIMULATION, test credentials) over the lab {args.lab}; "
          f"{args.call_delay:g} s per call, {args.script_seconds:g} s per script; stops after "
          f"{args.idle_timeout:.0f} s idle or Ctrl-C")
    sys.stdout.flush()
    try:
        while not fake._stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
