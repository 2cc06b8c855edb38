# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Call a host again after its connection drops (for internal collection use only).

Installing the virtio NIC driver resets the network for about ten seconds; WinRM and PSRP
sessions opened before that are dead afterwards. ansible.windows users hit exactly this
(issues #190, #264, #516, #668). The maintainers' answer, used by ``win_updates``, is to retry
after an ``AnsibleConnectionFailure`` with a fresh connection. :class:`Reconnector` does that with
a bound: it gives up when the host has not answered for ``timeout`` seconds in a row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.utils.display import Display

try:  # the psrp connection plugin can leak requests' exceptions instead of AnsibleConnectionFailure
    from requests.exceptions import RequestException
except ImportError:  # pragma: no cover - requests comes with pywinrm / pypsrp
    RequestException = AnsibleConnectionFailure  # type: ignore[misc,assignment]

__all__ = ["CONNECTION_ERRORS", "Reconnector", "reset_connection"]

CONNECTION_ERRORS: tuple[type[BaseException], ...] = (AnsibleConnectionFailure, RequestException)

T = TypeVar("T")
display = Display()


def reset_connection(connection: Any, host: str | None = None) -> None:
    """Drop the dead session so that the next call opens a new one.

    Some connection plugins do not clear their session on ``reset()`` alone (WSMan shells stay
    allocated), so ``close()`` comes first, as ``ansible.windows``' reboot helper does. A failure of
    either is expected while the host is still away and is only logged.
    """
    for step in ("close", "reset"):
        try:
            getattr(connection, step)()
        except (AnsibleError, AttributeError, *CONNECTION_ERRORS) as err:
            display.vvvv(f"connection {step}() failed while the host is away: {err}", host=host)


@dataclass
class Reconnector:
    """Run host calls, retrying each after a dropped connection until ``timeout`` seconds of silence."""

    connection: Any
    timeout: float
    interval: float
    host: str | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    failures: int = field(default=0)

    def call(self, description: str, func: Callable[[], T]) -> T:
        """Return ``func()``; after a connection failure reset, wait ``interval`` and try again.

        Raises :class:`AnsibleConnectionFailure` naming ``description`` when the host stayed silent
        for ``timeout`` seconds; any other exception passes through untouched.
        """
        silent_since: float | None = None
        while True:
            try:
                return func()
            except Exception as err:  # pylint infers no class from CONNECTION_ERRORS; test it here
                if not isinstance(err, CONNECTION_ERRORS):
                    raise
                now = self.clock()
                silent_since = now if silent_since is None else silent_since
                self.failures += 1
                silent_for = now - silent_since
                if silent_for >= self.timeout:
                    raise AnsibleConnectionFailure(
                        f"{description}: the host has not answered for {silent_for:.0f} s "
                        f"(retried for up to {self.timeout:g} s); last error: {err}"
                    ) from err
                display.vv(
                    f"{description}: connection lost ({err}); reconnecting in {self.interval:g} s",
                    host=self.host,
                )
                reset_connection(self.connection, self.host)
                self.sleep(min(self.interval, self.timeout - silent_for))
