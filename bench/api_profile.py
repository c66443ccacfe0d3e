"""The controller's CPU per request, in-process: where bench/api.py's time goes.

    python bench/api_profile.py                     # SQLite, 1,000 apps x 10 releases
    python bench/api_profile.py --postgres postgresql://deis:deis@127.0.0.1:5432/postgres
    python bench/api_profile.py --profile apps      # cProfile of one request kind, top 40

It seeds a fresh state dir (and database) with the store as bench/api.py's `--seed store`
does, assembles the same ASGI app the server serves (wiring.build_app, lifespan run),
and sends it requests straight through ASGI, one connection's worth at a time (8 tasks),
with no HTTP parsing and no load generator in the process. It prints the CPU time of
the process per request (time.process_time: every thread) for each request kind. This
is a diagnostic, not the benchmark: the HTTP server (uvicorn, httptools) is not in it,
and bench/api.py's figures, from a real server loaded by wrk, are the ones that count.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import importlib.util
import json
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def load_bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_api", HERE / "api.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_api"] = module
    spec.loader.exec_module(module)
    return module


async def call(app: Any, method: str, path: str, token: str, body: bytes = b"") -> int:
    target, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": target,
        "raw_path": target.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"authorization", f"token {token}".encode()),
            (b"accept", b"application/json"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    status = 0
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def request_of(kind: str, n: int, apps: int) -> tuple[str, str, bytes]:
    name = f"bench-{n % apps + 1:04d}"
    if kind == "apps":
        return "GET", "/v2/apps/?limit=100", b""
    if kind == "releases":
        return "GET", f"/v2/apps/{name}/releases/", b""
    body = json.dumps({"values": {f"BENCH_KEY_{n % 20}": f"p-{time.time_ns()}"}}).encode()
    return "POST", f"/v2/apps/{name}/config/", body


async def drive(app: Any, token: str, kind: str, count: int, apps: int, tasks: int) -> float:
    counter = iter(range(count))

    async def worker() -> None:
        for n in counter:
            method, path, body = request_of(kind, n, apps)
            status = await call(app, method, path, token, body)
            if status >= 300:
                raise SystemExit(f"{method} {path}: {status}")

    started = time.process_time()
    await asyncio.gather(*(worker() for _ in range(tasks)))
    return (time.process_time() - started) * 1000 / count


@contextlib.contextmanager
def database(bench: Any, postgres: str | None) -> Iterator[str]:
    if postgres is None:
        yield ""
        return
    with bench.postgres_database(postgres) as url:
        yield url


async def measure(app: Any, args: argparse.Namespace, token: str) -> None:
    fastapi_app = app.app if hasattr(app, "app") else app  # the primary wraps it: FromWorkers
    async with fastapi_app.router.lifespan_context(fastapi_app):
        for kind in args.kinds:
            await drive(app, token, kind, max(args.count // 10, 20), args.apps, args.tasks)
            if args.profile == kind:
                profiler = cProfile.Profile()
                profiler.enable()
            runs = [
                await drive(app, token, kind, args.count, args.apps, args.tasks)
                for _ in range(args.repeat)
            ]
            ms = min(runs)
            if args.profile == kind:
                profiler.disable()
                stats = pstats.Stats(profiler).sort_stats(args.sort)
                stats.print_stats(args.top)
            spread = " ".join(f"{r:.2f}" for r in runs)
            print(f"{kind:10s} {ms:6.2f} ms CPU per request (least of: {spread})", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--releases", type=int, default=10)
    parser.add_argument("--count", type=int, default=1000, help="requests per kind")
    parser.add_argument("--repeat", type=int, default=3, help="runs of --count; the least")
    parser.add_argument("--tasks", type=int, default=8, help="concurrent requests")
    parser.add_argument("--kinds", nargs="+", default=["apps", "releases", "config"])
    parser.add_argument("--profile", choices=["apps", "releases", "config"])
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--postgres", help="a PostgreSQL role that may CREATE DATABASE")
    parser.add_argument(
        "--state-dir", type=Path, help="SQLite: seed this state dir once, reuse it after"
    )
    args = parser.parse_args()

    bench = load_bench()
    settings = {
        "DEIS_RUNTIME": "record",
        "DEIS_ROUTER": "none",
        "DEIS_BUILDER": "none",
        "DEIS_LOGS": "file",
        "DEIS_WORKERS": "1",
        "DEIS_REGISTRATION_MODE": "enabled",
    }
    with tempfile.TemporaryDirectory(prefix="deis-api-profile-") as tmp:
        state_dir = args.state_dir or Path(tmp) / "state"
        seeded = args.state_dir is not None and (state_dir / "seeded").exists()
        with database(bench, args.postgres) as url:
            from deis.platform.state import StateDir, prepare_state_dir
            from deis.platform.wiring import build_app
            from deis.services import users
            from deis.settings import from_env

            prepare_state_dir(StateDir(state_dir))
            config = from_env(settings, state_dir=state_dir, database_url=url or None)
            effective = config.effective_database_url
            if not seeded or args.postgres:
                bench.seed_store(effective, state_dir, args.apps, args.releases, settings)
                (state_dir / "seeded").touch()
            app = build_app(config)
            ctx = app.state.context
            token = users.login(ctx, "bench", bench.PASSWORD, "127.0.0.1")
            import uvloop

            uvloop.run(measure(app, args, token))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
