"""Run the platform in the foreground: `python -m deis.platform.server --state-dir DIR`.

`deisctl up` starts this detached; it can also run under a process supervisor. It reads
the settings (DEIS_* variables, then STATE/settings.json), migrates the database, makes
sure the builder key exists, then serves the API until SIGTERM or SIGINT, shutting down
gracefully. Start-up problems go to stderr in one line (`up` shows them); the running
platform logs to STATE/logs/controller.log.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from deis.platform.state import (
    StateDir,
    StateError,
    describe_database,
    ensure_builder_key,
    load_settings,
    one_line,
    prepare_state_dir,
    read_pid,
    remove_pid_file,
    write_pid,
)
from deis.platform.workers import WorkerProcesses, die_with_parent
from deis.settings import Settings, default_state_dir

log = logging.getLogger("deis.platform")

STARTUP_PREFIX = "deis platform: "  # the line `deisctl up` shows when start-up fails
GRACEFUL_SHUTDOWN_SECONDS = 8  # `deisctl down` waits 10 s before SIGKILL


class StartError(Exception):
    """The platform cannot start; the message says why, in one line."""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m deis.platform.server", description="Run the platform in the foreground."
    )
    parser.add_argument("--state-dir", type=Path, default=default_state_dir())
    # An extra API process (DEIS_WORKERS), started by the primary: see deis.platform.workers.
    parser.add_argument("--worker-of", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker-fd", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def listen_problem(exc: OSError, bind: str, port: int) -> str:
    """A one-line reason why the API cannot listen on bind:port."""
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} is already in use on {bind} (another program listens there)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {bind}: this machine has no such address"
    if exc.errno == errno.EACCES:
        return f"permission denied to listen on port {port} (ports below 1024 need root)"
    return f"cannot listen on {bind}:{port}: {exc.strerror or exc}"


def listen(bind: str, port: int) -> socket.socket:
    """A bound TCP socket for the API; uvicorn starts listening on it."""
    try:
        infos = socket.getaddrinfo(bind, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartError(f"cannot listen on {bind!r}: not an address of this machine") from exc
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise StartError(listen_problem(exc, bind, port)) from exc
    sock.set_inheritable(False)
    return sock


@contextlib.contextmanager
def instance_lock(state: StateDir) -> Iterator[None]:
    """Held while the platform runs: one platform per state directory."""
    try:
        fd = os.open(state.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StartError(f"cannot open {state.lock_file}: {exc.strerror}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            other = read_pid(state)
            who = f" (pid {other})" if other else ""
            raise StartError(f"another platform{who} already runs with {state.root}") from exc
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def pid_file(state: StateDir) -> Iterator[None]:
    pid = os.getpid()
    write_pid(state, pid)
    try:
        yield
    finally:
        with contextlib.suppress(StateError):
            if read_pid(state) == pid:
                remove_pid_file(state)


class _WithoutTraceback(logging.Formatter):
    """For stderr: the message only; tracebacks go to controller.log."""

    def format(self, record: logging.LogRecord) -> str:
        record = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
        return super().format(record)


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(state: StateDir) -> None:
    """Everything to controller.log; warnings and errors also to stderr (platform.log)."""
    to_file = logging.FileHandler(state.controller_log)
    to_file.setFormatter(logging.Formatter(LOG_FORMAT))
    to_stderr = logging.StreamHandler(sys.stderr)
    to_stderr.setFormatter(_WithoutTraceback(LOG_FORMAT))
    to_stderr.setLevel(logging.WARNING)
    root = logging.getLogger()
    root.handlers[:] = [to_file, to_stderr]
    root.setLevel(logging.INFO)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    with contextlib.suppress(OSError):
        os.chmod(state.controller_log, 0o600)


def migrate(settings: Settings) -> str | None:
    from deis.store.migrate import current, upgrade

    url = settings.effective_database_url
    try:
        upgrade(url)
        revision: str | None = current(url)
        return revision
    except Exception as exc:  # any driver or migration error: report it, do not start
        log.exception("migrating %s failed", describe_database(url))
        raise StartError(
            f"cannot migrate the database {describe_database(url)}: {one_line(exc)}"
        ) from exc


def build_app(settings: Settings, *, primary_socket: Path | None = None) -> Any:
    """The primary's app, or with `primary_socket` an extra API process's app."""
    try:
        from deis.platform import wiring

        if primary_socket is not None:
            return wiring.build_worker_app(settings, primary_socket)
        return wiring.build_app(settings)
    except Exception as exc:  # a broken adapter or setting: report it, do not start
        log.exception("assembling the platform failed")
        raise StartError(f"the platform cannot be assembled: {one_line(exc)}") from exc


BACKLOG = 2048
# sockaddr_un holds 108 bytes, the terminating NUL included.
MAX_UNIX_SOCKET_PATH = 107


@contextlib.contextmanager
def workers_socket(state: StateDir, workers: int) -> Iterator[list[socket.socket]]:
    """With workers, the Unix socket (0600) on which the primary takes the requests
    they hand on (see deis.platform.forwarding); none without."""
    if workers <= 1:
        yield []
        return
    path = state.api_socket
    if len(os.fsencode(path)) > MAX_UNIX_SOCKET_PATH:
        raise StartError(
            f"the state directory's path is too long for {path.name} "
            f"({MAX_UNIX_SOCKET_PATH} bytes at most): choose a shorter --state-dir "
            "or set DEIS_WORKERS=1"
        )
    with contextlib.suppress(FileNotFoundError):  # left by a killed platform (we hold the lock)
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(path))
        os.chmod(path, 0o600)
        sock.listen(BACKLOG)  # at once: a worker's request waits until the primary serves
    except OSError as exc:
        sock.close()
        raise StartError(f"cannot listen on {path}: {exc.strerror or exc}") from exc
    sock.set_inheritable(False)
    try:
        yield [sock]
    finally:
        sock.close()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def keep_out_of_full_collections() -> None:
    """Python's full garbage collection walks every object a process holds: in an API
    process, whose modules, app, routes and schemas are hundreds of thousands of
    objects made at start and kept to the end, one took 100 to 150 ms, during which no
    request was answered. Frozen, they are left out (such a collection takes a few ms);
    the garbage among them is collected first, so that none of it is kept for good."""
    gc.collect()
    gc.freeze()


def forwarded_options(settings: Settings) -> dict[str, Any]:
    """uvicorn takes the client's address and scheme from X-Forwarded-For/-Proto only on
    connections from the router's own address (settings.router_source), never from the
    loopback at large, where anything on the machine connects from (uvicorn's default
    trusts 127.0.0.1: a login limit per address was bypassed with a made-up header)."""
    source = settings.router_source
    if source is None:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": source}


def serve(app: Any, sockets: list[socket.socket], settings: Settings) -> None:
    import uvicorn

    config = uvicorn.Config(
        app,
        log_config=None,  # keep ours: everything goes to controller.log
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        server_header=False,
        **forwarded_options(settings),
    )
    server = uvicorn.Server(config)
    log.info(
        "the API listens on %s:%d (pid %d, %d processes, state in %s)",
        settings.bind,
        settings.api_port,
        os.getpid(),
        settings.workers,
        settings.state_dir,
    )
    keep_out_of_full_collections()
    server.run(sockets=sockets)
    if not server.started:
        raise StartError("the API did not start; see logs/controller.log")


def _stop(signum: int, frame: FrameType | None) -> None:
    # uvicorn handles these while it serves, then raises them again once it has stopped.
    raise SystemExit(0)


def run(state_dir: Path) -> None:
    prepare_state_dir(StateDir(state_dir.expanduser().resolve()))
    settings = load_settings(state_dir)
    state = StateDir(settings.state_dir)
    with instance_lock(state), pid_file(state):
        configure_logging(state)
        settings = settings.with_changes(builder_key=ensure_builder_key(state, settings))
        sock = listen(settings.bind, settings.api_port)
        with contextlib.closing(sock):
            revision = migrate(settings)
            log.info(
                "database %s at revision %s",
                describe_database(settings.effective_database_url),
                revision,
            )
            app = build_app(settings)
            extra = settings.workers - 1
            with (
                workers_socket(state, settings.workers) as from_workers,
                WorkerProcesses(settings, sock, extra, GRACEFUL_SHUTDOWN_SECONDS),
            ):
                serve(app, [sock, *from_workers], settings)
        log.info("stopped")


def run_worker(state_dir: Path, primary: int, fd: int) -> None:
    """An extra API process: serves the primary's socket, starts nothing else."""
    die_with_parent(primary)
    settings = load_settings(state_dir)
    state = StateDir(settings.state_dir)
    configure_logging(state)
    settings = settings.with_changes(builder_key=ensure_builder_key(state, settings))
    sock = socket.socket(fileno=fd)
    with contextlib.closing(sock):
        serve(build_app(settings, primary_socket=state.api_socket), [sock], settings)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    os.umask(0o077)  # the database and keys are for the platform's user only
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stop)
    try:
        if args.worker_fd is not None and args.worker_of is not None:
            run_worker(args.state_dir, args.worker_of, args.worker_fd)
        else:
            run(args.state_dir)
    except (StartError, StateError) as exc:
        print(f"{STARTUP_PREFIX}{exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
