#!/usr/bin/env python3
"""relay-adapter/1 adapter for the Python SDK agent-relay-sdk (see docs/ADAPTERS.md): the pinned 3.1.0, or
the version or checkout sdk_venv.py says.

Reads one job line on stdin, starts the SDK's AgentRelayClient with the job's broker binary, makes
each action's call through the SDK and reports what it came to as JSON lines on stdout. Generic:
actions are interpreted by their `call` name only.

Run it as `python3 adapters/python/adapter.py`. It re-executes itself with the python of the SDK's
virtualenv (made by adapters/python/install) when it is not already running there. What it can pass
to each call is read from the loaded SDK's signatures, not from a version table.
"""

from __future__ import annotations

import os
import sys

from sdk_venv import EXIT_NO_SDK, SDK_PACKAGE, ensure_venv, source_dir, source_version

PROTOCOL = "relay-adapter/1"
# Exit statuses of the adapter's own failures.
EXIT_BAD_JOB = 2
EXIT_INTERNAL = 4

ensure_venv("python adapter", __file__, "RELAY_PY_ADAPTER_REEXEC")

# ---------------------------------------------------------------------------------------------
# From here on we run inside the SDK's virtualenv.

import asyncio  # noqa: E402
import inspect  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import traceback  # noqa: E402
from importlib import metadata  # noqa: E402
from typing import Any, Awaitable, Callable, Optional  # noqa: E402

import sdk_client  # noqa: E402

# The report goes to the original stdout; everything else written to fd 1 or sys.stdout (an SDK
# print, a warning) goes to stderr.
_report = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
os.dup2(2, 1)
sys.stdout = sys.stderr
logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(name)s: %(message)s")

try:
    from agent_relay.client import (  # noqa: E402
        AgentRelayClient,
        AgentRelayProcessError,
        AgentRelayProtocolError,
    )

    _source = source_dir()
    _installed_version = (source_version(_source) if _source else None) or metadata.version(SDK_PACKAGE)
except Exception as exc:  # the venv is broken
    sys.stderr.write(
        f"python adapter: cannot import {SDK_PACKAGE} from {sys.prefix}: {exc}\n"
        f"Re-create the virtualenv with: {os.path.join(os.path.dirname(os.path.abspath(__file__)), 'install')}\n"
    )
    sys.exit(EXIT_NO_SDK)


# How the SDK is named in messages: the package and the version actually loaded.
SDK_LABEL = f"{SDK_PACKAGE} {_installed_version}"


def sdk_params(method: str) -> frozenset[str]:
    """The keyword parameters of the loaded SDK's `AgentRelayClient.<method>` (empty if it has none)."""
    function = getattr(AgentRelayClient, method, None)
    if function is None:
        return frozenset()
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return frozenset()
    return frozenset(
        p.name for p in parameters if p.name != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    )


def emit(obj: dict[str, Any]) -> None:
    # ASCII only: a lone surrogate (from a "\ud800" escape) or U+2028 cannot break the line.
    _report.write(json.dumps(obj, ensure_ascii=True, separators=(",", ":")) + "\n")
    _report.flush()


def log(msg: str) -> None:
    sys.stderr.write(f"python adapter: {msg}\n")
    sys.stderr.flush()


class BadJob(Exception):
    pass


class Unsupported(Exception):
    """The SDK has no API for this call or cannot express these arguments."""


# Extra time an SDK call gets beyond its own deadlines before the adapter gives up on it.
GUARD_MS = 5000
# The SDK's shutdown(): after its request it waits shutdown_timeout_ms (3000 by default) for the
# broker to exit, then terminates it and waits 2 s more.
SDK_SHUTDOWN_WAIT_MS = 3000 + 2000


# ---------------------------------------------------------------------------------------------
# Outcomes


def outcome_of(exc: BaseException) -> dict[str, Any]:
    """Maps what an SDK call raised to an adapter outcome."""
    if isinstance(exc, Unsupported):
        return {"unsupported": {"message": str(exc)}}
    if isinstance(exc, AgentRelayProtocolError):
        # The SDK substitutes code "unknown", message "unknown error" and retryable false for
        # members the broker left out; those are what it exposes.
        return {
            "error": {
                "code": getattr(exc, "code", None),
                "message": exc.args[0] if exc.args else None,
                "retryable": getattr(exc, "retryable", None),
                "data": getattr(exc, "data", None),
            }
        }
    if isinstance(exc, AgentRelayProcessError):
        message = str(exc)
        if message.startswith("request timed out"):
            return {"timeout": {"message": message}}
        if message.startswith("broker exited") or message == "broker is not running":
            return {"disconnected": {"message": message}}
        return {"failed": {"message": message}}
    if isinstance(exc, (BrokenPipeError, ConnectionError)):
        return {"disconnected": {"message": f"{type(exc).__name__}: {exc}"}}
    return {"failed": {"message": f"{type(exc).__name__}: {exc}"}}


