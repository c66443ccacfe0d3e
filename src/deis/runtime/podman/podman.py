"""The only place that runs podman: argument lists, timeouts, the platform's own config."""

from __future__ import annotations

import json
import logging
import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deis.stack.podman_conf import PodmanPaths

log = logging.getLogger(__name__)

PODMAN = "podman"
DEFAULT_TIMEOUT = 60.0
MAX_OUTPUT = 1024 * 1024


class PodmanError(RuntimeError):
    def __init__(self, args: Sequence[str], code: int, output: str) -> None:
        tail = output.strip()[-2000:]
        super().__init__(f"podman {' '.join(args[:2])} failed ({code}): {tail}")
        self.code = code
        self.output = output


@dataclass(frozen=True)
class Container:
    """One line of `podman ps -a --format json`."""

    id: str
    name: str
    state: str
    labels: dict[str, str] = field(default_factory=dict)
    started: float | None = None
    exit_code: int = 0
    pid: int = 0  # its init process on the host, while it runs

    @classmethod
    def from_ps(cls, row: Mapping[str, Any]) -> Container:
        names = row.get("Names") or [""]
        started = row.get("StartedAt")
        return cls(
            id=str(row.get("Id", "")),
            name=str(names[0]),
            state=str(row.get("State", "")).lower(),
            labels=dict(row.get("Labels") or {}),
            started=float(started) if isinstance(started, int | float) and started > 0 else None,
            exit_code=int(row.get("ExitCode") or 0),
            pid=int(row.get("Pid") or 0),
        )


@dataclass(frozen=True)
class Outcome:
    code: int
    output: str
    timed_out: bool = False


class Podman:
    def __init__(self, paths: PodmanPaths, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.paths = paths
        self.timeout = timeout

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            **self.paths.env(),
        }
        if extra:
            env.update(extra)
        return env

    def call(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
        check: bool = True,
        merge_stderr: bool = True,
    ) -> Outcome:
        """Run podman. Output is stdout and stderr together, or stdout only (when it must
        parse: podman writes warnings to stderr) with merge_stderr=False."""
        try:
            done = subprocess.run(  # noqa: S603 - an argument list, never a shell
                [PODMAN, *args],
                env=self.environment(env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
                timeout=timeout or self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as expired:
            raw = expired.output or b""
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
            if check:
                raise PodmanError(args, -1, f"timed out; {text}") from None
            return Outcome(-1, text[-MAX_OUTPUT:], timed_out=True)
        output = done.stdout.decode("utf-8", "replace")
        if not merge_stderr and done.stderr:
            warnings = done.stderr.decode("utf-8", "replace").strip()
            if done.returncode != 0:
                output = f"{output}{warnings}"
            else:
                log.debug("podman %s: %s", args[0], warnings)
        if check and done.returncode != 0:
            raise PodmanError(args, done.returncode, output)
        return Outcome(done.returncode, output[-MAX_OUTPUT:])

    # --- observing ---------------------------------------------------------------------

    def ps(self, labels: Mapping[str, str]) -> list[Container]:
        args = ["ps", "-a", "--format", "json"]
        for key, value in labels.items():
            args += ["--filter", f"label={key}={value}"]
        rows = json.loads(self.call(args, merge_stderr=False).output or "[]")
        return [Container.from_ps(row) for row in rows or []]

    def exposed_port(self, image: str) -> int | None:
        """The first TCP port the image exposes, if any."""
        outcome = self.call(
            ["image", "inspect", "--format", "json", "--", image], check=False, merge_stderr=False
        )
        if outcome.code != 0:
            return None
        try:
            config = json.loads(outcome.output)[0].get("Config") or {}
        except (ValueError, IndexError, AttributeError):
            return None
        ports = sorted((config.get("ExposedPorts") or {}).keys())
        for port in ports:
            number, _, proto = str(port).partition("/")
            if proto in ("", "tcp") and number.isdigit():
                return int(number)
        return None

    def logs(self, name: str, lines: int, last_run: bool = False) -> str:
        """The last `lines` lines the container printed (stdout and stderr), of its last
        run only with `last_run` (a restarted container keeps what every run printed);
        "" if none."""
        args = ["logs", "--tail", str(lines)]
        if last_run:
            inspected = self.call(
                ["container", "inspect", "--format", "json", name], check=False,
                merge_stderr=False,
            )  # fmt: skip
            try:  # RFC 3339 with nanoseconds: the runs of a crash loop are a second apart
                args += ["--since", json.loads(inspected.output)[0]["State"]["StartedAt"]]
            except (ValueError, LookupError, TypeError):
                pass
        outcome = self.call([*args, name], check=False)
        return outcome.output if outcome.code == 0 else ""

    def image_exists(self, image: str) -> bool:
        return self.call(["image", "exists", "--", image], check=False).code == 0

    # --- acting ------------------------------------------------------------------------

    def run_detached(self, args: Sequence[str], env: Mapping[str, str]) -> str:
        """`podman run -d ARGS`; env holds the values of the `-e NAME` in args (kept off argv)."""
        return self.call(["run", "-d", *args], env=env, timeout=max(self.timeout, 120)).output

    def run_attached(self, args: Sequence[str], env: Mapping[str, str], timeout: float) -> Outcome:
        return self.call(["run", *args], env=env, timeout=timeout, check=False)

    def spawn_on_terminal(
        self, args: Sequence[str], env: Mapping[str, str], tty: int
    ) -> subprocess.Popen[bytes]:
        """`podman ARGS` with a terminal (the slave end of a pty) as its stdin, stdout and
        stderr, in a session of its own (the platform's signals do not reach it)."""
        return subprocess.Popen(  # noqa: S603 - an argument list, never a shell
            [PODMAN, *args],
            env=self.environment(env),
            stdin=tty,
            stdout=tty,
            stderr=tty,
            start_new_session=True,
        )

    def start(self, name: str) -> None:
        self.call(["start", name])

    def kill(self, name: str, signal: str = "KILL") -> None:
        self.call(["kill", "--signal", signal, name], check=False)

    def stop(self, names: Iterable[str], grace: float) -> None:
        """SIGTERM, `grace` seconds, SIGKILL; then remove. Missing containers are fine."""
        targets = list(names)
        if not targets:
            return
        seconds = str(max(int(round(grace)), 0))
        self.call(["stop", "--ignore", "-t", seconds, *targets], check=False, timeout=grace + 60)
        self.remove(targets)

    def remove(self, names: Iterable[str]) -> None:
        targets = list(names)
        if targets:
            self.call(["rm", "-f", "--ignore", "-t", "0", *targets], check=False)

    def exec(self, name: str, command: Sequence[str], timeout: float) -> Outcome:
        return self.call(["exec", name, *command], timeout=timeout, check=False)

    def import_image(self, tarball: Path, reference: str, changes: Sequence[str] = ()) -> None:
        args = ["import"]
        for change in changes:
            args += ["--change", change]
        self.call([*args, str(tarball), reference], timeout=300)

    def remove_image(self, reference: str) -> None:
        self.call(["rmi", "-f", "--", reference], check=False)
