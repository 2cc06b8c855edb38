"""Offline stand-in for the pip bootstrap script ``ansible-test --venv`` downloads (development only).

``ansible-test sanity --venv`` creates each sanity test's virtual environment without pip and
bootstraps pip by downloading ``get-pip-<version>.py`` from ansible's CI file server, which our
machines cannot reach (only the package registries are). ansible-test's own error message says the
script "can be manually downloaded and saved to ~/.ansible/test/cache/get_pip_<version>.py";
``make sanity`` saves this file there instead (``python hacking/ansible_test_get_pip.py --install``),
unless a real bootstrap script is already cached.

Run by ansible-test, it does what get-pip does with the arguments ansible-test passes
(``pip==24.2 --no-setuptools --no-wheel --disable-pip-version-check``): install pip into the running
interpreter. It takes the pip wheel the standard library bundles (``ensurepip``, no network), then
lets that pip install the exact version ansible-test asked for from the package index, so the
environments are the ones ansible-test would have built.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

# get-pip.py options that plain ``pip install`` does not know.
_GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}
_MARKER = "Offline stand-in for the pip bootstrap script"


def cache_path() -> Path:
    """Where the installed ansible-test looks for the bootstrap script of the pip it pins."""
    from ansible_test._internal.python_requirements import get_venv_packages  # pylint: disable=import-outside-toplevel

    class _Python:  # get_venv_packages only reads .version
        version = f"{sys.version_info.major}.{sys.version_info.minor}"

    pip_version = get_venv_packages(_Python())["pip"]  # type: ignore[arg-type]
    return Path.home() / ".ansible" / "test" / "cache" / f"get_pip_{pip_version.replace('.', '_')}.py"


def install() -> int:
    """Put this script where ansible-test looks, keeping a real bootstrap script if one is there."""
    target = cache_path()
    if target.exists() and _MARKER not in target.read_text(encoding="utf-8", errors="replace"):
        print(f"{target}: a downloaded bootstrap script is cached; keeping it")
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(__file__, target)
    return 0


def bootstrap(args: list[str]) -> int:
    """Install pip as get-pip would, from the bundled wheel and then the package index."""
    args = [arg for arg in args if arg not in _GET_PIP_ONLY]
    # In a child process: ensurepip sets PIP_CONFIG_FILE=/dev/null in its own environment, which
    # would hide the machine's pip configuration (index, certificates) from the install below.
    bootstrapped = subprocess.call([sys.executable, "-m", "ensurepip", "--upgrade"])
    if bootstrapped != 0:
        return bootstrapped
    return subprocess.call([sys.executable, "-m", "pip", "install", "--quiet", *args])


if __name__ == "__main__":
    sys.exit(install() if sys.argv[1:] == ["--install"] else bootstrap(sys.argv[1:]))
