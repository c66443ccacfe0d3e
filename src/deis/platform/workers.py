"""Extra API processes (`DEIS_WORKERS`): they serve the primary's listening socket.

The primary process (`python -m deis.platform.server`) binds the API's socket, migrates
the database and starts the parts that run (router, runtime, builder, log collector).
With `workers` N > 1 it also starts N-1 worker processes,

    python -m deis.platform.server --state-dir DIR --worker-of PID --worker-fd FD

which inherit the socket (the kernel hands each connection to one of the processes),
build their own app and database engine, and start nothing else: they answer the
requests that only read the database and hand the others to the primary
(deis.platform.forwarding). A worker that exits while the platform runs is started
again; the primary stops them all when it stops, and a worker whose primary dies is
stopped by the kernel (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from types import TracebackType

from deis.settings import Settings

log = logging.getLogger("deis.platform")

PR_SET_PDEATHSIG = 1
RESTART_DELAY_S = 1.0


def die_with_parent(parent: int) -> None:
    """Have the kernel send SIGTERM to this process when `parent` exits."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # it died before the line above
        raise SystemExit(0)


class WorkerProcesses:
    """`count` worker processes serving `sock`, for as long as the `with` block runs."""

    def __init__(self, settings: Settings, sock: socket.socket, count: int, grace: float) -> None:
        self.settings = settings
        self.sock = sock
        self.count = count
        self.grace = grace
        self.processes: list[subprocess.Popen[bytes]] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._monitor = threading.Thread(target=self._watch, name="api-workers", daemon=True)

    def _spawn(self) -> subprocess.Popen[bytes]:
        fd = self.sock.fileno()
        command = [
            sys.executable, "-m", "deis.platform.server",
            "--state-dir", str(self.settings.state_dir),
            "--worker-of", str(os.getpid()),
            "--worker-fd", str(fd),
        ]  # fmt: skip
        process = subprocess.Popen(command, pass_fds=(fd,), stdin=subprocess.DEVNULL)  # noqa: S603
        log.info("API worker process started (pid %d)", process.pid)
        return process

    def __enter__(self) -> WorkerProcesses:
        with self._lock:
            self.processes = [self._spawn() for _ in range(self.count)]
        if self.count:
            self._monitor.start()
        return self

    def _watch(self) -> None:
        while not self._stopping.wait(RESTART_DELAY_S):
            with self._lock:
                for i, process in enumerate(self.processes):
                    code = process.poll()
                    if code is not None and not self._stopping.is_set():
                        log.error(
                            "API worker pid %d exited with status %s; starting another",
                            process.pid,
                            code,
                        )
                        self.processes[i] = self._spawn()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopping.set()
        with self._lock:
            for process in self.processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + self.grace
            for process in self.processes:
                try:
                    process.wait(timeout=max(deadline - time.monotonic(), 0.1))
                except subprocess.TimeoutExpired:
                    log.warning("API worker pid %d did not stop; killing it", process.pid)
                    process.kill()
                    process.wait()
        if self._monitor.is_alive():
            self._monitor.join(timeout=5)
