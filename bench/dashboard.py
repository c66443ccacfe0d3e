"""Benchmark of the web dashboard: time to first byte of each main page with 300 apps.

    python bench/dashboard.py [--apps 300] [--samples 30]

1. Starts the real server, `python -m deis.platform.server --state-dir DIR`, as its own
   process on free ports of 127.0.0.1 (a fresh state dir, SQLite, DEIS_RUNTIME=record,
   DEIS_ROUTER=none, DEIS_BUILDER=none, file logs): only the controller.
2. Seeds it through the REST API, 8 clients at a time: an administrator, then the user
   `bench` (not an administrator) who owns N apps, each with a build from an image
   (web and worker types) and 5 config changes: 7 releases per app.
3. Signs in to the dashboard as `bench` (and as the administrator for the admin
   pages), then asks each page --samples times, one request at a time, timing from
   sending the request to the end of the response's headers (time to first byte).
4. Stops the server (by its pid), also on error or Ctrl-C.

Every answer must be 200 and the right page (else the run is invalid, not a result).
Results go to bench/results/dashboard.json; a table is printed. Target: p95 under
200 ms for every page.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

try:
    import httpx
except ImportError:  # outside the virtualenv: use the repo's one
    if VENV_PYTHON.exists() and Path(sys.executable).resolve() != VENV_PYTHON.resolve():
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *sys.argv])
    raise

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "dashboard.json"
PASSWORD = "bench-password-1234"
TARGET_MS = 200.0
APP = "bench-0150"  # an app in the middle of the list


def pages(apps: int) -> dict[str, tuple[str, str, str]]:
    """Page name -> (who asks, path, text the answer must hold)."""
    middle = f"bench-{apps // 2:04d}"
    return {
        "sign-in form": ("anonymous", "/signin", "Sign in"),
        "apps list (first 100)": ("bench", "/", "bench-0001"),
        "apps list (page 3)": ("bench", "/?page=3", "bench-0201"),
        "apps list row (live)": ("bench", f"/apps/{middle}/row", middle),
        "app overview": ("bench", f"/apps/{middle}", "Processes"),
        "app releases": ("bench", f"/apps/{middle}/releases", "v7"),
        "app config": ("bench", f"/apps/{middle}/config", "KEY_4"),
        "app domains": ("bench", f"/apps/{middle}/domains", f"{middle}</th>"),
        "app builds": ("bench", f"/apps/{middle}/builds", "example/app:1"),
        "app logs": ("bench", f"/apps/{middle}/logs", "Logs"),
        "admin: users": ("admin", "/admin/users", "bench@example.com"),
        "admin: every app": ("admin", "/admin/apps", "bench-0001"),
    }


class BenchError(Exception):
    pass


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_server(state_dir: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "DEIS_STATE_DIR": str(state_dir),
        "DEIS_BIND": "127.0.0.1",
        "DEIS_API_PORT": str(port),
        "DEIS_RUNTIME": "record",
        "DEIS_ROUTER": "none",
        "DEIS_BUILDER": "none",
        "DEIS_LOGS": "file",
        "DEIS_REGISTRATION_MODE": "enabled",
    }
    for var in ("DEIS_SSH_PORT", "DEIS_ROUTER_PORT", "DEIS_ROUTER_HTTPS_PORT"):
        env[var] = str(free_port())
    env.pop("DEIS_DATABASE_URL", None)
    output = state_dir.parent / "server.out"
    python = str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable
    with output.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [python, "-m", "deis.platform.server", "--state-dir", str(state_dir)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    url = f"http://127.0.0.1:{port}"
    log(f"server pid {process.pid} on {url}")
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise BenchError(f"the server exited: {output.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/readiness", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise BenchError("the server did not become ready in 60 s")
            time.sleep(0.2)
        yield url
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        log(f"server pid {process.pid} stopped")


def api_token(url: str, username: str) -> str:
    with httpx.Client(base_url=url, timeout=60) as client:
        made = client.post(
            "/v2/auth/register/",
            json={"username": username, "password": PASSWORD, "email": f"{username}@example.com"},
        )
        if made.status_code != 201:
            raise BenchError(f"register {username}: {made.status_code} {made.text}")
        login = client.post("/v2/auth/login/", json={"username": username, "password": PASSWORD})
        token: str = login.json()["token"]
        return token


def seed(url: str, apps: int) -> None:
    api_token(url, "admin")
    token = api_token(url, "bench")
    headers = {"Authorization": f"token {token}"}

    def one(number: int) -> None:
        app = f"bench-{number:04d}"
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            calls = [
                ("/v2/apps/", {"id": app}),
                (f"/v2/apps/{app}/builds/", {"image": "example/app:1",
                                            "procfile": {"web": "serve", "worker": "work"}}),
                *[(f"/v2/apps/{app}/config/", {"values": {f"KEY_{k}": f"value-{k}"}})
                  for k in range(5)],
            ]  # fmt: skip
            for path, body in calls:
                answer = client.post(path, json=body)
                if answer.status_code != 201:
                    raise BenchError(f"POST {path}: {answer.status_code} {answer.text}")

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(1, apps + 1)))
    log(f"seeded {apps} apps in {time.monotonic() - started:.0f} s")


def signed_in(url: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=60)
    form = client.get("/signin")
    match = re.search(r'name="csrf" value="([^"]+)"', form.text)
    if match is None:
        raise BenchError("the sign-in form has no token")
    done = client.post(
        "/signin", data={"username": username, "password": PASSWORD, "csrf": match.group(1)}
    )
    if done.status_code != 303 or "deis_session" not in client.cookies:
        raise BenchError(f"sign-in as {username}: {done.status_code}")
    return client


def first_byte_ms(client: httpx.Client, path: str, expect: str) -> float:
    started = time.perf_counter()
    with client.stream("GET", path) as response:
        elapsed = (time.perf_counter() - started) * 1000
        body = response.read().decode()
    if response.status_code != 200 or expect not in body:
        raise BenchError(f"GET {path}: {response.status_code}, {expect!r} not in the page")
    return elapsed


def measure(url: str, apps: int, samples: int) -> dict[str, dict[str, Any]]:
    clients = {
        "anonymous": httpx.Client(base_url=url, timeout=60),
        "bench": signed_in(url, "bench"),
        "admin": signed_in(url, "admin"),
    }
    results = {}
    try:
        for name, (who, path, expect) in pages(apps).items():
            client = clients[who]
            first_byte_ms(client, path, expect)  # warm: templates compiled, caches filled
            times = sorted(first_byte_ms(client, path, expect) for _ in range(samples))
            results[name] = {
                "path": path,
                "as": who,
                "samples": samples,
                "p50_ms": round(statistics.median(times), 1),
                "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1),
                "max_ms": round(times[-1], 1),
            }
            log(f"{name}: p50 {results[name]['p50_ms']} ms")
    finally:
        for client in clients.values():
            client.close()
    return results


def table(results: dict[str, dict[str, Any]]) -> str:
    lines = [f"{'page':26} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  target p95 < {TARGET_MS:.0f}"]
    for name, row in results.items():
        verdict = "ok" if row["p95_ms"] < TARGET_MS else "SLOW"
        lines.append(
            f"{name:26} {row['p50_ms']:8.1f} {row['p95_ms']:8.1f} {row['max_ms']:8.1f}  {verdict}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--apps", type=int, default=300)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.apps < 201:
        parser.error("--apps must be at least 201 (the bench reads the list's third page)")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="deis-bench-dashboard-") as tmp:
        with running_server(Path(tmp) / "state") as url:
            seed(url, args.apps)
            results = measure(url, args.apps, args.samples)
    report = {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "apps": args.apps,
        "target_p95_ms": TARGET_MS,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "pages": results,
        "all_under_target": all(r["p95_ms"] < TARGET_MS for r in results.values()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(results))
    print(f"load average before {report['load_average_before']}, after "
          f"{report['load_average_after']}; {args.out}")  # fmt: skip
    return 0 if report["all_under_target"] else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"bench/dashboard.py: {error}", file=sys.stderr)
        sys.exit(2)
