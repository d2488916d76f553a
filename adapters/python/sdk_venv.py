"""What adapter.py and bench.py share: which agent-relay-sdk to drive, the virtualenv
adapters/python/install makes for it, and re-executing a program with that virtualenv's python.

The SDK is chosen by the environment (relay-conformance's `--sdk python...` sets these):

- `RELAY_PY_SDK_VERSION`: a published version, installed by `adapters/python/install VERSION` in
  `<cache>/adapters/python-<VERSION>` (default: the pinned SDK_VERSION);
- `RELAY_PY_SDK_VENV`: a virtualenv of your own that has the SDK installed (overrides the above);
- `RELAY_PY_SDK_SOURCE`: a source checkout (a directory holding `agent_relay/`, `src/agent_relay/` or
  `packages/sdk-py/src/agent_relay/`), imported ahead of the virtualenv's copy; the virtualenv (the
  pinned one unless chosen otherwise) provides the SDK's dependencies.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Optional

SDK_PACKAGE = "agent-relay-sdk"
# The pinned version: what runs when nothing else is chosen.
SDK_VERSION = "3.1.0"

# The exit status of a program whose SDK virtualenv is missing or broken.
EXIT_NO_SDK = 3


def selected_version() -> str:
    """The published version asked for (the pinned one by default)."""
    return os.environ.get("RELAY_PY_SDK_VERSION") or SDK_VERSION


def venv_dir() -> str:
    """Where adapters/python/install put the venv (the same rules)."""
    explicit = os.environ.get("RELAY_PY_SDK_VENV")
    if explicit:
        return explicit
    name = f"python-{selected_version()}"
    subdir = os.path.join("relay-conformance", "adapters", name)
    cache = os.environ.get("RELAY_CONFORMANCE_CACHE")
    if cache:
        return os.path.join(cache, "adapters", name)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, subdir)
    venv = os.path.join(os.path.expanduser("~"), ".cache", subdir)
    if not os.path.isdir(venv):
        # A runner may give the program a scratch HOME: then look in the user's own home too.
        try:
            import pwd

            user_home = pwd.getpwuid(os.getuid()).pw_dir
        except (ImportError, KeyError):
            user_home = None
        if user_home and os.path.isdir(os.path.join(user_home, ".cache", subdir)):
            return os.path.join(user_home, ".cache", subdir)
    return venv


def source_dir() -> Optional[str]:
    """The directory holding the `agent_relay` package of RELAY_PY_SDK_SOURCE, if one is chosen;
    exits EXIT_NO_SDK when it holds none."""
    source = os.environ.get("RELAY_PY_SDK_SOURCE")
    if not source:
        return None
    for candidate in (source, os.path.join(source, "src"), os.path.join(source, "packages", "sdk-py", "src")):
        if os.path.isfile(os.path.join(candidate, "agent_relay", "__init__.py")):
            return os.path.abspath(candidate)
    sys.stderr.write(
        f"RELAY_PY_SDK_SOURCE={source} holds no agent_relay package"
        " (looked in ., src/ and packages/sdk-py/src/)\n"
    )
    sys.exit(EXIT_NO_SDK)


def source_version(package_dir: str) -> Optional[str]:
    """The version a source checkout declares: `version = "..."` of the nearest pyproject.toml."""
    here = package_dir
    for _ in range(3):
        pyproject = os.path.join(here, "pyproject.toml")
        if os.path.isfile(pyproject):
            with open(pyproject, encoding="utf-8") as file:
                match = re.search(r'^version\s*=\s*"([^"]+)"', file.read(), re.MULTILINE)
            return match.group(1) if match else None
        here = os.path.dirname(here)
    return None


def ensure_venv(label: str, script: str, reexec_mark: str) -> None:
    """Re-execute `script` with the SDK venv's python unless this already is it; `label` names the
    program in errors, `reexec_mark` is the environment variable that stops a re-execution loop.
    A chosen source checkout is put first on `sys.path`."""
    venv = venv_dir()
    if os.path.realpath(sys.prefix) == os.path.realpath(venv):
        os.environ.pop(reexec_mark, None)
        source = source_dir()
        if source is not None:
            sys.path.insert(0, source)
        return
    install = os.path.join(os.path.dirname(os.path.abspath(script)), "install")
    python = os.path.join(venv, "bin", "python")
    if not os.access(python, os.X_OK):
        sys.stderr.write(
            f"{label}: the {SDK_PACKAGE} {selected_version()} virtualenv is missing ({venv}).\n"
            f"Create it with: {install} {selected_version()}\n"
        )
        sys.exit(EXIT_NO_SDK)
    if os.environ.get(reexec_mark):
        sys.stderr.write(
            f"{label}: re-executed with {python}, but it does not run from {venv};"
            f" re-create the virtualenv with: {install}\n"
        )
        sys.exit(EXIT_NO_SDK)
    os.environ[reexec_mark] = "1"
    os.execv(python, [python, os.path.abspath(script), *sys.argv[1:]])
