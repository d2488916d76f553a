"""What adapter.py and bench.py share: the pinned SDK and the virtualenv adapters/python/install
makes for it, and re-executing a program with that virtualenv's python."""

from __future__ import annotations

import os
import sys

SDK_PACKAGE = "agent-relay-sdk"
SDK_VERSION = "3.1.0"

# The exit status of a program whose SDK virtualenv is missing or broken.
EXIT_NO_SDK = 3


def venv_dir() -> str:
    """Where adapters/python/install put the venv (the same rules)."""
    explicit = os.environ.get("RELAY_PY_SDK_VENV")
    if explicit:
        return explicit
    subdir = os.path.join("relay-conformance", "adapters", f"python-{SDK_VERSION}")
    cache = os.environ.get("RELAY_CONFORMANCE_CACHE")
    if cache:
        return os.path.join(cache, "adapters", f"python-{SDK_VERSION}")
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
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


def ensure_venv(label: str, script: str, reexec_mark: str) -> None:
    """Re-execute `script` with the SDK venv's python unless this already is it; `label` names the
    program in errors, `reexec_mark` is the environment variable that stops a re-execution loop."""
    venv = venv_dir()
    if os.path.realpath(sys.prefix) == os.path.realpath(venv):
        os.environ.pop(reexec_mark, None)
        return
    install = os.path.join(os.path.dirname(os.path.abspath(script)), "install")
    python = os.path.join(venv, "bin", "python")
    if not os.access(python, os.X_OK):
        sys.stderr.write(
            f"{label}: the {SDK_PACKAGE} {SDK_VERSION} virtualenv is missing ({venv}).\n"
            f"Create it with: {install}\n"
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
