"""Content encoding and its limit, batching, result interpretation, reboot completion."""

from __future__ import annotations

import base64

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils import _ecs_cloud_assistant as c
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError


def test_content_is_base64_of_utf8():
    assert (
        base64.b64decode(c.encode_content("Write-Output 'Grüße'")).decode("utf-8") == "Write-Output 'Grüße'"
    )


@pytest.mark.parametrize(
    ("raw_bytes", "accepted"),
    [
        (16384, True),  # 21848 bytes once encoded: above the old 16 KB, within today's 24 KB
        (18432, True),  # exactly 24576 bytes once encoded
        (18433, False),  # 24580 bytes once encoded
    ],
)
def test_the_24_kb_limit_is_counted_after_encoding(raw_bytes, accepted):
    # RunCommandRequest.command_content of the pinned SDK: "cannot exceed 24 KB" after Base64
    content = "x" * raw_bytes
    if accepted:
        assert len(c.encode_content(content)) <= 24576
    else:
        with pytest.raises(InputError) as err:
            c.encode_content(content)
        assert err.value.field == "content"
        assert "24580 bytes after Base64 encoding, more than the 24576 RunCommand accepts" in str(err.value)


@pytest.mark.parametrize("content", ["", "   \n"])
def test_empty_content_is_refused(content):
    with pytest.raises(InputError, match="the PowerShell command is empty"):
        c.encode_content(content)


@pytest.mark.parametrize(
    ("count", "size", "expected"),
    [
        (0, 50, []),
        (1, 50, [1]),
        (50, 50, [50]),
        (51, 50, [50, 1]),
        (120, 50, [50, 50, 20]),
        (250, 100, [100, 100, 50]),
    ],
)
def test_batches(count, size, expected):
    items = [f"i-{n}" for n in range(count)]
    chunks = c.batches(items, size)
    assert [len(b) for b in chunks] == expected
    assert [i for b in chunks for i in b] == items


@pytest.mark.parametrize(
    ("ids", "field", "message"),
    [
        ([], "instance_ids", "expected at least one instance id"),
        (["i-1", "web01"], "instance_ids[1]", "'web01' is not an ECS instance id"),
        (["i-1", "i-2", "i-1"], "instance_ids[2]", "i-1 is listed twice"),
        ([None], "instance_ids[0]", "None is not an ECS instance id"),
    ],
)
def test_instance_ids_are_validated(ids, field, message):
    with pytest.raises(InputError) as err:
        c.validate_instance_ids(ids)
    assert err.value.field == field
    assert message in str(err.value)


def b64(text):
    return base64.b64encode(text.encode("utf-8")).decode()


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (
            {
                "InstanceId": "i-1",
                "InvocationStatus": "Success",
                "ExitCode": 0,
                "Output": b64("done\n"),
                "Dropped": 0,
            },
            {
                "status": "Success",
                "finished": True,
                "succeeded": True,
                "exit_code": 0,
                "output": "done\n",
                "output_truncated": False,
            },
        ),
        (
            {
                "InstanceId": "i-1",
                "InvocationStatus": "Failed",
                "ExitCode": 3,
                "ErrorCode": "ExitCodeNonzero",
                "Output": "",
            },
            {
                "status": "Failed",
                "finished": True,
                "succeeded": False,
                "exit_code": 3,
                "error_code": "ExitCodeNonzero",
            },
        ),
        (
            {"InstanceId": "i-1", "InvocationStatus": "Success", "ExitCode": 1},
            {"succeeded": False, "exit_code": 1},
        ),
        (
            {"InstanceId": "i-1", "InvocationStatus": "Running"},
            {"finished": False, "succeeded": False, "exit_code": None},
        ),
        ({"InstanceId": "i-1", "InvokeRecordStatus": "Running"}, {"status": "Running", "finished": False}),
        (
            {"InstanceId": "i-1", "InvocationStatus": "Failed", "ErrorCode": "ClientNotRunning"},
            {"finished": True, "succeeded": False, "error_code": "ClientNotRunning"},
        ),
        (
            {
                "InstanceId": "i-1",
                "InvocationStatus": "Success",
                "ExitCode": 0,
                "Output": b64("x" * 10),
                "Dropped": 7000,
            },
            {"dropped": 7000, "output_truncated": True, "succeeded": True},
        ),
        (
            {"InstanceId": "i-1", "InvocationStatus": "Success", "ExitCode": 0, "Output": "not base64!"},
            {"output": "not base64!"},
        ),
        (
            {
                "InstanceId": "i-1",
                "InvocationStatus": "Success",
                "ExitCode": 0,
                "Output": base64.b64encode(b"\xff\xfeok").decode(),
            },
            {"output": "\ufffd\ufffdok"},
        ),
    ],
)
def test_instance_result(record, expected):
    result = c.instance_result(record)
    assert {key: result[key] for key in expected} == expected


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (
            {
                "instance_id": "i-1",
                "error_code": "ClientNotRunning",
                "error_info": "agent stopped",
                "finished": True,
            },
            "i-1: the Cloud Assistant agent is not running on the instance; start the 'AliyunService' service",
        ),
        (
            {"instance_id": "i-1", "error_code": "ExitCodeNonzero", "exit_code": 3, "finished": True},
            "i-1: the command ended with exit code 3; see its output (ExitCodeNonzero)",
        ),
        ({"instance_id": "i-1", "error_code": "ExecutionTimeout", "finished": True}, "raise timeout"),
        (
            {"instance_id": "i-1", "status": "Running", "finished": False},
            "still Running when the wait ended; raise wait_timeout",
        ),
        (
            {
                "instance_id": "i-1",
                "error_code": "NotFound",
                "error_info": "no instance i-1 in region cn-hangzhou",
            },
            "i-1: no instance i-1 in region cn-hangzhou",
        ),
        (
            {"instance_id": "i-1", "error_code": None, "error_info": "not Running again after 60 s"},
            "i-1: not Running again after 60 s",
        ),
    ],
)
def test_failure_messages(result, message):
    assert message in c.failure_message(result)


@pytest.mark.parametrize(
    ("before", "seen_down", "status", "start", "finished"),
    [
        ("2024-05-01T08:00Z", False, "Running", "2024-05-01T08:00Z", False),  # not rebooted yet
        ("2024-05-01T08:00Z", True, "Running", "2024-05-01T08:00Z", True),  # seen down (same minute)
        ("2024-05-01T08:00Z", False, "Running", "2024-05-01T08:05Z", True),  # restarted between polls
        ("2024-05-01T08:00Z", True, "Starting", "2024-05-01T08:05Z", False),
        (None, False, "Running", None, False),
    ],
)
def test_reboot_finished(before, seen_down, status, start, finished):
    assert c.reboot_finished(before, seen_down, status, start) is finished
