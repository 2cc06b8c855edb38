"""The host's virtio lock as a Cloud Assistant script: PowerShell 2.0 only, values quoted, its answer read."""

from __future__ import annotations

import json
import re

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils._ecs_lock_script import (
    MARKER,
    lock_script,
    parse_lock_output,
)
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_probe_script import NOT_IN_POWERSHELL_2
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError

RUN = "ctl:4242:123456"


@pytest.mark.parametrize("state", ["present", "absent"])
@pytest.mark.parametrize("check_mode", [False, True])
def test_script_uses_nothing_newer_than_powershell_2_or_dotnet_2(state, check_mode):
    script = lock_script(state, RUN, rollout_id="CHG-1", controller=RUN, check_mode=check_mode)
    for construct in NOT_IN_POWERSHELL_2 + ("ToUnixTimeSeconds", ".Dispose()", "-Raw"):
        assert construct.lower() not in script.lower(), construct
    # the WinRM module's file and mutex, so both paths exclude each other
    assert "'winfleet\\virtio_lock.json'" in script and "'Global\\winfleet-virtio-lock'" in script
    assert f"$state = '{state}'" in script and f"$check = ${str(check_mode).lower()}" in script


def test_a_rollout_id_is_quoted_for_a_single_quoted_string():
    script = lock_script("present", RUN, rollout_id="CHG 'x'; Remove-Item C:\\ -Recurse")
    assert "$rolloutId = 'CHG ''x''; Remove-Item C:\\ -Recurse'" in script


def test_a_rollout_id_that_spells_a_placeholder_stays_as_it_was_given():
    script = lock_script("present", RUN, rollout_id="__TTL__ __CHECK__ __JSON__", ttl_s=60)
    assert "$rolloutId = '__TTL__ __CHECK__ __JSON__'" in script and "$ttl = 60" in script


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"state": "held"}, "state"),
        ({"run_id": "a b"}, "run_id"),
        ({"takeover": "x'; y"}, "takeover"),
        ({"rollout_id": "CHG\n1"}, "virtio_rollout_id"),
        ({"rollout_id": "x" * 129}, "virtio_rollout_id"),
        ({"ttl_s": 0}, "ttl_s"),
    ],
)
def test_bad_values_are_refused_naming_the_field(kwargs, field):
    args = {"state": "present", "run_id": RUN, **kwargs}
    with pytest.raises(InputError) as err:
        lock_script(args.pop("state"), args.pop("run_id"), **args)
    assert err.value.field == field


# What Windows PowerShell 5.1's ConvertTo-Json writes for the WinRM module's lock (two spaces after the
# colon, keys in hashtable order, quotes and apostrophes escaped), which the 2.0 script must read.
WRITTEN_BY_WINRM = """{
    "expires":  1700003600,
    "controller":  "ctl:1:2",
    "rollout_id":  "CHG \\"7\\" \\u0027x\\u0027",
    "started":  1700000000,
    "run_id":  "ctl:1:2"
}"""


@pytest.mark.parametrize(
    ("name", "expected"),
    [("run_id", "ctl:1:2"), ("rollout_id", "CHG \"7\" 'x'"), ("expires", "1700003600"), ("started", "1700000000")],
)
def test_the_scripts_field_reader_reads_the_file_the_winrm_module_writes(name, expected):
    script = lock_script("present", RUN)
    pattern = re.search(r"\[regex\]::Match\(\$Json, '\"' \+ \$Name \+ '(.*)'\)", script).group(1)
    match = re.search('"' + name + pattern, WRITTEN_BY_WINRM)
    assert match
    value = json.loads('"' + match.group(1) + '"') if match.group(1) is not None else match.group(2)
    assert value == expected


def test_the_answer_is_read_from_its_marker_line():
    holder = {"run_id": "other:1:1", "rollout_id": "CHG-A", "controller": "other:1:1", "started": 1, "expires": 2}
    output = "banner\r\n" + MARKER + json.dumps({"acquired": False, "attached": False, "busy": True, "released": False,
                                                 "changed": False, "holder": holder, "msg": "busy: run other:1:1"})
    answer = parse_lock_output(output)
    assert answer["busy"] and answer["holder"] == holder and answer["msg"] == "busy: run other:1:1"


@pytest.mark.parametrize("output", ["no marker", MARKER + "{not json", MARKER + '{"acquired": "yes"}'])
def test_an_unreadable_answer_is_an_error(output):
    with pytest.raises(InputError) as err:
        parse_lock_output(output)
    assert err.value.field == "lock_output"