# ---------------------------------------------------------------------------------------------
# Calls: each maps the action's protocol-named args onto the SDK's API and the SDK's return value
# back onto the `ok` payload's `result`.


def _check_args(call: str, args: Any, required: tuple[str, ...], optional: tuple[str, ...]) -> dict[str, Any]:
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise Unsupported(f"{call}: args must be an object for this SDK's keyword API, got {json.dumps(args)}")
    for key in args:
        if key not in required and key not in optional:
            raise Unsupported(f"{SDK_LABEL} cannot pass `{key}` in {call}")
    for key in required:
        if key not in args:
            raise Unsupported(f"{SDK_LABEL} cannot make {call} without `{key}` (a required parameter)")
    for key in optional:
        if key in args and args[key] is None:
            raise Unsupported(f"{SDK_LABEL} cannot pass `{key}: null` in {call} (None means: leave it out)")
    return args


async def _spawn_pty(c: AgentRelayClient, a: Any) -> Any:
    # Whatever the loaded SDK's spawn_pty takes (3.2.x added skip_relay_prompt).
    a = _check_args("spawn_pty", a, ("name", "cli"), tuple(sorted(sdk_params("spawn_pty") - {"name", "cli"})))
    # The SDK builds restart_policy with its RestartPolicy dataclass: members it lacks raise, and
    # members left out are filled with its defaults (enabled=False among them).
    return await c.spawn_pty(**a)


async def _spawn_headless(c: AgentRelayClient, a: Any) -> Any:
    params = sdk_params("spawn_headless")
    a = _check_args("spawn_headless", a, ("name", "provider"), ("args", "channels", "task", "model", "cwd", "skip_relay_prompt"))
    for key in a:
        if key not in params:
            raise Unsupported(f"{SDK_LABEL}'s spawn_headless has no `{key}` parameter")
    return await c.spawn_headless(**a)


async def _release_agent(c: AgentRelayClient, a: Any) -> Any:
    a = _check_args("release_agent", a, ("name",), ("reason",))
    return await c.release(a["name"], a.get("reason"))


async def _send_input(c: AgentRelayClient, a: Any) -> Any:
    a = _check_args("send_input", a, ("name", "data"), ())
    return await c.send_input(a["name"], a["data"])


async def _set_model(c: AgentRelayClient, a: Any) -> Any:
    a = _check_args("set_model", a, ("name", "model"), ("timeout_ms",))
    return await c.set_model(a["name"], a["model"], timeout_ms=a.get("timeout_ms"))


async def _send_message(c: AgentRelayClient, a: Any) -> Any:
    params = sdk_params("send_message")
    a = _check_args("send_message", a, ("to", "text"), ("from", "thread_id", "priority", "data", "mode"))
    for key in a:
        if ("from_" if key == "from" else key) not in params:
            raise Unsupported(f"{SDK_LABEL}'s send_message has no `{key}` parameter")
    kwargs = {("from_" if k == "from" else k): v for k, v in a.items()}
    return await c.send_message(**kwargs)


async def _list_agents(c: AgentRelayClient, a: Any) -> Any:
    _check_args("list_agents", a, (), ())
    # The SDK returns result["agents"]; re-wrap it.
    return {"agents": await c.list_agents()}


async def _get_status(c: AgentRelayClient, a: Any) -> Any:
    _check_args("get_status", a, (), ())
    return await c.get_status()


async def _get_metrics(c: AgentRelayClient, a: Any) -> Any:
    a = _check_args("get_metrics", a, (), ("agent",))
    if "agent" in a and not (isinstance(a["agent"], str) and a["agent"]):
        raise Unsupported(
            f"{SDK_LABEL}'s get_metrics sends `agent` only when it is truthy, not {json.dumps(a['agent'])}"
        )
    return await c.get_metrics(a.get("agent"))


async def _get_crash_insights(c: AgentRelayClient, a: Any) -> Any:
    _check_args("get_crash_insights", a, (), ())
    return await c.get_crash_insights()


