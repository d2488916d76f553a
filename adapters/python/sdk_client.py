"""Ending an agent-relay-sdk 3.1.0 client without another request, for adapter.py and bench.py.

3.1.0 has no public close or disconnect (its only way out, shutdown(), sends a request), so this
closes the broker's stdin through the client's process handle, waits for the broker to exit, and
only then terminates or kills it."""

from __future__ import annotations

import asyncio
from typing import Any, Callable


async def close_client(client: Any, wait_s: float, log: Callable[[str], None]) -> None:
    proc = client._process
    if proc is not None:
        if proc.returncode is None and proc.stdin is not None and not proc.stdin.is_closing():
            try:
                proc.stdin.close()
            except Exception:
                pass
        try:
            await asyncio.wait_for(proc.wait(), timeout=wait_s)
        except asyncio.TimeoutError:
            log(f"the broker did not exit within {wait_s:.1f} s of its stdin closing; terminating it")
            if proc.returncode is None:
                proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), timeout=2.0)
            except asyncio.TimeoutError:
                if proc.returncode is None:
                    proc.kill()
                try:
                    await asyncio.wait_for(proc.wait(), timeout=2.0)
                except asyncio.TimeoutError:
                    pass
    # Let the readers drain what the broker wrote last (mock-broker's diagnosis is on stderr).
    tasks = [t for t in (client._reader_task, client._stderr_task) if t is not None]
    if tasks:
        await asyncio.wait(tasks, timeout=1.0)
    for t in tasks:
        if not t.done():
            t.cancel()
        elif not t.cancelled() and t.exception() is not None:
            log(f"the SDK's reader task had died: {type(t.exception()).__name__}: {t.exception()}")
    if proc is not None:
        # A reader that died (a line over the SDK's 64 KiB limit) leaves the stdout pipe open; close
        # the process transport now rather than when the loop is gone.
        transport = getattr(proc, "_transport", None)
        if transport is not None:
            transport.close()
    client._process = None
    client._started = False
