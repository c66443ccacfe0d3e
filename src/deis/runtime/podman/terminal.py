"""An interactive one-off run: `podman run -it` on a pseudo-terminal the platform holds.

podman gets the slave end of a pty as its terminal (it puts it in raw mode and relays it
to the container's own terminal); the platform keeps the master end. A resize sets the
pty's size and sends podman SIGWINCH, which makes podman resize the container's terminal
(podman has no controlling terminal here, so the kernel would not send it).
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import select
import signal
import struct
import subprocess
import termios
import threading
import time
import tty
from collections.abc import Callable, Mapping, Sequence

from deis.domain.terminal import STOPPED_EXIT_CODE, Watch
from deis.runtime.podman.podman import Podman

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
WRITE_SLICE = 0.25  # seconds a blocked write waits before it looks whether to give up
EXIT_WAIT = 30.0


def set_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class PtyTerminal:
    """Implements the Terminal port. `cleanup` frees what the run had besides its
    container (its network namespace); it runs once, from close()."""

    def __init__(
        self,
        podman: Podman,
        args: Sequence[str],
        env: Mapping[str, str],
        *,
        name: str,
        size: tuple[int, int],
        watch: Watch,
        cleanup: Callable[[], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.podman = podman
        self.name = name
        self.watch = watch
        self.clock = clock
        self._cleanup = cleanup
        self._stopped: str | None = None  # the limit that stopped the process
        self._told = False
        self._eof = False
        self._closed = False
        self._close_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._write_lock = threading.Lock()
        master, slave = os.openpty()
        try:
            set_size(slave, *size)
            tty.setraw(slave)  # no echo by this pty of keys typed before podman takes it
            self._process = podman.spawn_on_terminal(["run", "-it", *args], env, slave)
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        self._reader = master
        self._writer = os.dup(master)  # own fds, so that close() waits for each user
        os.set_blocking(self._writer, False)

    # --- the Terminal port -------------------------------------------------------------

    def read(self, timeout: float) -> bytes | None:
        with self._read_lock:
            if self._closed or self._eof:
                return self._end()
            now = self.clock()
            reason = self.watch.expired(now)
            if reason is not None and self._stopped is None:
                self._stop(reason)
            wait = min(timeout, self.watch.remaining(now)) if self._stopped is None else timeout
            ready, _, _ = select.select([self._reader], [], [], max(wait, 0.0))
            if not ready:
                if self._process.poll() is None:
                    return None
                self._eof = True  # it ended, and whatever else holds the pty is silent
                return self._end()
            try:
                data = os.read(self._reader, CHUNK)
            except BlockingIOError:
                return None
            except OSError as error:  # EIO: every slave end is closed, the process ended
                if error.errno not in (errno.EIO, errno.EBADF):
                    raise
                data = b""
            if data:
                self.watch.touch(self.clock())
                return data
            self._eof = True
            return self._end()

    def write(self, data: bytes) -> None:
        self.watch.touch(self.clock())
        view = memoryview(data)
        while view:
            with self._write_lock:  # held one slice at a time: resize and close get in
                if self._closed or self._eof:
                    return
                _, ready, _ = select.select([], [self._writer], [], WRITE_SLICE)
                if not ready:
                    continue  # the process reads no input now: keep it, up to the limits
                try:
                    view = view[os.write(self._writer, view) :]
                except BlockingIOError:
                    continue
                except OSError:  # the process ended: its input goes nowhere
                    return

    def resize(self, cols: int, rows: int) -> None:
        with self._write_lock:
            if self._closed:
                return
            set_size(self._writer, cols, rows)
        if self._process.poll() is None:
            try:
                os.kill(self._process.pid, signal.SIGWINCH)
            except ProcessLookupError:
                pass

    def wait(self) -> int:
        try:
            code = self._process.wait(EXIT_WAIT)
        except subprocess.TimeoutExpired:
            log.warning("%s did not end after its terminal closed: removing it", self.name)
            self.close()
            code = self._process.wait()
        return STOPPED_EXIT_CODE if self._stopped else code

    def close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        try:
            self.podman.remove([self.name])  # stops it at once, if it still runs
            try:
                self._process.wait(EXIT_WAIT)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        finally:
            with self._read_lock, self._write_lock:
                os.close(self._reader)
                os.close(self._writer)
            self._cleanup()

    # --- helpers -----------------------------------------------------------------------

    def _stop(self, reason: str) -> None:
        log.info("%s reached its %s limit: stopping it", self.name, reason)
        self._stopped = reason
        self.podman.remove([self.name])

    def _end(self) -> bytes:
        """b"" at the end; first a line saying which limit stopped the process, if one did."""
        if self._stopped is not None and not self._told:
            self._told = True
            return f"\r\n{self.watch.message(self._stopped)}\r\n".encode()
        return b""
