#!/usr/bin/env python3
"""The Python SDK's benchmark driver: measures agent-relay-sdk's AgentRelayClient against mock-broker,
for relay-conformance's benchmark orchestrator (the interface is in README.md, "Benchmark driver").

It reads one job line on stdin: {"mock_broker": PATH, "runs": [{name, fixture, report, count |
events}, ...]}. Each run starts a fresh client whose broker is mock-broker playing the run's fixture,
makes the measured calls, then closes the broker's stdin without another request (as adapter.py
does) and waits for it to exit. At the end it prints one JSON line on stdout with the figures of
every run, or {"error": MESSAGE} for a run that failed. Logs go to stderr.

Run it as `python3 adapters/python/bench.py`. Like adapter.py, it re-executes itself with the python
of the SDK's virtualenv (made by adapters/python/install) when it is not already running there.

Exit status: 0 when the job could be run (whatever each run came to), 2 for an unusable job, 3 when
the SDK's virtualenv is missing or broken, 4 for an internal failure.
"""

from __future__ import annotations

import os
import sys

from sdk_venv import EXIT_NO_SDK, SDK_PACKAGE, SDK_VERSION, ensure_venv

EXIT_BAD_JOB = 2
EXIT_INTERNAL = 4

ensure_venv("python bench", __file__, "RELAY_PY_BENCH_REEXEC")

# ---------------------------------------------------------------------------------------------
# From here on we run inside the SDK's virtualenv.

import asyncio  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import platform  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from importlib import metadata  # noqa: E402
from typing import Any, Optional  # noqa: E402

import sdk_client  # noqa: E402

# The result line goes to the original stdout; everything else written to fd 1 or sys.stdout (an
# SDK print, a warning) goes to stderr.
_result_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
os.dup2(2, 1)
sys.stdout = sys.stderr
logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(name)s: %(message)s")

try:
    from agent_relay.client import AgentRelayClient, AgentRelayProtocolError  # noqa: E402

    _installed_version = metadata.version(SDK_PACKAGE)
except Exception as exc:  # the venv is broken
    sys.stderr.write(
        f"python bench: cannot import {SDK_PACKAGE} from {sys.prefix}: {exc}\n"
        f"Re-create the virtualenv with: {os.path.join(os.path.dirname(os.path.abspath(__file__)), 'install')}\n"
    )
    sys.exit(EXIT_NO_SDK)

BROKER_NAME = "bench"
CHANNELS = ["general"]
REQUEST_TIMEOUT_MS = 60_000
# A run that makes no progress (no call finished, no event seen) for this long has stalled (e.g. a
# write waiting in drain() for a broker that no longer reads: the SDK's request timeout does not
# cover it). The broker is then killed, which fails the SDK's pending requests.
STALL_S = REQUEST_TIMEOUT_MS / 1000 + 10
# After the measured calls: how long the broker may take to exit once its stdin is closed.
CLOSE_GRACE_S = 5.0
# ingest: how long to wait, after the response, for events still on their way.
SETTLE_S = 1.0

RUN_KINDS = {"round_trip": "count", "pipelined": "count", "ingest": "events"}
# round_trip: round trips in a row through the SDK, then as many through the floor, and so on.
TURN = 100
# The floor's line: the request line the SDK writes for list_agents().
FLOOR_LINE = b'{"v":1,"type":"list_agents","request_id":"req_2","payload":{}}\n'


def log(msg: str) -> None:
    sys.stderr.write(f"python bench: {msg}\n")
    sys.stderr.flush()


class BadJob(Exception):
    pass


class RunFailed(Exception):
    pass


def read_job_line() -> bytes:
    """The first non-blank line of stdin (stdin need not be closed after it)."""
    while True:
        line = sys.stdin.buffer.readline()
        if not line or line.strip():
            return line


