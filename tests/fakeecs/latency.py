"""How long the fake ECS takes, so that a benchmark against it is not faster than the real API.

Two costs, both settable (``FakeEcs(call_delay=..., script_seconds=...)``, or ``make fake-ecs``'s
``--call-delay`` / ``--script-seconds``):

* ``CALL_DELAY_S`` (0.3 s): every API call, from request to answer. Alibaba Cloud does not publish
  a latency figure; an OpenAPI call from outside the region's network (TLS set-up reused by the
  SDK, signature check, the control plane's work) commonly takes 0.1 to 0.5 s, so 0.3 s is a
  middle value, and calls answered concurrently each wait it (the server is threaded, like the
  real endpoint serves parallel callers).
* ``SCRIPT_SECONDS`` (2 s): from RunCommand to the invocation being ``Finished`` for a collection
  script the fake recognises (tests/fakeecs/scripts.py): the agent polls for the task, starts
  ``powershell.exe`` (about a second on its own) and uploads the output. Cloud Assistant reports
  the task ``Pending`` / ``Running`` until then, as DescribeInvocationResults documents
  (https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describeinvocationresults).

Functional tests set ``call_delay=0`` (tests/integration/conftest.py): they check behaviour, and
the benchmarks keep the defaults.
"""

from __future__ import annotations

import time

CALL_DELAY_S = 0.3
SCRIPT_SECONDS = 2.0


def wait(seconds: float) -> None:
    """Hold the current request's answer (only this request's thread)."""
    if seconds > 0:
        time.sleep(seconds)
