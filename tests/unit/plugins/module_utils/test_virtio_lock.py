"""Whose lock is stale: a holder on this controller whose process is gone."""

from __future__ import annotations

import pytest
from ansible_collections.winfleet.updates.plugins.module_utils._virtio_lock import Controller, owner_gone, parse_controller

HERE = Controller("ctl01", 100, "555")


def test_the_identity_is_safe_on_the_host_and_parses_back():
    odd = Controller("ctl 01/x", 7, "12:3")
    assert odd.identity == "ctl-01-x:7:12-3"
    assert parse_controller(odd.identity) == Controller("ctl-01-x", 7, "12-3")


@pytest.mark.parametrize("identity", ["", "nonsense", "host:notapid:1"])
def test_a_foreign_identity_is_not_ours(identity):
    assert parse_controller(identity) is None
    assert owner_gone(identity, HERE, lambda pid: None) is False


@pytest.mark.parametrize(
    ("holder", "running", "gone"),
    [
        ("ctl01:200:900", {}, True),  # the process is gone
        ("ctl01:200:900", {200: "900"}, False),  # still running
        ("ctl01:200:900", {200: "901"}, True),  # the pid was reused by another process
        ("ctl01:200:", {200: "901"}, False),  # start time unknown: assume it is the same process
        ("ctl02:200:900", {}, False),  # another controller: cannot be checked from here
    ],
)
def test_owner_gone(holder, running, gone):
    assert owner_gone(holder, HERE, running.get) is gone