def parse_job(line: bytes) -> dict[str, Any]:
    if not line.strip():
        raise BadJob("no job on stdin")
    try:
        job = json.loads(line)
    except ValueError as exc:
        raise BadJob(f"the job is not JSON: {exc}") from None
    if not isinstance(job, dict):
        raise BadJob("the job is not a JSON object")
    if not isinstance(job.get("mock_broker"), str) or not job["mock_broker"]:
        raise BadJob("the job has no mock_broker path")
    runs = job.get("runs")
    if not isinstance(runs, list):
        raise BadJob("the job has no runs array")
    names: set[str] = set()
    for index, run in enumerate(runs):
        where = f"runs[{index}]"
        if not isinstance(run, dict):
            raise BadJob(f"{where} is not an object")
        size_key = RUN_KINDS.get(run.get("name")) if isinstance(run.get("name"), str) else None
        if size_key is None:
            raise BadJob(f"{where}.name is {json.dumps(run.get('name'))}, not one of {', '.join(RUN_KINDS)}")
        if run["name"] in names:
            raise BadJob(f"{where}: a second {run['name']} run")
        names.add(run["name"])
        for key in ("fixture", "report"):
            if not isinstance(run.get(key), str) or not run[key]:
                raise BadJob(f"{where}.{key} is not a path")
        size = run.get(size_key)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise BadJob(f"{where}.{size_key} is not a non-negative integer")
    return job


# ---------------------------------------------------------------------------------------------
# Broker processes: never leave one running.

_live: Optional[AgentRelayClient] = None  # the client of the run under way


def kill_broker() -> None:
    proc = _live._process if _live is not None else None
    if proc is not None and proc.returncode is None:
        try:
            proc.kill()
        except ProcessLookupError:
            pass


class Progress:
    """Counts finished calls and seen events, for the stall watchdog."""

    def __init__(self) -> None:
        self.n = 0


async def watchdog(progress: Progress, label: str, task: asyncio.Task[Any]) -> None:
    last, since = -1, time.monotonic()
    while True:
        await asyncio.sleep(1.0)
        if progress.n != last:
            last, since = progress.n, time.monotonic()
        elif time.monotonic() - since > STALL_S:
            log(f"{label}: no progress for {STALL_S:.0f} s; killing the broker")
            kill_broker()
            task.cancel(f"no progress for {STALL_S:.0f} s (the SDK neither answered nor timed out)")
            return


def ensure_broker(client: AgentRelayClient) -> None:
    proc = client._process
    if proc is None or proc.returncode is not None:
        raise RunFailed(f"the broker has exited (code={None if proc is None else proc.returncode})")


_live_cat: Optional[asyncio.subprocess.Process] = None  # the floor's cat


def kill_cat() -> None:
    if _live_cat is not None and _live_cat.returncode is None:
        try:
            _live_cat.kill()
        except ProcessLookupError:
            pass


