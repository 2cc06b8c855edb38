"""The lab refuses module arguments as Ansible.Basic does: types, list elements, choices."""

from __future__ import annotations

import pytest

from tests.simlab.ansible_basic import validate

SPEC = {"options": {
    "name": {"type": "str", "required": True, "aliases": ["n"]},
    "count": {"type": "int"},
    "ratio": {"type": "float"},
    "force": {"type": "bool", "default": False},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "tags": {"type": "list", "elements": "str", "choices": ["a", "b"]},
    "ports": {"type": "list", "elements": "int"},
    "options": {"type": "dict"},
}}


@pytest.mark.parametrize(("args", "converted"), [
    ({"name": "x"}, {"name": "x"}),
    ({"n": "x"}, {"name": "x"}),
    ({"name": 5}, {"name": "5"}),
    ({"name": "x", "count": "12"}, {"name": "x", "count": 12}),
    ({"name": "x", "ratio": "0.5"}, {"name": "x", "ratio": 0.5}),
    ({"name": "x", "force": "yes"}, {"name": "x", "force": True}),
    ({"name": "x", "force": 0}, {"name": "x", "force": False}),
    ({"name": "x", "state": "absent"}, {"name": "x", "state": "absent"}),
    ({"name": "x", "tags": "a,b"}, {"name": "x", "tags": ["a", "b"]}),
    ({"name": "x", "ports": ["80", 443]}, {"name": "x", "ports": [80, 443]}),
    ({"name": "x", "options": '{"k": 1}'}, {"name": "x", "options": {"k": 1}}),
    ({"name": "x", "options": "k=v"}, {"name": "x", "options": {"k": "v"}}),
])
def test_accepted_and_converted(args, converted):
    assert validate("ns.c.m", SPEC, args) == (None, converted)


@pytest.mark.parametrize(("args", "message"), [
    ({"name": "x", "colour": 1}, "Unsupported parameters for (ns.c.m) module: colour. Supported parameters include:"),
    ({"count": 1}, "missing required arguments: name"),
    ({"name": "x", "count": "many"}, "argument for count is of type str and we were unable to convert to int"),
    ({"name": "x", "count": True}, "argument for count is of type bool and we were unable to convert to int"),
    ({"name": "x", "ratio": "half"}, "argument for ratio is of type str and we were unable to convert to float"),
    ({"name": "x", "force": "maybe"}, "argument for force is of type str and we were unable to convert to bool"),
    ({"name": "x", "force": 2}, "argument for force is of type int and we were unable to convert to bool"),
    ({"name": "x", "state": "gone"}, "value of state must be one of: present, absent. Got no match for: gone"),
    ({"name": "x", "tags": ["a", "c"]}, "value of tags must be one of: a, b. Got no match for: c"),
    ({"name": "x", "ports": ["http"]}, "elements value for option ports is of type str and we were unable to convert to int"),
    ({"name": "x", "options": 5}, "argument for options is of type int and we were unable to convert to dict"),
])
def test_refused_with_the_option_named(args, message):
    error, _ = validate("ns.c.m", SPEC, args)
    assert error is not None and error.startswith(message), error
