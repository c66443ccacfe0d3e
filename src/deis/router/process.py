"""The nginx master process: check a configuration, start, reload, stop, and tell
whether it runs. nginx daemonizes and writes its pid file; this module finds it there,
so that a platform restarted while nginx kept serving adopts the running nginx."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


class NginxError(RuntimeError):
    pass


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    output: str


def _state(pid: int) -> str | None:
    """The process state letter from /proc, None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rpartition(")")[2].split()[0]


def alive(pid: int) -> bool:
    state = _state(pid)
    return state is not None and state not in ("Z", "X")


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[1])


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (nginx's workers)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if len(fields) > 1 and fields[1] == str(pid):
            out.append(int(entry.name))
    return out


def _wait_gone(pids: list[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(alive(p) for p in pids):
            return True
        time.sleep(0.05)
    return not any(alive(p) for p in pids)


class NginxProcess:
    def __init__(
        self,
        prefix: Path,
        conf: Path,
        binary: str = "/usr/sbin/nginx",
        timeout: float = 30.0,
    ) -> None:
        self.prefix = prefix
        self.conf = conf
        self.binary = binary
        self.timeout = timeout
        self.pid_file = prefix / "nginx.pid"
        self.error_log = prefix / "error.log"
        self.stderr_path = prefix / "nginx.stderr"
        self._child: subprocess.Popen[bytes] | None = None

    def _args(self, conf: Path) -> list[str]:
        return [self.binary, "-p", str(self.prefix), "-c", str(conf)]

    def check(self, conf: Path) -> CheckResult:
        """`nginx -t` of `conf`, with its output."""
        try:
            done = subprocess.run(  # noqa: S603 - an argument list, never a shell
                [*self._args(conf), "-e", "stderr", "-t", "-q"],
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return CheckResult(False, str(exc))
        return CheckResult(done.returncode == 0, (done.stdout + done.stderr).strip())

    def _wait_child(self) -> None:
        if self._child is not None:
            try:
                self._child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                return
            self._child = None

    def pid(self) -> int | None:
        """The master's pid when it runs with our configuration, else None."""
        try:
            pid = int(self.pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        if (
            alive(pid)
            and "nginx: master process" in cmdline(pid)
            and str(self.conf) in cmdline(pid)
        ):
            return pid
        return None

    def workers(self) -> list[int]:
        pid = self.pid()
        return children(pid) if pid else []

    def start(self) -> int:
        """Start nginx as a child (`daemon off`, its own session); the master's pid once
        it serves. nginx outlives the platform's process unless stopped."""
        try:
            with open(self.stderr_path, "ab") as stderr:
                self._child = subprocess.Popen(  # noqa: S603 - an argument list, never a shell
                    [*self._args(self.conf), "-e", str(self.error_log), "-g", "daemon off;"],
                    stdin=subprocess.DEVNULL,
                    stdout=stderr,
                    stderr=stderr,
                    start_new_session=True,
                )
        except OSError as exc:
            raise NginxError(f"cannot run {self.binary}: {exc}") from exc
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self._child.poll() is not None:
                self._child = None
                tail = self.error_log.read_text()[-1000:] if self.error_log.exists() else ""
                raise NginxError(f"nginx did not start: {tail.strip()}")
            pid = self.pid()
            if pid == self._child.pid:
                return pid
            time.sleep(0.02)
        raise NginxError(f"nginx started but wrote no pid to {self.pid_file}")

    def reap(self) -> None:
        """Collect our child's exit status once it has exited (no zombie left)."""
        if self._child is not None and self._child.poll() is not None:
            self._child = None

    def signal(self, sig: signal.Signals) -> None:
        pid = self.pid()
        if pid is None:
            raise NginxError("nginx is not running")
        os.kill(pid, sig)

    def reload(self) -> None:
        """A graceful reload (SIGHUP): only for a changed nginx.conf, never for apps."""
        self.signal(signal.SIGHUP)

    def reopen_logs(self) -> None:
        self.signal(signal.SIGUSR1)

    def stop(self, grace: float = 10.0) -> None:
        """Graceful quit (SIGQUIT), then SIGTERM, then SIGKILL, workers included."""
        pid = self.pid()
        if pid is None:
            return
        self.kill(pid, children(pid), grace)

    def kill(self, pid: int | None, workers: list[int], grace: float = 10.0) -> None:
        """Stop the master `pid` (if still ours) and the given worker pids."""
        pids = ([pid] if pid else []) + workers
        pids = [p for p in pids if alive(p) and "nginx" in cmdline(p)]
        for sig, wait in ((signal.SIGQUIT, grace), (signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
            for p in pids:
                try:
                    os.kill(p, sig)
                except ProcessLookupError:
                    pass
            if _wait_gone(pids, wait):
                self._wait_child()
                return
            log.warning("nginx (%s) did not stop on %s", pids, sig.name)
        raise NginxError(f"nginx processes {pids} would not stop")