async def _preflight_agents(c: AgentRelayClient, a: Any) -> Any:
    a = _check_args("preflight_agents", a, ("agents",), ())
    if not a["agents"]:
        raise Unsupported(f"{SDK_LABEL}'s preflight_agents sends no request for an empty agents list")
    # The SDK returns None, not the broker's result.
    return await c.preflight_agents(a["agents"])


async def _shutdown(c: AgentRelayClient, a: Any) -> Any:
    _check_args("shutdown", a, (), ())
    # shutdown() returns None (it swallows its request's errors and timeouts), not the broker's result.
    return await c.shutdown()


async def _raw_request(c: AgentRelayClient, a: Any) -> Any:
    # Only public API is driven: the SDK's request function (`_request_ok`) is private.
    raise Unsupported(f"{SDK_LABEL} has no public low-level request function (_request_ok is private)")


def _by_signature(call: str, method: str, required: tuple[str, ...]) -> Callable[[AgentRelayClient, Any], Awaitable[Any]]:
    """A call the loaded SDK may or may not have (none in 3.1.0), whose protocol members are its
    parameters' names: made when the SDK has `method` taking them, else unsupported."""

    async def handler(c: AgentRelayClient, a: Any) -> Any:
        params = sdk_params(method)
        if not params:
            raise Unsupported(f"{SDK_LABEL} has no {method} API")
        a = _check_args(call, a, required, tuple(sorted(params - set(required))))
        for key in required:
            if key not in params:
                raise Unsupported(f"{SDK_LABEL}'s {method} has no `{key}` parameter")
        return await getattr(c, method)(**a)

    return handler


CALLS: dict[str, Callable[[AgentRelayClient, Any], Awaitable[Any]]] = {
    "spawn_pty": _spawn_pty,
    "spawn_headless": _spawn_headless,
    "release_agent": _release_agent,
    "send_input": _send_input,
    "set_model": _set_model,
    "send_message": _send_message,
    "list_agents": _list_agents,
    "get_status": _get_status,
    "get_metrics": _get_metrics,
    "get_crash_insights": _get_crash_insights,
    "preflight_agents": _preflight_agents,
    "shutdown": _shutdown,
    "raw_request": _raw_request,
    "resize_pty": _by_signature("resize_pty", "resize_pty", ("name", "rows", "cols")),
    "subscribe_channels": _by_signature("subscribe_channels", "subscribe_channels", ("name", "channels")),
    "unsubscribe_channels": _by_signature("unsubscribe_channels", "unsubscribe_channels", ("name", "channels")),
}


# ---------------------------------------------------------------------------------------------
# The run


def parse_job(line: bytes) -> dict[str, Any]:
    if not line.strip():
        raise BadJob("no job on stdin")
    try:
        job = json.loads(line)
    except ValueError as exc:
        raise BadJob(f"the job is not JSON: {exc}") from None
    if not isinstance(job, dict):
        raise BadJob("the job is not an object")
    if job.get("protocol") != PROTOCOL:
        raise BadJob(f"unsupported job protocol {json.dumps(job.get('protocol'))} (this adapter speaks {PROTOCOL})")
    broker = job.get("broker")
    if not isinstance(broker, dict) or not isinstance(broker.get("binary"), str):
        raise BadJob("the job has no broker.binary")
    if not isinstance(broker.get("name", ""), str):
        raise BadJob("broker.name is not a string")
    channels = broker.get("channels", [])
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        raise BadJob("broker.channels is not an array of strings")
    if broker.get("cwd") is not None and not isinstance(broker.get("cwd"), str):
        raise BadJob("broker.cwd is not a string")
    env = broker.get("env") or {}
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise BadJob("broker.env is not an object of strings")
    timeout = job.get("request_timeout_ms", 10_000)
    if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout <= 0:
        raise BadJob("request_timeout_ms is not a positive integer")
    actions = job.get("actions", [])
    if not isinstance(actions, list) or not all(isinstance(a, dict) and isinstance(a.get("call"), str) for a in actions):
        raise BadJob("actions is not an array of objects with a string call")
    for a in actions:
        t = a.get("timeout_ms")
        if t is not None and (not isinstance(t, int) or isinstance(t, bool) or t <= 0):
            raise BadJob("an action's timeout_ms is not a positive integer")
    return job


async def close_client(client: AgentRelayClient, wait_ms: int) -> None:
    await sdk_client.close_client(client, wait_ms / 1000, log)


