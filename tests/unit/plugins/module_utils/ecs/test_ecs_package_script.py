"""The offline package installed from a URL through Cloud Assistant: validation, the script, its output."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils import _ecs_rollout as rollout
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_package_script import (
    MARKER,
    package_script,
    parse_package_output,
    validate_package_url,
)
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_probe_script import NOT_IN_POWERSHELL_2
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._preflight import validate
from hacking import ps_lint

SHA = "ab" * 32
URL = "https://bucket.oss-cn-hangzhou-internal.aliyuncs.com/it's/virtio.zip?Signature=s3cr3t"


@pytest.mark.parametrize(
    ("url", "checksum", "field", "text"),
    [
        ("ftp://mirror.example/virtio.zip", SHA, "package_url", "expected an http or https URL"),
        ("mirror.example/virtio.zip", SHA, "package_url", "expected an http or https URL"),
        ("https://mirror.example/virtio.zip", None, "package_checksum", "package_url needs package_checksum"),
        ("https://mirror.example/virtio.zip", "", "package_checksum", "package_url needs package_checksum"),
        ("https://mirror.example/virtio.zip", "d41d8cd98f00b204e9800998ecf8427e", "package_checksum", "SHA-256"),
        ("https://mirror.example/virtio.zip", SHA + "\n" + SHA, "package_checksum", "SHA-256"),
    ],
)
def test_bad_url_or_checksum_is_refused_naming_the_option(url, checksum, field, text):
    with pytest.raises(InputError) as caught:
        validate_package_url(url, checksum)
    assert caught.value.field == field and text in str(caught.value)
    assert "s3cr3t" not in str(caught.value)


def test_http_is_accepted_with_the_required_checksum_and_the_digest_is_upper_case():
    assert validate_package_url("http://mirror.example/v.zip", SHA) == ("http://mirror.example/v.zip", SHA.upper())


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"package_src": "/tmp/virtio.zip"}, "package_src"),
        ({}, "package_url"),
        ({"package_url": URL, "package_checksum": SHA, "script_url": "https://x/InstallVirtIo.ps1"}, "script_url"),
    ],
)
def test_package_source_options_on_the_api_path(options, field):
    with pytest.raises(InputError) as caught:
        rollout.install_command("package", **options)
    assert caught.value.field == field


def test_package_url_with_another_source_is_refused():
    with pytest.raises(InputError, match="only used with source=package") as caught:
        rollout.install_command("cloud_assistant", package_url=URL)
    assert caught.value.field == "package_url"


def test_the_script_quotes_the_url_and_checks_the_digest_before_installing():
    command = rollout.install_command("package", package_url=URL, package_checksum=SHA)
    script = command.content
    assert "$url = 'https://bucket.oss-cn-hangzhou-internal.aliyuncs.com/it''s/virtio.zip?Signature=s3cr3t'" in script
    assert f"$expected = '{SHA.upper()}'" in script
    assert script.index("ComputeHash") < script.index("ExtractToDirectory") < script.index("$pnputil $arguments")
    assert "'6.1' = 'win7'" in script and "'10.0' = 'win10'" in script
    assert "s3cr3t" not in command.description and "offline package" in command.description


def test_the_shell_unpack_is_waited_for_before_the_infs_are_looked_for():
    """Folder.CopyHere from a zip folder returns before the copy is done: the script waits (bounded)
    until every file of the archive is there, or it would find no .inf or install half a package."""
    script = package_script(URL, SHA)
    copy = script.index(".CopyHere(")
    wait = script.index("Get-ZipFileCount", copy)
    assert wait < script.index("$infDir = $null") and "Start-Sleep -Milliseconds" in script[copy:]
    assert "was not unpacked within" in script


def test_a_url_that_spells_a_placeholder_stays_inside_its_quoted_string():
    """Placeholders are filled in one pass: a URL path spelling __JSON__ is not replaced by PowerShell code."""
    script = package_script("https://b.example/__JSON__/__MARKER__.zip", SHA)
    assert "$url = 'https://b.example/__JSON__/__MARKER__.zip'" in script
    assert script.count("function Format-JsonString") == 1


def test_the_script_is_powershell_2_0():
    script = package_script(URL, SHA)
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("#"))
    for construct in NOT_IN_POWERSHELL_2:
        assert construct not in code
    findings = ps_lint.lint_source("package_script", script.encode(), "2.0")
    assert not findings, "\n".join(map(str, findings))


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("", None),
        ("noise", None),
        (MARKER + "{not json", None),
        (MARKER + '{"step":"checksum","error":"the package ... nothing was installed","infs":[]}',
         {"step": "checksum", "error": "the package ... nothing was installed", "infs": []}),
        ("agent noise\n" + MARKER + '{"step":"install","error":null,"infs":[{"inf":"a.inf","exit_code":0}]}',
         {"step": "install", "error": None, "infs": [{"inf": "a.inf", "exit_code": 0}]}),
    ],
)
def test_parse_package_output(output, expected):
    assert parse_package_output(output) == expected


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"virtio_transport": "ecs_api", "virtio_source": "package", "virtio_package_url": URL,
          "virtio_package_checksum": SHA}, None),
        ({"virtio_transport": "ecs_api", "virtio_source": "package", "virtio_package_url": URL},
         "virtio_package_checksum: virtio_package_url needs virtio_package_checksum"),
        ({"virtio_transport": "ecs_api", "virtio_source": "package"}, "virtio_package_url: virtio_source=package"),
        ({"virtio_source": "package", "virtio_package_src": "/tmp/v.zip", "virtio_package_url": URL},
         "virtio_package_url: is used only with virtio_transport=ecs_api"),
    ],
)
def test_preflight_names_the_users_variables(values, problem):
    if problem is None:
        validate("virtio_rollout", values)
        return
    with pytest.raises(InputError) as caught:
        validate("virtio_rollout", values)
    assert problem in str(caught.value) and "s3cr3t" not in str(caught.value)


@pytest.mark.parametrize("action", ["stop", "start"])
def test_the_antivirus_scripts_keep_the_winrm_modules_record_in_powershell_2_0(action):
    from ansible_collections.winfleet.updates.plugins.module_utils._ecs_antivirus_script import antivirus_script

    script = antivirus_script(["SAVService", "O'Brien"], action)
    # the file antivirus_services.ps1 keeps, so either transport restores what the other paused
    assert "'winfleet\\antivirus_paused.json'" in script
    winrm = (Path(__file__).resolve().parents[5] / "plugins" / "modules" / "antivirus_services.ps1").read_text(encoding="utf-8")
    assert "'winfleet\\antivirus_paused.json'" in winrm
    findings = ps_lint.lint_source(f"antivirus_script({action})", script.encode(), "2.0")
    assert not findings, "\n".join(map(str, findings))
    if action == "stop":  # recorded before the stop
        assert script.index("Write-PausedRecord $paused") < script.index("Stop-Service -Name")
