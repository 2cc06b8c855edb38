"""The execution environment's build context installs this collection and every runtime requirement.

``ansible-builder create`` writes the context (no container engine needed); the image build then
runs the context's own ``_build/scripts/introspect.py`` over the installed collections to decide
what pip installs. This test runs that same script over the collection unpacked from the
context's tarball, so it checks what the image would really get, not a copy of our intent.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from tests.release.conftest import BIN_DIR, GALAXY, REPO_ROOT, tool_env

EE_FILE = REPO_ROOT / "execution-environment.yml"
# Requirements an EE gets elsewhere: ansible-core through the EE's ansible_core option; the
# ansible package (bundled collections, for pip-installed controllers) must not be in an EE.
PROVIDED_BY_THE_EE = {"ansible", "ansible-core"}


def requirement_lines(path: Path) -> list[str]:
    """Requirement lines of a pip file, following ``-r`` includes, without comments."""
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ")):
            lines.extend(requirement_lines(path.parent / line.split(None, 1)[1]))
        else:
            lines.append(line)
    return lines


def requirements(path: Path) -> dict[str, Requirement]:
    reqs = [Requirement(line) for line in requirement_lines(path)]
    return {req.name.lower(): req for req in reqs}


RUNTIME = requirements(REPO_ROOT / "requirements.txt")
DEV_ONLY = {name: req for name, req in requirements(REPO_ROOT / "requirements-dev.txt").items() if name not in RUNTIME}


@pytest.fixture(scope="module")
def context(built_tarball, tmp_path_factory) -> Path:
    """Run ``ansible-builder create`` on a copy of execution-environment.yml, as ``make ee-context`` does."""
    work = tmp_path_factory.mktemp("ee")
    shutil.copy(EE_FILE, work / EE_FILE.name)
    definition = yaml.safe_load(EE_FILE.read_text(encoding="utf-8"))
    # Copy the files the definition names, relative to it; the tarball is the one just built.
    named = [value for value in definition.get("dependencies", {}).values() if isinstance(value, str)]
    for entry in definition.get("additional_build_files", []):
        if entry["src"].endswith(".tar.gz"):  # the tarball make ee-context puts there
            (work / entry["src"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(built_tarball, work / entry["src"])
        else:
            named.extend(str(p.relative_to(REPO_ROOT)) for p in REPO_ROOT.glob(entry["src"]))
    for path in named:
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / path, work / path)
    out = work / "context"
    completed = subprocess.run([str(BIN_DIR / "ansible-builder"), "create", "--file", str(work / EE_FILE.name),
                                "--context", str(out), "--output-filename", "Containerfile"],
                               cwd=work, env=tool_env(), capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "No matches" not in completed.stdout + completed.stderr, completed.stdout + completed.stderr
    return out


@pytest.fixture(scope="module")
def context_collection(context, tmp_path_factory) -> Path:
    """The collection tarball of the context's galaxy requirements, unpacked as a collections path."""
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text(encoding="utf-8"))
    [entry] = galaxy["collections"]
    assert entry["type"] == "file"
    tarball = context / "_build" / entry["name"]  # the galaxy stage runs in /build = _build
    assert tarball.is_file(), f"{entry['name']} is not in the build context"
    root = tmp_path_factory.mktemp("ee-collections")
    target = root / "ansible_collections" / GALAXY["namespace"] / GALAXY["name"]
    target.mkdir(parents=True)
    with tarfile.open(tarball) as archive:
        archive.extractfile("MANIFEST.json")  # a built collection, not a source tree
        archive.extractall(target, filter="data")
    return root


@pytest.fixture(scope="module")
def introspected(context, context_collection, tmp_path_factory) -> dict[str, list[str]]:
    """What the image build's introspect step writes for pip and bindep."""
    out = tmp_path_factory.mktemp("introspect")
    containerfile = (context / "Containerfile").read_text(encoding="utf-8")
    run = next(line for line in containerfile.splitlines() if "/output/scripts/introspect.py introspect" in line)
    # The Containerfile's own options (user requirement files in /build = _build), minus its outputs.
    options = [arg.replace("/build/", f"{context / '_build'}/") for arg in run.split("introspect.py introspect", 1)[1].split()
               if not arg.startswith(("--write-pip", "--write-bindep"))]
    completed = subprocess.run([sys.executable, str(context / "_build" / "scripts" / "introspect.py"), "introspect",
                                str(context_collection), *options, "--write-pip", str(out / "pip.txt"),
                                "--write-bindep", str(out / "bindep.txt")],
                               capture_output=True, text=True, timeout=60, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    read = {name: (out / f"{name}.txt").read_text(encoding="utf-8").splitlines() if (out / f"{name}.txt").exists() else []
            for name in ("pip", "bindep")}
    return {name: [line.split("  #", 1)[0].strip() for line in lines if line.strip()] for name, lines in read.items()}


def test_the_ee_installs_every_runtime_requirement_with_its_pin(introspected):
    installed = {Requirement(line).name.lower(): Requirement(line) for line in introspected["pip"]}
    for name, requirement in RUNTIME.items():
        if name in PROVIDED_BY_THE_EE:
            assert name not in installed, f"{name} must come from the EE definition, not the collection's requirements"
            continue
        assert name in installed, f"{requirement} (requirements.txt) would not be installed in the EE"
        assert installed[name].specifier == requirement.specifier, name


def test_the_ee_installs_no_development_tool(context, introspected):
    installed = {Requirement(line).name.lower() for line in introspected["pip"]}
    assert not installed & set(DEV_ONLY), sorted(installed & set(DEV_ONLY))
    containerfile = (context / "Containerfile").read_text(encoding="utf-8")
    assert not [name for name in DEV_ONLY if f" {name}" in containerfile or f'"{name}' in containerfile]


def test_the_ee_ansible_core_is_the_one_we_test_with(context):
    containerfile = (context / "Containerfile").read_text(encoding="utf-8")
    install_refs = next(line for line in containerfile.splitlines() if line.startswith("ARG ANSIBLE_INSTALL_REFS="))
    refs = {Requirement(ref).name.lower(): Requirement(ref) for ref in install_refs.split("=", 1)[1].strip('"').split()}
    assert refs["ansible-core"].specifier == RUNTIME["ansible-core"].specifier
    assert "ansible-runner" in refs, "AWX runs jobs through ansible-runner inside the EE"
    assert set(refs) == {"ansible-core", "ansible-runner"}, "nothing else is installed next to ansible-core"


def test_the_context_installs_only_this_collection(context):
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text(encoding="utf-8"))
    assert set(galaxy) == {"collections"} and len(galaxy["collections"]) == 1
    containerfile = (context / "Containerfile").read_text(encoding="utf-8")
    assert "ansible-galaxy collection install" in containerfile and "-r requirements.yml" in containerfile


def test_system_requirements_come_from_bindep(introspected):
    from bindep.depends import Depends

    declared = (REPO_ROOT / "bindep.txt").read_text(encoding="utf-8")
    Depends(declared)  # parses, or raises
    lines = [line.strip() for line in declared.splitlines() if line.strip() and not line.startswith("#")]
    assert introspected["bindep"] == lines


def test_the_collection_declares_its_ee_requirements(installed_collection):
    meta = yaml.safe_load((installed_collection / "meta" / "execution-environment.yml").read_text(encoding="utf-8"))
    assert meta["dependencies"] == {"python": "requirements.txt", "system": "bindep.txt"}
    for path in meta["dependencies"].values():
        assert (installed_collection / path).is_file(), f"{path} is named by meta/execution-environment.yml but not shipped"