async def perform(client: AgentRelayClient, index: int, action: dict[str, Any], request_timeout_ms: int) -> dict[str, Any]:
    """Makes one action's call and returns its outcome."""
    call = action["call"]
    handler = CALLS.get(call)
    if handler is None:
        return {"unsupported": {"message": f"{SDK_LABEL} has no API for a call named `{call}` (unknown to this adapter)"}}
    if call != "shutdown" and client._process is None:
        # After shutdown() the SDK forgets its broker, and its next call would start a new one (the
        # same fixture played again) instead of failing. One run of the adapter has one broker.
        return {"failed": {"message": f"the broker was shut down; {SDK_LABEL}'s {call}"
                                      " would start a new broker instead of failing, so it was not called"}}
    timeout_ms = action.get("timeout_ms") or request_timeout_ms
    # 3.1.0's request timeout is per client, not per call: set it for this call only.
    client._request_timeout_ms = timeout_ms
    guard_ms = timeout_ms + GUARD_MS + (SDK_SHUTDOWN_WAIT_MS if call == "shutdown" else 0)
    try:
        value = await asyncio.wait_for(handler(client, action.get("args")), timeout=guard_ms / 1000)
        return {"result": value}
    except asyncio.TimeoutError:
        return {"failed": {"message": f"the SDK call did not return within {guard_ms} ms"
                                      f" (its own request timeout is {timeout_ms} ms)"}}
    except Exception as exc:
        outcome = outcome_of(exc)
        if "failed" in outcome:
            log(f"action {index} ({call}) raised:\n{traceback.format_exc()}")
        return outcome
    finally:
        client._request_timeout_ms = request_timeout_ms


class Interrupt:
    """A termination signal to the adapter: the first one cancels the run (which still closes the
    client, briefly); a second one kills the broker at once."""

    def __init__(self) -> None:
        self.signalled = False
        self.client: Optional[AgentRelayClient] = None
        self.task: Optional[asyncio.Task[None]] = None

    def __call__(self) -> None:
        if not self.signalled:
            self.signalled = True
            if self.task is not None:
                self.task.cancel()
            return
        proc = self.client._process if self.client is not None else None
        if proc is not None and proc.returncode is None:
            proc.kill()


INTERRUPT = Interrupt()


async def run(job: dict[str, Any]) -> None:
    broker = job["broker"]
    request_timeout_ms = job.get("request_timeout_ms", 10_000)
    env = dict(os.environ)
    env.update(broker.get("env") or {})
    # The SDK replaces an empty channel list with ["general"] and an empty name with the basename of
    # cwd; what it then passes on the command line is for mock-broker to judge.
    client = AgentRelayClient(
        binary_path=broker["binary"],
        broker_name=broker.get("name"),
        channels=list(broker.get("channels", [])),
        cwd=broker.get("cwd"),
        env=env,
        request_timeout_ms=request_timeout_ms,
    )
    INTERRUPT.client = client
    client.on_broker_stderr(lambda line: log(f"[broker stderr] {line}"))
    close_wait_ms = max(request_timeout_ms, 5000)

    try:
        try:
            await asyncio.wait_for(client.start_client(), timeout=(request_timeout_ms + GUARD_MS) / 1000)
        except asyncio.TimeoutError:
            emit({"kind": "start_failed", "outcome": {"failed": {
                "message": f"start_client() did not return within {request_timeout_ms + GUARD_MS} ms"
                           f" (its request timeout is {request_timeout_ms} ms)"}}})
            return
        except Exception as exc:
            emit({"kind": "start_failed", "outcome": outcome_of(exc)})
            return
        emit({"kind": "started", "sdk": SDK_PACKAGE, "version": _installed_version})

        for index, action in enumerate(job.get("actions", [])):
            call = action["call"]
            outcome = await perform(client, index, action, request_timeout_ms)
            emit({"kind": "outcome", "action": index, "call": call, "outcome": outcome})
    finally:
        await close_client(client, 1000 if INTERRUPT.signalled else close_wait_ms)
        emit({"kind": "finished"})


def main() -> int:
    try:
        job = parse_job(sys.stdin.buffer.readline())
    except BadJob as exc:
        log(f"bad job: {exc}")
        return EXIT_BAD_JOB

    async def guarded() -> None:
        INTERRUPT.task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, INTERRUPT)  # the finally in run() still stops the broker
        await run(job)

    try:
        asyncio.run(guarded())
    except asyncio.CancelledError:
        log("interrupted")
        return EXIT_INTERNAL
    except Exception:
        log(f"internal error:\n{traceback.format_exc()}")
        return EXIT_INTERNAL
    return 0


if __name__ == "__main__":
    sys.exit(main())
