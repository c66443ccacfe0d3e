"""Benchmark of the controller's REST API: latency and throughput of three requests.

    python bench/api.py [--duration 10] [--postgres URL | --no-postgres] [--apps 1000]

For each database backend (SQLite, then PostgreSQL when it can be reached) it:

1. starts the real server, `python -m deis.platform.server --state-dir DIR`, as a
   separate process on free ports (a fresh state dir; a fresh `deis_bench_<hex>`
   PostgreSQL database, dropped at the end), with the adapters that need nothing
   outside the controller (DEIS_RUNTIME=record, DEIS_ROUTER=none, DEIS_BUILDER=none);
2. seeds it through the API (or, with --seed store, with the store before it starts):
   an admin, then the user `bench` who owns N apps (`bench-0001` ...), each with 9
   config changes, so 10 releases (v1 + 9). The apps have no build, so a config change
   makes a release and nothing is deployed: this measures the controller's own cost;
3. loads it with wrk (bench/api.lua) from outside the server's process:
   `GET /v2/apps/?limit=100`, `GET /v2/apps/<id>/releases/` (rotating over the apps),
   `POST /v2/apps/<id>/config/` (rotating over apps and keys, a new value each time,
   so every request makes a new release), each for --duration seconds with 8
   connections (latency p50/p99) and with 32 connections (requests per second);
4. stops the server (by its pid), also on error or Ctrl-C.

A run whose requests fail (socket errors, timeouts, any non-2xx status) is reported as
invalid, never as a result. Results go to bench/results/api.json; a table is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

try:
    import httpx
except ImportError:  # `python bench/api.py` outside the virtualenv: use the repo's one
    if VENV_PYTHON.exists() and Path(sys.executable).resolve() != VENV_PYTHON.resolve():
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *sys.argv])
    raise

LUA_SCRIPT = Path(__file__).resolve().parent / "api.lua"
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "api.json"
DEFAULT_POSTGRES = "postgresql://deis:deis@127.0.0.1:5432/postgres"
APP_PREFIX = "bench-"
PASSWORD = "bench-password-1234"

# What the issue asks for.
READ_P99_MS = 50.0
READ_MIN_RPS = 300.0
WRITE_P99_MS = 100.0

REQUESTS = {
    "apps": "GET /v2/apps/?limit=100",
    "releases": "GET /v2/apps/<id>/releases/",
    "config": "POST /v2/apps/<id>/config/",
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


# --- machine facts -----------------------------------------------------------------------


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def wrk_version(wrk: str) -> str:
    out = subprocess.run(  # noqa: S603 - the wrk the user chose
        [wrk, "--version"], capture_output=True, text=True, check=False
    )
    text = out.stdout + out.stderr
    return text.splitlines()[0].strip() if text else ""


def machine_facts(wrk: str) -> dict[str, Any]:
    import sqlite3

    import sqlalchemy

    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
        "wrk": wrk_version(wrk),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


class CpuMeter:
    """CPU used by one process and by the whole machine between start() and stop()."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.tick = os.sysconf("SC_CLK_TCK")

    def _process_seconds(self) -> float:
        """CPU seconds of the server and of its child processes (if it has workers)."""
        stats: dict[int, tuple[int, float]] = {}  # pid: (parent pid, cpu seconds)
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # it exited meanwhile
                continue
            stats[int(entry.name)] = (
                int(fields[1]),
                (int(fields[11]) + int(fields[12])) / self.tick,
            )
        tree, total, changed = {self.pid}, 0.0, True
        while changed:
            changed = False
            for pid, (parent, _) in stats.items():
                if parent in tree and pid not in tree:
                    tree.add(pid)
                    changed = True
        for pid in tree:
            total += stats.get(pid, (0, 0.0))[1]
        return total

    @staticmethod
    def _machine() -> tuple[int, int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        steal = values[7] if len(values) > 7 else 0  # taken by the hypervisor for others
        return sum(values), idle, steal

    def start(self) -> None:
        self.t0 = time.monotonic()
        self.p0 = self._process_seconds()
        self.m0 = self._machine()

    def stop(self) -> dict[str, float]:
        elapsed = time.monotonic() - self.t0
        process = self._process_seconds() - self.p0
        total, idle, steal = self._machine()
        busy = (total - self.m0[0]) - (idle - self.m0[1])
        return {
            "server_cpu_percent": round(100 * process / elapsed, 1),  # 100 = one core
            "machine_cpu_percent": round(100 * busy / max(total - self.m0[0], 1), 1),  # all cores
            # Of the machine's time, the share its virtual CPUs waited for real ones: the
            # figures of a run with much of it measure the host's other guests too.
            "steal_percent": round(100 * (steal - self.m0[2]) / max(total - self.m0[0], 1), 1),
        }


# --- the server and its database ---------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_python() -> str:
    """An interpreter that can import deis: this one, else the repo's virtualenv."""
    probe = subprocess.run(
        [sys.executable, "-c", "import deis.platform.server"], capture_output=True, check=False
    )
    if probe.returncode == 0:
        return sys.executable
    if VENV_PYTHON.exists():
        return str(VENV_PYTHON)
    raise BenchError("cannot import deis: run with the repo's virtualenv (.venv/bin/python)")


@dataclass
class Server:
    pid: int
    url: str
    state_dir: Path
    process: subprocess.Popen[bytes]
    output: Path


def platform_env(args: argparse.Namespace) -> dict[str, str]:
    """The server's DEIS_* settings besides its ports, state dir and database: adapters
    that need nothing outside the controller (apps have no build: nothing would run)."""
    return {
        "DEIS_RUNTIME": args.runtime,
        "DEIS_ROUTER": args.router,
        "DEIS_BUILDER": args.builder,
        "DEIS_LOGS": args.logs,
        "DEIS_WORKERS": str(args.workers),
        "DEIS_REGISTRATION_MODE": "enabled",
    }


@contextlib.contextmanager
def running_server(
    database_url: str, state_dir: Path, settings: dict[str, str] | None = None
) -> Iterator[Server]:
    port = free_port()
    env = {
        **os.environ,
        **(settings or {}),
        "DEIS_STATE_DIR": str(state_dir),
        "DEIS_BIND": "127.0.0.1",
        "DEIS_API_PORT": str(port),
        "DEIS_DATABASE_URL": database_url,
    }
    # Every other listener on a free port too, in case an adapter that listens is chosen.
    for var in (
        "DEIS_SSH_PORT",
        "DEIS_ROUTER_PORT",
        "DEIS_ROUTER_HTTPS_PORT",
        "DEIS_REGISTRY_PORT",
    ):
        env[var] = str(free_port())
    output = state_dir.parent / "server.out"
    with output.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [server_python(), "-m", "deis.platform.server", "--state-dir", str(state_dir)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    server = Server(process.pid, f"http://127.0.0.1:{port}", state_dir, process, output)
    database = describe(database_url) if database_url else f"SQLite in {state_dir}"
    log(f"server pid {process.pid} on {server.url} ({database})")
    try:
        wait_ready(server)
        yield server
    finally:
        stop_server(server)


def wait_ready(server: Server, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(
                f"the server exited with {server.process.returncode}: "
                + server.output.read_text(errors="replace")[-2000:]
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(server.url + "/readiness", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise BenchError(f"the server did not become ready in {timeout:.0f} s")


def stop_server(server: Server) -> None:
    if server.process.poll() is not None:
        return
    os.kill(server.pid, signal.SIGTERM)
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        log(f"server pid {server.pid} ignored SIGTERM; killing it")
        os.kill(server.pid, signal.SIGKILL)
        server.process.wait(timeout=5)
    log(f"server pid {server.pid} stopped")


def describe(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


@contextlib.contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A new, empty database deis_bench_<hex> on the server of admin_url; dropped after."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"deis_bench_{secrets.token_hex(4)}"
    plain = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    log(f"created PostgreSQL database {name}")
    try:
        yield make_url(plain).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(plain, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        log(f"dropped PostgreSQL database {name}")


def postgres_problem(url: str) -> str | None:
    """Why we cannot create databases at url, or None."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        plain = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(plain, autocommit=True, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any driver error: skip PostgreSQL with the reason
        return f"cannot connect to {describe(url)}: {str(exc).strip().splitlines()[0]}"
    return None


def database_facts(url: str) -> dict[str, Any]:
    from sqlalchemy import create_engine, text

    from deis.store.engine import normalize_url

    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                return {"server_version": conn.execute(text("SHOW server_version")).scalar()}
            return {"sqlite_version": conn.execute(text("select sqlite_version()")).scalar()}
    finally:
        engine.dispose()


def count_releases(url: str) -> int:
    """Read straight from the database (between runs): how many releases exist."""
    from sqlalchemy import create_engine, text

    from deis.store.engine import normalize_url

    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM releases")).scalar() or 0)
    finally:
        engine.dispose()


# --- seeding through the API -------------------------------------------------------------


def expect(response: httpx.Response, *statuses: int) -> httpx.Response:
    if response.status_code not in statuses:
        raise BenchError(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code}: {response.text[:300]}"
        )
    return response


USERS = ("bench-admin", "bench")  # the first user registered is an administrator


def sign_up(url: str, register: bool = True) -> str:
    """Register an admin, then the user `bench` (unless seeded already); bench's token."""
    with httpx.Client(base_url=url, timeout=60) as client:
        for username in USERS if register else ():
            body = {"username": username, "password": PASSWORD, "email": f"{username}@example.com"}
            expect(client.post("/v2/auth/register/", json=body), 201)
        login = {"username": "bench", "password": PASSWORD}
        token: str = expect(client.post("/v2/auth/login/", json=login), 200).json()["token"]
        return token


def app_name(i: int) -> str:
    return f"{APP_PREFIX}{i:04d}"


def seed(url: str, token: str, apps: int, releases: int, workers: int) -> dict[str, Any]:
    """N apps, each with releases-1 config changes, through the API, `workers` at a time."""
    local = threading.local()
    clients: list[httpx.Client] = []
    lock = threading.Lock()
    done = 0

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(
                base_url=url, timeout=60, headers={"Authorization": f"token {token}"}
            )
            with lock:
                clients.append(local.client)
        c: httpx.Client = local.client
        return c

    def one_app(i: int) -> None:
        nonlocal done
        c = client()
        name = app_name(i)
        expect(c.post("/v2/apps/", json={"id": name}), 201)
        for k in range(1, releases):
            expect(c.post(f"/v2/apps/{name}/config/", json={"values": {f"SEED_{k}": f"v{k}"}}), 201)
        with lock:
            done += 1
            if done % 100 == 0:
                log(f"seeded {done}/{apps} apps")

    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for future in [pool.submit(one_app, i) for i in range(1, apps + 1)]:
                future.result()
    finally:
        for c in clients:
            c.close()
    seconds = time.monotonic() - started
    requests = apps * releases
    log(f"seeded {apps} apps x {releases} releases: {requests} requests in {seconds:.1f} s")
    return {"seconds": round(seconds, 1), "method": "api", "requests": requests, "workers": workers}


def seed_store(
    url: str, state_dir: Path, apps: int, releases: int, settings: dict[str, str]
) -> dict[str, Any]:
    """The same data as `seed`, written with the store and the services, in this process,
    before the server starts (faster than the API on a busy machine)."""
    from deis.platform.wiring import build_context
    from deis.services import apps as app_service
    from deis.services import config, users
    from deis.settings import from_env
    from deis.store.migrate import upgrade
    from deis.store.sqlalchemy_store import SqlStore

    started = time.monotonic()
    upgrade(url)
    store = SqlStore(url)
    try:
        # The adapters the server uses (not this process's environment).
        ctx = build_context(from_env(settings, state_dir=state_dir, database_url=url), store)
        for username in USERS:
            body: dict[str, object] = {
                "username": username,
                "password": PASSWORD,
                "email": f"{username}@example.com",
            }
            me = users.register(ctx, None, body)
        for i in range(1, apps + 1):
            app_service.create(ctx, me, app_name(i))
            for k in range(1, releases):
                config.set_config(ctx, me, app_name(i), {"values": {f"SEED_{k}": f"v{k}"}})
            if i % 100 == 0:
                log(f"seeded {i}/{apps} apps (store)")
    finally:
        store.close()
    seconds = time.monotonic() - started
    log(f"seeded {apps} apps x {releases} releases with the store in {seconds:.1f} s")
    return {"seconds": round(seconds, 1), "method": "store", "releases": apps * releases}


def check_seed(url: str, token: str, apps: int, releases: int) -> None:
    headers = {"Authorization": f"token {token}"}
    with httpx.Client(base_url=url, timeout=60, headers=headers) as c:
        count = expect(c.get("/v2/apps/?limit=100"), 200).json()["count"]
        if count != apps:
            raise BenchError(f"expected {apps} apps, the API lists {count}")
        for i in (1, apps):
            found = expect(c.get(f"/v2/apps/{app_name(i)}/releases/"), 200).json()["count"]
            if found != releases:
                raise BenchError(f"expected {releases} releases of {app_name(i)}, got {found}")


# --- wrk ---------------------------------------------------------------------------------


@dataclass
class Run:
    backend: str
    request: str
    connections: int
    threads: int
    duration_s: float
    raw: dict[str, Any]
    cpu: dict[str, float]
    loadavg_before: list[float]
    loadavg_after: list[float]
    valid: bool = field(init=False)
    problems: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.problems = []
        errors = self.raw["errors"]
        socket_errors = {k: v for k, v in errors.items() if k != "status" and v}
        if socket_errors:
            self.problems.append(f"socket errors {socket_errors}")
        bad = {s: n for s, n in self.raw["statuses"].items() if not 200 <= int(s) < 300}
        if bad or errors["status"]:
            self.problems.append(f"non-2xx responses {bad or errors['status']}")
        if self.raw["requests"] == 0:
            self.problems.append("no request completed")
        answered = sum(self.raw["statuses"].values())
        if answered != self.raw["requests"]:
            self.problems.append(f"{self.raw['requests']} requests but {answered} statuses")
        self.valid = not self.problems

    @property
    def rps(self) -> float:
        return int(self.raw["requests"]) / (int(self.raw["duration_us"]) / 1e6)

    @property
    def cpu_ms_per_request(self) -> float:
        seconds = int(self.raw["duration_us"]) / 1e6
        busy_ms = self.cpu["server_cpu_percent"] / 100 * seconds * 1000
        return round(busy_ms / max(int(self.raw["requests"]), 1), 2)

    def ms(self, key: str) -> float:
        return round(float(self.raw["latency_us"][key]) / 1000, 2)

    def as_json(self) -> dict[str, Any]:
        lat = self.raw["latency_us"]
        return {
            "backend": self.backend,
            "request": REQUESTS[self.request],
            "connections": self.connections,
            "threads": self.threads,
            "duration_s": round(self.raw["duration_us"] / 1e6, 2),
            "requests": self.raw["requests"],
            "requests_per_s": round(self.rps, 1),
            "latency_ms": {k: round(v / 1000, 2) for k, v in lat.items()},
            "statuses": self.raw["statuses"],
            "errors": self.raw["errors"],
            "valid": self.valid,
            "problems": self.problems,
            **self.cpu,
            # CPU time of the server process per answered request: what bounds req/s of
            # one process (whose Python code runs on one core at a time) on a busy machine.
            "server_cpu_ms_per_request": self.cpu_ms_per_request,
            "loadavg_before": self.loadavg_before,
            "loadavg_after": self.loadavg_after,
        }


def run_wrk(
    wrk: str,
    server: Server,
    token: str,
    mode: str,
    *,
    connections: int,
    threads: int,
    duration: float,
    apps: int,
    backend: str,
) -> Run:
    env = {
        **os.environ,
        "BENCH_MODE": mode,
        "BENCH_TOKEN": token,
        "BENCH_APPS": str(apps),
        "BENCH_APP_PREFIX": APP_PREFIX,
        "BENCH_RUN_ID": secrets.token_hex(4),
    }
    command = [
        wrk,
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{max(int(round(duration)), 1)}s",
        "--timeout",
        "30s",
        "-s",
        str(LUA_SCRIPT),
        server.url,
    ]
    before = [round(x, 2) for x in os.getloadavg()]
    meter = CpuMeter(server.pid)
    meter.start()
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    cpu = meter.stop()
    after = [round(x, 2) for x in os.getloadavg()]
    if out.returncode != 0:
        raise BenchError(f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout}")
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise BenchError(f"wrk printed no result: {out.stdout}\n{out.stderr}")
    raw = json.loads(line[len("BENCH_JSON ") :])
    return Run(backend, mode, connections, threads, duration, raw, cpu, before, after)


# --- one backend -------------------------------------------------------------------------


def bench_backend(
    backend: str, database_url: str, args: argparse.Namespace, workdir: Path
) -> dict[str, Any]:
    state_dir = workdir / backend / "state"
    state_dir.parent.mkdir(parents=True)
    url = database_url or f"sqlite:///{state_dir / 'deis.db'}"
    result: dict[str, Any] = {"backend": backend, "database": describe(url), "_runs": []}
    if args.seed == "store":
        state_dir.mkdir(mode=0o700)
        result["seed"] = seed_store(url, state_dir, args.apps, args.releases, platform_env(args))
    with running_server(database_url, state_dir, platform_env(args)) as server:
        result["database_facts"] = database_facts(url)
        token = sign_up(server.url, register=args.seed == "api")
        if args.seed == "api":
            result["seed"] = seed(server.url, token, args.apps, args.releases, args.seed_workers)
        check_seed(server.url, token, args.apps, args.releases)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            platform_facts = client.get("/v2/platform", headers={"Authorization": f"token {token}"})
            if platform_facts.status_code == 200:
                result["platform"] = platform_facts.json()

        modes = [mode for mode in REQUESTS if mode in args.requests]  # reads before writes
        plan = [(mode, c) for mode in modes for c in args.connections]
        releases_before = count_releases(url)
        created = 0
        for mode, connections in plan:
            common = dict(threads=args.threads, apps=args.apps, backend=backend)
            if args.warmup > 0:
                warm = run_wrk(
                    args.wrk, server, token, mode, connections=connections,
                    duration=args.warmup, **common,
                )  # fmt: skip
                if mode == "config":
                    created += warm.raw["statuses"].get("201", 0)
            run = run_wrk(
                args.wrk, server, token, mode, connections=connections,
                duration=args.duration, **common,
            )  # fmt: skip
            if mode == "config":
                created += run.raw["statuses"].get("201", 0)
            log(
                f"{backend:10} {REQUESTS[mode]:30} c={connections:<3} "
                f"p50 {run.ms('p50'):7.2f} ms  p99 {run.ms('p99'):7.2f} ms  "
                f"{run.rps:7.1f} req/s  server CPU {run.cpu['server_cpu_percent']:5.1f}% "
                f"({run.cpu_ms_per_request:.1f} ms/req)  "
                f"machine CPU {run.cpu['machine_cpu_percent']:5.1f}% "
                f"(steal {run.cpu['steal_percent']:.1f}%)"
                + ("" if run.valid else f"  INVALID: {'; '.join(run.problems)}")
            )
            result["_runs"].append(run)
        # Every 201 must have made a release. wrk stops with requests in flight, whose
        # releases exist but whose answers were not counted: at most one per connection
        # per config run.
        made = count_releases(url) - releases_before
        in_flight = sum(c for m, c in plan if m == "config") * (2 if args.warmup > 0 else 1)
        check = {
            "responses_201": created,
            "releases_created": made,
            "unanswered_in_flight_allowed": in_flight,
            "ok": created <= made <= created + in_flight,
        }
        result["config_writes_check"] = check
        if not check["ok"]:
            log(f"WARNING: {created} config writes answered 201 but {made} releases were made")
            for run in result["_runs"]:
                if run.request == "config":
                    run.problems.append("201 responses do not match the releases made")
                    run.valid = False
    result["runs"] = [run.as_json() for run in result["_runs"]]
    return result


def summarize(result: dict[str, Any], latency_c: int, throughput_c: int) -> list[dict[str, Any]]:
    rows = []
    runs: list[Run] = result.pop("_runs", [])
    by = {(r.request, r.connections): r for r in runs}
    for mode in ("apps", "releases", "config"):
        lat, thr = by.get((mode, latency_c)), by.get((mode, throughput_c))
        if lat is None or thr is None:
            continue
        valid = lat.valid and thr.valid
        p99 = lat.ms("p99")
        if mode == "config":
            target = f"p99 < {WRITE_P99_MS:.0f} ms"
            met = p99 < WRITE_P99_MS
        else:
            target = f"p99 < {READ_P99_MS:.0f} ms, >= {READ_MIN_RPS:.0f} req/s"
            met = p99 < READ_P99_MS and thr.rps >= READ_MIN_RPS
        rows.append(
            {
                "backend": result["backend"],
                "request": REQUESTS[mode],
                "p50_ms": lat.ms("p50"),
                "p99_ms": p99,
                "rps_at_latency_connections": round(lat.rps, 1),
                "rps": round(thr.rps, 1),
                "p99_ms_at_throughput_connections": thr.ms("p99"),
                "steal_percent": max(lat.cpu["steal_percent"], thr.cpu["steal_percent"]),
                "target": target,
                "target_met": bool(met and valid),
                "valid": valid,
            }
        )
    return rows


def print_table(rows: list[dict[str, Any]], latency_c: int, throughput_c: int) -> None:
    head = (
        f"{'backend':10} {'request':30} {'p50 ms':>8} {'p99 ms':>8} "
        f"{f'req/s@{throughput_c}':>10} {'steal %':>7}  target met?"
    )
    print(f"\nlatency with {latency_c} connections, requests/s with {throughput_c}")
    print(head)
    print("-" * len(head))
    for r in rows:
        verdict = ("yes" if r["target_met"] else "NO") if r["valid"] else "INVALID (errors)"
        print(
            f"{r['backend']:10} {r['request']:30} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
            f"{r['rps']:10.1f} {r['steal_percent']:7.1f}  {verdict} ({r['target']})"
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--duration", type=float, default=10, help="seconds per measured run")
    p.add_argument("--warmup", type=float, default=2, help="seconds of unmeasured load first")
    p.add_argument("--apps", type=int, default=1000)
    p.add_argument("--releases", type=int, default=10, help="releases per app (v1 + N-1 configs)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument(
        "--requests", nargs="+", choices=list(REQUESTS), default=list(REQUESTS),
        help="which requests to load (default: all; reads run before writes)",
    )  # fmt: skip
    p.add_argument("--latency-connections", type=int, default=8)
    p.add_argument("--throughput-connections", type=int, default=32)
    p.add_argument(
        "--seed",
        choices=("api", "store"),
        default="api",
        help="seed through the API (default) or with the store before the server starts",
    )
    p.add_argument("--seed-workers", type=int, default=8, help="concurrent seeding clients")
    p.add_argument("--postgres", default=DEFAULT_POSTGRES, help="a role that may CREATE DATABASE")
    p.add_argument("--no-postgres", action="store_true", help="SQLite only")
    p.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    p.add_argument("--runtime", default="record", help="DEIS_RUNTIME of the server")
    p.add_argument("--router", default="none", help="DEIS_ROUTER of the server")
    p.add_argument("--builder", default="none", help="DEIS_BUILDER of the server")
    p.add_argument("--logs", default="file", help="DEIS_LOGS of the server")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="DEIS_WORKERS: API processes (default: the platform's, one per core up to 4)",
    )
    p.add_argument(
        "--require-targets",
        action="store_true",
        help="exit with status 1 when a target is missed (default: only when requests fail)",
    )
    args = p.parse_args(argv)
    args.connections = sorted({args.latency_connections, args.throughput_connections})
    if args.apps < 1 or args.apps > 9999 or args.releases < 1:
        p.error("--apps must be 1..9999 and --releases at least 1")
    if args.workers is None:
        from deis.settings import default_workers  # the platform's own default

        args.workers = default_workers()
    if args.workers < 1:
        p.error("--workers must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not shutil.which(args.wrk):
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT / "src"))  # for deis.store.engine (URL normalisation)

    report: dict[str, Any] = {
        "benchmark": "bench/api.py",
        "machine": machine_facts(args.wrk),
        "parameters": {
            "apps": args.apps,
            "releases_per_app": args.releases,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "wrk_threads": args.threads,
            "latency_connections": args.latency_connections,
            "throughput_connections": args.throughput_connections,
            "user": "bench (not an administrator; owns every app)",
            "seed": args.seed,
            "server": f"python -m deis.platform.server ({args.workers} API processes)",
            "server_settings": platform_env(args),
        },
        "targets": {
            "reads_p99_ms_below": READ_P99_MS,
            "reads_requests_per_s_at_least": READ_MIN_RPS,
            "config_writes_p99_ms_below": WRITE_P99_MS,
        },
        "backends": [],
        "summary": [],
        "notes": [],
    }
    backends: list[tuple[str, str]] = []
    if not args.no_sqlite:
        backends.append(("sqlite", ""))
    if not args.no_postgres:
        problem = postgres_problem(args.postgres)
        if problem:
            note = f"PostgreSQL skipped: {problem}"
            log(note)
            report["notes"].append(note)
        else:
            backends.append(("postgresql", args.postgres))

    failed = False
    with tempfile.TemporaryDirectory(prefix="deis-bench-") as tmp:
        for backend, admin_url in backends:
            log(f"--- {backend} ---")
            try:
                if backend == "postgresql":
                    with postgres_database(admin_url) as db_url:
                        result = bench_backend(backend, db_url, args, Path(tmp))
                else:
                    result = bench_backend(backend, "", args, Path(tmp))
            except BenchError as exc:
                log(f"{backend} failed: {exc}")
                report["notes"].append(f"{backend} failed: {exc}")
                failed = True
                continue
            rows = summarize(result, args.latency_connections, args.throughput_connections)
            report["backends"].append(result)
            report["summary"].extend(rows)

    report["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print_table(report["summary"], args.latency_connections, args.throughput_connections)
    m = report["machine"]
    print(
        f"\n{m['nproc']} CPUs ({m['cpu_model']}), Python {m['python']}, {m['date']}; "
        f"load average at start {m['loadavg_at_start']}, at end {m['loadavg_at_end']}"
    )
    for note in report["notes"]:
        print(f"note: {note}")
    print(f"results: {args.out}")
    invalid = any(not r["valid"] for r in report["summary"])
    missed = any(not r["target_met"] for r in report["summary"])
    return 1 if failed or invalid or (args.require_targets and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
