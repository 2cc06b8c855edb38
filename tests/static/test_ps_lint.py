"""hacking/ps_lint.py: every rule on a snippet it must flag and one it must accept, the command
line contract, the catalogue, and every .ps1/.psm1 of the collection linting clean."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
LINTER = REPO_ROOT / "hacking" / "ps_lint.py"
SCRIPTS = sorted(p for pattern in ("*.ps1", "*.psm1") for p in (REPO_ROOT / "plugins").rglob(pattern))


def _load_linter():
    spec = importlib.util.spec_from_file_location("ps_lint", LINTER)
    module = importlib.util.module_from_spec(spec)
    sys.modules["ps_lint"] = module
    spec.loader.exec_module(module)
    return module


ps_lint = _load_linter()


def codes(snippet: str, profile: str = "5.1", functions: tuple[str, ...] = ()) -> list[str]:
    return [f.code for f in ps_lint.lint_source("snippet.ps1", snippet.encode(), profile, functions)]


# (code, snippet that must raise it, snippet that does the same in a way 5.1 accepts)
RULE_CASES = [
    ("PS101", "$a = $b ?? 'x'", "$a = if ($null -eq $b) { 'x' } else { $b }"),
    ("PS101", "$a ??= 'x'", "if ($null -eq $a) { $a = 'x' }"),
    ("PS102", "$n = ${a}?.Name", "$n = if ($null -ne $a) { $a.Name }"),
    ("PS102", "$n = ${a}?[0]", "$n = if ($null -ne $a) { $a[0] }"),
    ("PS103", "Get-Item -LiteralPath 'x' && Remove-Item -LiteralPath 'x'",
     "Get-Item -LiteralPath 'x'; if ($?) { Remove-Item -LiteralPath 'x' }"),
    ("PS103", "Get-Item -LiteralPath 'x' || Remove-Item -LiteralPath 'x'",
     "try { Get-Item -LiteralPath 'x' -ErrorAction Stop } catch { Remove-Item -LiteralPath 'x' }"),
    ("PS104", "$a = $b ? 'yes' : 'no'", "$a = if ($b) { 'yes' } else { 'no' }"),
    ("PS105", "function f {\n    process { $_ }\n    clean { $x = 1 }\n}\n",
     "function f {\n    process { $_ }\n    end { $x = 1 }\n}\n"),
    ("PS201", "$s = $a | Join-String -Separator ','", "$s = $a -join ','"),
    ("PS201", "Test-Json -Json $text", "$null = ConvertFrom-Json -InputObject $text"),
    ("PS201", "Get-Error", "$Error[0]"),
    ("PS201", "$u = Get-Uptime", "$u = (Get-Date) - (Get-CimInstance -ClassName Win32_OperatingSystem).LastBootUpTime"),
    ("PS201", "ConvertFrom-Markdown -Path 'a.md'", "Get-Content -LiteralPath 'a.md' -Raw"),
    ("PS202", "$h = ConvertFrom-Json -InputObject $t -AsHashtable", "$h = ConvertFrom-Json -InputObject $t"),
    ("PS202", "$a | ForEach-Object -Parallel { $_ }", "$a | ForEach-Object -Process { $_ }"),
    ("PS202", "Get-Content -LiteralPath $p -AsByteStream", "Get-Content -LiteralPath $p -Encoding Byte"),
    ("PS202", "Invoke-WebRequest -Uri $u -SkipCertificateCheck", "Invoke-WebRequest -Uri $u -UseBasicParsing"),
    ("PS202", "Set-Content -LiteralPath $p -Value 1 -Encoding utf8NoBOM",
     "Set-Content -LiteralPath $p -Value 1 -Encoding UTF8"),
    ("PS301", "Test-Path -LiteralPath $p -Kind Leaf", "Test-Path -LiteralPath $p -PathType Leaf"),
    ("PS301", "Test-Path -LiteralPath $p -PathType File", "Test-Path -LiteralPath $p -PathType Leaf"),
    ("PS301", "Get-Content -LiteralPath $p -R", "Get-Content -LiteralPath $p -Raw"),  # ambiguous prefix
    ("PS302", "Get-Content -Path $p -LiteralPath $p", "Get-Content -LiteralPath $p"),
    ("PS302", "Get-CauReport -ClusterName c -Last -Report $r", "Get-CauReport -ClusterName c -Last -Detailed"),
    ("PS303", "Get-Frobnicator -Name x", "function Get-Frobnicator { param ($Name) }\nGet-Frobnicator -Name x"),
    ("PS401", "$x = Get-Content -LiteralPath $p -Raw | ConvertFrom-Json | ForEach-Object { $_ }",
     "$x = (Get-Content -LiteralPath $p -Raw | ConvertFrom-Json) | ForEach-Object { $_ }"),
    ("PS401", "Get-Content -LiteralPath $p -Raw | ConvertFrom-Json | Where-Object { $_.a }",
     "$items = Get-Content -LiteralPath $p -Raw | ConvertFrom-Json\n$items | Where-Object { $_.a }"),
    ("PS401", "$j | ConvertFrom-Json | Select-Object -First 1",
     "@(ConvertFrom-Json -InputObject $j) | Select-Object -First 1"),
    ("PS402", "& cmd.exe /c ver *>> $log\n'done' | Add-Content -LiteralPath $log",
     "& cmd.exe /c ver *>> $log\n'done' | Add-Content -LiteralPath $log -Encoding Unicode"),
    ("PS402", "'a' >> $log\nSet-Content -LiteralPath $log -Value 'b' -Encoding UTF8",
     "'a' >> $log\n'b' | Out-File -FilePath $log -Append"),
    ("PS402", "'a' >> $log\n'b' | Out-File -FilePath $log -Append -Encoding ascii",
     "'a' >> $other\n'b' | Out-File -FilePath $log -Append -Encoding ascii"),
    ("PS403", "Invoke-Expression \"Get-Item $path\"", "Get-Item -LiteralPath $path"),
    ("PS403", "iex $command", "& $command @arguments"),
    ("PS403", "$text | Invoke-Expression", "Invoke-Expression 'Get-Date'"),
]

RULE_CASES_2_0 = [
    ("PS201", "$j = ConvertTo-Json -InputObject $a", "$s = $a -join ','"),
    ("PS201", "$o = ConvertFrom-Json -InputObject $t", "$o = Import-Clixml -LiteralPath $p"),
    ("PS201", "Invoke-RestMethod -Uri $u", "(New-Object -TypeName System.Net.WebClient).DownloadString($u)"),
    ("PS201", "Get-CimInstance -ClassName Win32_OperatingSystem", "Get-WmiObject -Class Win32_OperatingSystem"),
    ("PS202", "Get-Content -LiteralPath $p -Raw", "[System.IO.File]::ReadAllText($p)"),
    ("PS203", "$h = [ordered]@{ a = 1 }", "$h = @{ a = 1 }"),
    ("PS203", "$o = [pscustomobject]@{ a = 1 }", "$o = New-Object -TypeName PSObject -Property @{ a = 1 }"),
    ("PS203", "if ($a -in $list) { 1 }", "if ($list -contains $a) { 1 }"),
    ("PS203", "if ($a -notin $list) { 1 }", "if ($list -notcontains $a) { 1 }"),
    ("PS203", "$a | ForEach-Object { $PSItem }", "$a | ForEach-Object { $_ }"),
]


@pytest.mark.parametrize(("code", "bad", "good"), RULE_CASES, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(RULE_CASES)])
def test_rule_flags_the_bad_snippet_and_accepts_the_good_one(code, bad, good):
    assert code in codes(bad), f"{code} missed in: {bad}"
    assert code not in codes(good), f"{code} false positive in: {good}"


@pytest.mark.parametrize(("code", "bad", "good"), RULE_CASES_2_0,
                         ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(RULE_CASES_2_0)])
def test_profile_2_0_rule(code, bad, good):
    assert code in codes(bad, "2.0"), f"{code} missed with --profile 2.0 in: {bad}"
    assert code not in codes(bad, "5.1"), f"{code} is a 2.0-only finding, yet 5.1 reports it: {bad}"
    assert code not in codes(good, "2.0"), f"{code} false positive in: {good}"


def test_every_rule_has_a_test_a_reason_and_a_microsoft_page():
    tested = {code for code, _, _ in RULE_CASES + RULE_CASES_2_0} | {"PS901", "PS902"}
    assert set(ps_lint.RULES) == tested
    for rule in ps_lint.RULES.values():
        assert rule.why and "\n" not in rule.why
        assert rule.url.startswith("https://learn.microsoft.com/"), rule.code


def test_common_parameters_and_should_process_are_known():
    assert codes("Remove-Item -LiteralPath $p -Force -ErrorAction SilentlyContinue -WhatIf") == []
    assert codes("Get-Content -LiteralPath $p -WhatIf") == ["PS301"]  # Get-Content does not support ShouldProcess


def test_functions_of_the_script_and_of_required_module_utils_are_not_cmdlets():
    assert codes("Get-FileSha256 -Path $p") == ["PS303"]
    assert codes("Get-FileSha256 -Path $p", functions=("Get-FileSha256",)) == []
    script = REPO_ROOT / "plugins" / "modules" / "cau_hotfix_root.ps1"
    assert {p.name for p in ps_lint.required_module_utils(script, script.read_bytes())} == {"_FileHash.psm1"}


# --- suppressions ---------------------------------------------------------------------------

def test_a_suppression_with_a_reason_silences_its_line_or_the_next():
    same_line = "$x = $j | ConvertFrom-Json | ForEach-Object { $_ }  # ps-lint: disable=PS401 $j holds one object\n"
    line_above = "# ps-lint: disable=PS401 $j holds one object, never an array\n" \
                 "$x = $j | ConvertFrom-Json | ForEach-Object { $_ }\n"
    assert codes(same_line) == []
    assert codes(line_above) == []


def test_a_suppression_without_a_reason_does_not_suppress():
    assert sorted(codes("$x = $j | ConvertFrom-Json | ForEach-Object { $_ }  # ps-lint: disable=PS401\n")) == \
        ["PS401", "PS901"]


def test_a_suppression_of_another_code_or_of_nothing_is_reported():
    assert sorted(codes("$x = $j | ConvertFrom-Json | ForEach-Object { $_ }  # ps-lint: disable=PS403 wrong code\n")) \
        == ["PS401", "PS902"]
    assert codes("$x = 1  # ps-lint: disable=PS401 nothing here\n") == ["PS902"]
    assert sorted(codes("$x = 1  # ps-lint: disable=PS999 no such rule\n")) == ["PS901", "PS902"]


def test_a_marked_embedded_script_is_linted_with_its_own_line_numbers():
    script = ("$x = 1\n"
              "# ps-lint: script\n"
              "$worker = @'\n"
              "param ($Path)\n"
              "$items = Get-Content -LiteralPath $Path -Raw | ConvertFrom-Json | ForEach-Object { $_ }\n"
              "'@\n")
    findings = ps_lint.lint_source("m.ps1", script.encode())
    assert [(f.line, f.code) for f in findings] == [(5, "PS401")]
    assert findings[0].message.endswith("(in the embedded script)")
    unmarked = script.replace("# ps-lint: script\n", "")
    assert ps_lint.lint_source("m.ps1", unmarked.encode()) == []


# --- command line ------------------------------------------------------------------------------

def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(LINTER), *args], capture_output=True, text=True, timeout=60, check=False)


def test_cli_exit_codes_and_output_format(tmp_path):
    clean = tmp_path / "clean.ps1"
    clean.write_text("$x = @{ a = 1 }\n")
    dirty = tmp_path / "dirty.ps1"
    dirty.write_text("$x = 1\n$y = $x ?? 2\n")
    broken = tmp_path / "broken.ps1"
    broken.write_text("$x = @{ a = 1\nif ($x {\n")

    assert _run(str(clean)).returncode == 0
    result = _run(str(dirty))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"{dirty}:2:9: PS101 '??' is PowerShell 7 syntax; test for $null with if"]
    assert _run(str(broken)).returncode == 2
    assert _run(str(tmp_path / "missing.ps1")).returncode == 2
    assert _run(str(clean), str(broken), str(dirty)).returncode == 2


def test_cli_profile_2_0(tmp_path):
    script = tmp_path / "old.ps1"
    script.write_text("$h = [ordered]@{ a = 1 }\n")
    assert _run(str(script)).returncode == 0
    result = _run("--profile", "2.0", str(script))
    assert result.returncode == 1
    assert re.fullmatch(r".*old\.ps1:1:6: PS203 \[ordered\] needs PowerShell 3\.0\n", result.stdout)


# --- the catalogue --------------------------------------------------------------------------

def test_catalogue_entries_are_complete():
    for path in sorted((REPO_ROOT / "hacking" / "ps_catalogue").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert data["module"] == path.stem, path.name
        for name, entry in data["cmdlets"].items():
            assert re.fullmatch(r"https://learn\.microsoft\.com/en-us/powershell/module/[a-z.]+/[a-z-]+\?view=\S+",
                                entry["url"]), f"{name}: url"
            assert entry["url"].split("/")[-2] == data["module"].lower(), f"{name}: url of another module"
            assert entry["url"].split("/")[-1].split("?")[0] == name.lower(), f"{name}: url of another cmdlet"
            assert entry.get("windows") or data.get("windows"), f"{name}: windows versions"
            for pname, spec in (entry.get("parameters") or {}).items():
                assert spec.get("type"), f"{name} -{pname}: type"
                assert set(spec.get("sets") or []) <= set(entry.get("parameter_sets") or []), f"{name} -{pname}: sets"


def _called_cmdlets(script: Path) -> set[str]:
    source = script.read_bytes()
    functions = set()
    for psm1 in ps_lint.required_module_utils(script, source):
        functions |= ps_lint.exported_functions(psm1)
    linter = ps_lint.Linter(str(script), source, catalogue={}, known_functions=functions)
    return {c.name for c in linter.commands if c.name.lower() not in linter.functions and not c.invoked_by_operator}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_cmdlet_the_script_calls_is_catalogued(script):
    catalogue = ps_lint.load_catalogue()
    missing = sorted(name for name in _called_cmdlets(script)
                     if ps_lint.ALIASES.get(name.lower(), name).lower() not in catalogue)
    assert not missing, f"{script.name} calls {missing}, which hacking/ps_catalogue does not describe"


def test_an_uncatalogued_cmdlet_fails_the_catalogue_test(tmp_path):
    script = tmp_path / "new.ps1"
    script.write_text("Get-Service -Name x\nGet-WindowsFeature -Name Failover-Clustering\n")
    catalogue = ps_lint.load_catalogue()
    assert sorted(n for n in _called_cmdlets(script) if n.lower() not in catalogue) == ["Get-WindowsFeature"]


# --- the collection -------------------------------------------------------------------------

@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_collection_script_lints_clean(script):
    findings = ps_lint.lint_file(script)
    assert not findings, "\n".join(str(f) for f in findings)


def test_known_5_1_defects_are_caught():
    """The shapes of two defects this collection shipped, as they were written."""
    antivirus = ", @(Get-Content -LiteralPath $markerPath -Raw | ConvertFrom-Json | ForEach-Object { [string]$_ })"
    assert codes(antivirus) == ["PS401"]
    log = "'start' | Add-Content -LiteralPath $log\n& $pnputil @arguments *>> $log\n"
    assert codes(log) == ["PS402"]


def test_cloud_assistant_powershell_lints_clean_for_powershell_2_0():
    """What RunCommand runs may land on Windows Server 2008 R2, whose PowerShell is 2.0: the collection's
    own content and its documented example stay within 2.0."""
    from ansible_collections.winfleet.updates.plugins.module_utils._ecs_cloud_assistant import VIRTIO_PLUGIN_CONTENT
    from tests.static.test_module_contract import load_docs

    contents = {"VIRTIO_PLUGIN_CONTENT": VIRTIO_PLUGIN_CONTENT}
    for index, task in enumerate(yaml.safe_load(load_docs("ecs_cloud_assistant")["EXAMPLES"])):
        content = task["winfleet.updates.ecs_cloud_assistant"].get("content")
        if content:
            contents[f"EXAMPLES[{index}].content"] = content
    assert len(contents) == 2
    for where, content in contents.items():
        findings = ps_lint.lint_source(where, content.encode(), "2.0")
        assert not findings, "\n".join(map(str, findings))