async def measure_round_trip(client: AgentRelayClient, run: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """The SDK's round trips, in turns with the floor of this runtime: `cat` over asyncio's
    subprocess pipes, one line written (and drained) and read back, as the SDK's own I/O goes."""
    global _live_cat
    samples: list[float] = []
    floor: list[float] = []
    clock = time.perf_counter_ns
    cat = await asyncio.create_subprocess_exec(
        "cat", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    _live_cat = cat
    if cat.stdin is None or cat.stdout is None:
        kill_cat()
        raise RunFailed("the floor's cat has no pipes")
    try:
        while len(samples) < run["count"]:
            turn = min(TURN, run["count"] - len(samples))
            for _ in range(turn):
                t0 = clock()
                cat.stdin.write(FLOOR_LINE)
                await cat.stdin.drain()
                if not await cat.stdout.readline():
                    raise RunFailed("the floor's cat ended")
                t1 = clock()
                floor.append((t1 - t0) / 1e3)
            for _ in range(turn):
                ensure_broker(client)
                t0 = clock()
                await client.list_agents()
                t1 = clock()
                samples.append((t1 - t0) / 1e3)
                progress.n += 1
    finally:
        cat.stdin.close()
        try:
            await asyncio.wait_for(cat.wait(), CLOSE_GRACE_S)
        except asyncio.TimeoutError:
            kill_cat()
            await cat.wait()
        _live_cat = None
    return {
        "samples_us": samples,
        "floor": {"what": f"cat over python {platform.python_version()}'s asyncio pipes", "samples_us": floor},
    }


async def measure_pipelined(client: AgentRelayClient, run: dict[str, Any], progress: Progress) -> dict[str, Any]:
    ensure_broker(client)
    count = run["count"]
    t0 = time.perf_counter_ns()
    # gather() wraps the calls in tasks, which start (and write their requests) in this order.
    await asyncio.gather(*(client.list_agents() for _ in range(count)))
    t1 = time.perf_counter_ns()
    return {"count": count, "seconds": (t1 - t0) / 1e9}


async def measure_ingest(client: AgentRelayClient, run: dict[str, Any], progress: Progress) -> dict[str, Any]:
    seen = 0

    def on_event(_event: Any) -> None:
        nonlocal seen
        seen += 1
        progress.n += 1

    client.on_event(on_event)
    ensure_broker(client)
    try:
        t0 = time.perf_counter_ns()
        await client.list_agents()
        t1 = time.perf_counter_ns()
        seen_at_response = seen
        settle_end = time.monotonic() + SETTLE_S
        while seen < run["events"] and time.monotonic() < settle_end:
            await asyncio.sleep(0.01)
        return {
            "events": run["events"],
            "seen_at_response": seen_at_response,
            "seen_total": seen,
            "seconds": (t1 - t0) / 1e9,
        }
    finally:
        log(f"ingest: the subscriber saw {seen} of {run['events']} events")


MEASURE = {"round_trip": measure_round_trip, "pipelined": measure_pipelined, "ingest": measure_ingest}


def describe(exc: BaseException) -> str:
    if isinstance(exc, AgentRelayProtocolError):
        return f"AgentRelayProtocolError [{exc.code}]: {exc}"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def close_broker(client: AgentRelayClient, label: str) -> None:
    await sdk_client.close_client(client, CLOSE_GRACE_S, lambda msg: log(f"{label}: {msg}"))


async def run_one(mock_broker: str, run: dict[str, Any]) -> dict[str, Any]:
    global _live
    label = run["name"]
    env = dict(os.environ)
    env["MOCK_BROKER_FIXTURE"] = run["fixture"]
    env["MOCK_BROKER_REPORT"] = run["report"]
    client = AgentRelayClient(
        binary_path=mock_broker,
        broker_name=BROKER_NAME,
        channels=list(CHANNELS),
        env=env,
        request_timeout_ms=REQUEST_TIMEOUT_MS,
    )
    client.on_broker_stderr(lambda line: log(f"{label}: [broker stderr] {line}"))
    progress = Progress()

    async def measured() -> dict[str, Any]:
        await client.start_client()
        return await MEASURE[label](client, run, progress)

    _live = client

    task = asyncio.ensure_future(measured())
    dog = asyncio.ensure_future(watchdog(progress, label, task))
    try:
        return await task
    except asyncio.CancelledError:
        if task.cancelled() and _interrupted is None:
            # Cancelled by the watchdog, not by a signal.
            return {"error": f"no progress for {STALL_S:.0f} s (the SDK neither answered nor timed out)"}
        raise
    except Exception as exc:
        log(f"{label}: failed:\n{traceback.format_exc()}")
        return {"error": describe(exc)}
    finally:
        dog.cancel()
        if not task.done():
            task.cancel()
        if _interrupted is not None:
            kill_broker()
        try:
            await close_broker(client, label)
        finally:
            kill_broker()
            _live = None


_interrupted: Optional[int] = None  # the signal that interrupted the job


async def main_async(job: dict[str, Any]) -> dict[str, Any]:
    global _interrupted
    main_task = asyncio.current_task()
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        global _interrupted
        log(f"{sig.name}: killing the broker and exiting")
        _interrupted = int(sig)
        kill_broker()
        kill_cat()
        if main_task is not None:
            main_task.cancel()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, on_signal, sig)

    result: dict[str, Any] = {
        "sdk": SDK_PACKAGE,
        "version": _installed_version,
        "runtime": f"python {platform.python_version()}",
    }
    for run in job["runs"]:
        size_key = RUN_KINDS[run["name"]]
        log(f"{run['name']}: {size_key} {run[size_key]}")
        result[run["name"]] = await run_one(job["mock_broker"], run)
    return result


def main() -> int:
    try:
        job = parse_job(read_job_line())
    except BadJob as exc:
        log(f"bad job: {exc}")
        return EXIT_BAD_JOB
    try:
        result = asyncio.run(main_async(job))
    except asyncio.CancelledError:
        kill_broker()
        kill_cat()
        log("interrupted")
        return 128 + (_interrupted or signal.SIGTERM)
    except Exception:
        kill_broker()
        kill_cat()
        log(f"internal error:\n{traceback.format_exc()}")
        return EXIT_INTERNAL
    _result_out.write(json.dumps(result, separators=(",", ":")) + "\n")
    _result_out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
