"""kind_of names a value's type as the user wrote it, also for ansible-core 2.19's tagged values."""

from __future__ import annotations

import pytest
from ansible._internal._datatag._tags import Origin
from ansible.module_utils._internal._datatag import AnsibleTagHelper

from ansible_collections.winfleet.updates.plugins.module_utils._errors import kind_of


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("hvcl01", "string"),
        (True, "boolean"),
        (3, "integer"),
        (2.5, "float"),
        ({"a": 1}, "mapping"),
        (["a"], "list"),
        (None, "null"),
    ],
)
def test_plain_values_are_named_as_yaml_calls_them(value, expected):
    assert kind_of(value) == expected


@pytest.mark.parametrize(("value", "expected"), [("hvcl01", "string"), ({"a": 1}, "mapping"), (["a"], "list")])
def test_tagged_values_are_named_by_their_builtin_kind_not_ansibles_class(value, expected):
    tagged = AnsibleTagHelper.tag(value, Origin(path="/x/inventory.yml", line_num=3))
    assert type(tagged).__name__.startswith("_AnsibleTagged")
    assert kind_of(tagged) == expected
