"""Subprocesses for the builder: argument lists, output streamed line by line, timeouts,
and the whole process group killed when the caller gives up (timeout or cancellation)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

Emit = Callable[[str], Awaitable[None]]


class CommandFailed(RuntimeError):
    def __init__(self, args: Sequence[str], returncode: int, output: str = "") -> None:
        self.args_ = list(args)
        self.returncode = returncode
        self.output = output
        super().__init__(f"{args[0]} exited with status {returncode}")


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


async def stream(
    args: Sequence[str],
    emit: Emit | None,
    *,
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    prefix: str = "",
    keep: int = 40,
    on_kill: Callable[[], Awaitable[None]] | None = None,
) -> tuple[int, list[str]]:
    """Run, sending each line of stdout+stderr to emit as it comes; (status, last lines)."""
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        start_new_session=True,
        limit=1024 * 1024,
    )
    tail: list[str] = []

    async def pump() -> None:
        assert proc.stdout is not None
        while True:
            try:
                raw = await proc.stdout.readline()
            except ValueError:  # a line longer than the limit: take it in pieces
                raw = await proc.stdout.read(64 * 1024)
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            tail.append(line)
            del tail[:-keep]
            if emit is not None:
                await emit(prefix + line)

    try:
        await asyncio.wait_for(pump(), timeout)
        rc = await asyncio.wait_for(proc.wait(), max(1.0, timeout))
    except BaseException:
        _kill_group(proc)
        if on_kill is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(on_kill())
        with contextlib.suppress(Exception):
            await asyncio.wait_for(proc.wait(), 10)
        raise
    return rc, tail


async def run(
    args: Sequence[str],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    input_: bytes | None = None,
    check: bool = True,
) -> tuple[int, bytes, bytes]:
    """Run to the end, collecting output; raises CommandFailed when check and it fails."""
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.PIPE if input_ is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        start_new_session=True,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(input_), timeout)
    except BaseException:
        _kill_group(proc)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(proc.wait(), 10)
        raise
    rc = proc.returncode if proc.returncode is not None else -1
    if check and rc != 0:
        raise CommandFailed(args, rc, err.decode("utf-8", "replace"))
    return rc, out, err
