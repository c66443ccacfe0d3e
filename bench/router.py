"""Benchmark of the nginx router: its cost per request and requests lost while apps change.

    .venv/bin/python bench/router.py [--rounds 5] [--duration 10] [--app nginx|python]

1. Starts a trivial app answering `200 ok` on four ports of 127.0.0.1, which play four
   replicas: by default one Python asyncio process (--app nginx: a separate nginx with
   1 worker, the fastest app there is), and the router (`deis.router.nginx.NginxRouter`
   with the platform's defaults) in a temporary state dir, with the app `bench` at
   bench.localhost. Also, as a reference, the router's own nginx.conf with a static
   upstream and no Lua in the request path, on another port.
2. Loads with wrk (`-t2`): straight to one replica, through the router (Host header) and
   through the static reference, with 32 connections (requests/s) and 4 connections
   (p50/p99 latency, --latency), interleaved over --rounds rounds, so that the machine's
   other load weighs on all three alike. The targets are figured per round (the router
   against the direct run of the same round) and their median over the rounds is
   reported, with the load average at each round. For the router and the
   static reference it also reports the CPU time nginx's workers spent per request
   (from /proc), a figure other processes on the machine do not skew.
3. Changes under a 32-connection load through the router, for --change-duration seconds:
   20 peer changes of `bench` (the replica set rotates over the four ports), 10 domain
   changes and 10 certificate changes of `bench` (a custom domain and its certificate
   added and removed, bench.localhost kept), 10 config changes of `bench` (its body size
   and read timeout set and unset), and 20 maintenance toggles of the app
   `other` (maintenance answers 503 by design, so it is toggled on an app the load does
   not target, to prove the toggles cost the loaded app nothing). Every non-2xx answer
   and every socket error counts as a failed request; the nginx master and worker pids
   are compared before and after (a reload would replace the workers).
4. For reference, the same load while nginx is reloaded 10 times (what the platform
   never does for app changes): its failures show what the Lua table avoids.
5. Stops everything it started, by pid, also on error or Ctrl-C.

Results go to bench/results/router.json; a table is printed. On a machine with two cores
wrk, the router and the app share them: the router's ratio is a floor, not a ceiling.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

try:
    from cryptography import x509  # noqa: F401 - the project's environment is needed
except ImportError:  # `python bench/router.py` outside the virtualenv
    if VENV_PYTHON.exists() and Path(sys.executable).resolve() != VENV_PYTHON.resolve():
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *sys.argv])
    raise

sys.path.insert(0, str(ROOT / "src"))

from deis.domain.routing import AppRoute, RouteLimits, TLSCertificate  # noqa: E402
from deis.router.certs import self_signed  # noqa: E402
from deis.router.nginx import NginxRouter  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "router.json"

APP_NGINX_CONF = """
worker_processes 1;
pid {prefix}/app.pid;
error_log {prefix}/app-error.log warn;
daemon off;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 100000;
    client_body_temp_path {prefix}/tmp;
    proxy_temp_path {prefix}/tmp;
    fastcgi_temp_path {prefix}/tmp;
    uwsgi_temp_path {prefix}/tmp;
    scgi_temp_path {prefix}/tmp;
    server {{
        {listens}
        location / {{ return 200 "ok\\n"; }}
    }}
}}
"""

PYTHON_APP = r"""
import asyncio, sys
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\nok\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
async def main():
    servers = [await asyncio.start_server(handle, "127.0.0.1", int(p)) for p in sys.argv[1:]]
    await asyncio.gather(*(s.serve_forever() for s in servers))
asyncio.run(main())
"""


def log(message: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


@contextlib.contextmanager
def trivial_app(kind: str, workdir: Path, ports: list[int]) -> Iterator[int]:
    """Start the app; yields its pid; stops it by that pid."""
    if kind == "nginx":
        prefix = workdir / "app"
        (prefix / "tmp").mkdir(parents=True)
        listens = " ".join(f"listen 127.0.0.1:{p} backlog=4096;" for p in ports)
        conf = prefix / "app.conf"
        conf.write_text(APP_NGINX_CONF.format(prefix=prefix, listens=listens))
        args = ["/usr/sbin/nginx", "-p", str(prefix), "-c", str(conf), "-e", "stderr"]
    else:
        args = [sys.executable, "-c", PYTHON_APP, *map(str, ports)]
    proc = subprocess.Popen(args, start_new_session=True)  # noqa: S603 - an argument list
    try:
        for p in ports:
            wait_port(p)
        yield proc.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGQUIT if kind == "nginx" else signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.match(r"^([0-9.]+)(us|ms|s)$", text)
    if not m:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk(url: str, connections: int, duration: float, host: str | None = None) -> dict[str, Any]:
    args = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--latency",
        "--timeout",
        "5s",
    ]
    if host:
        args += ["-H", f"Host: {host}"]
    done = subprocess.run(  # noqa: S603 - an argument list, never a shell
        [*args, url], capture_output=True, text=True, timeout=duration + 60, check=True
    )
    out = done.stdout
    result: dict[str, Any] = {"connections": connections, "duration_s": duration}
    result["requests_per_s"] = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    result["requests"] = int(re.search(r"([0-9]+) requests in", out).group(1))  # type: ignore[union-attr]
    for q in ("50", "99"):
        m = re.search(rf"^\s+{q}%\s+(\S+)", out, re.M)
        result[f"p{q}_ms"] = round(_ms(m.group(1)), 3) if m else None
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+([0-9]+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["non_2xx_3xx"] = int(non2xx.group(1)) if non2xx else 0
    result["socket_errors"] = sum(map(int, sock.groups())) if sock else 0
    result["failed"] = result["non_2xx_3xx"] + result["socket_errors"]
    return result


@contextlib.contextmanager
def static_reference(router: NginxRouter, workdir: Path, peer: str) -> Iterator[tuple[int, int]]:
    """The router's own nginx.conf with a static upstream (peer) and no Lua in the request
    path, on another port: what the Lua balancer and access checks cost. Yields its port."""
    port = free_port()
    text = router.conf_path.read_text()
    text = text.replace(
        "server 0.0.0.1; # never used: the balancer below picks the peer", f"server {peer};"
    )
    text = re.sub(r"balancer_by_lua_block \{[^}]*\}", "", text)
    text = re.sub(r"access_by_lua_block \{[^}]*\}", "", text)
    text = re.sub(r"ssl_certificate_by_lua_block \{[^}]*\}", "", text)
    # without Lua, nginx's own request id (as the controller's server has)
    text = text.replace(
        'set $deis_made_request_id ""; # set by Lua', "set $deis_made_request_id $request_id;"
    )
    text = re.sub(r"listen 127\.0\.0\.1:\d+ ssl http2 default_server;", "", text)
    text = re.sub(r"listen 127\.0\.0\.1:\d+ ssl http2;", "", text)
    text = re.sub(
        r"listen 127\.0\.0\.1:\d+ default_server;", f"listen 127.0.0.1:{port} default_server;", text
    )
    text = re.sub(r"listen 127\.0\.0\.1:\d+;", f"listen 127.0.0.1:{free_port()};", text)
    prefix = workdir / "static"
    (prefix / "run").mkdir(parents=True)
    text = text.replace(str(router.dir / "run" / "admin.sock"), str(prefix / "run" / "admin.sock"))
    text = text.replace(str(router.dir / "nginx.pid"), str(prefix / "nginx.pid"))
    text = text.replace(str(router.dir / "access.log"), str(prefix / "access.log"))
    text = text.replace(str(router.dir / "error.log"), str(prefix / "error.log"))
    conf = prefix / "nginx.conf"
    conf.write_text(text)
    args = [
        "/usr/sbin/nginx",
        "-p",
        str(router.dir),
        "-c",
        str(conf),
        "-e",
        str(prefix / "error.log"),
        "-g",
        "daemon off;",
    ]
    proc = subprocess.Popen(args, start_new_session=True)  # noqa: S603 - an argument list
    try:
        wait_port(port)
        yield port, proc.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGQUIT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def worker_cpu_seconds(master: int) -> float:
    """CPU time (user + system) used so far by the worker processes of an nginx master."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if fields[1] == str(master):
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each figure over rounds (failures summed)."""
    out = dict(runs[0])
    for key in ("requests_per_s", "p50_ms", "p99_ms", "nginx_cpu_us_per_request"):
        values = [r[key] for r in runs if r.get(key) is not None]
        out[key] = round(statistics.median(values), 3) if values else None
    for key in ("requests", "failed", "non_2xx_3xx", "socket_errors"):
        out[key] = sum(r[key] for r in runs)
    out["rounds"] = [{k: r[k] for k in ("requests_per_s", "p50_ms", "p99_ms")} for r in runs]
    return out


def paired_figures(runs: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """The targets' figures per round, router against the direct run of the same round
    (taken a few seconds apart, so that the machine's other load weighs on both alike),
    and their median over the rounds."""
    pairs = zip(
        runs["direct_32"], runs["router_32"], runs["direct_4"], runs["router_4"], strict=True
    )
    rows = {"throughput_ratio_32": [], "added_p50_ms_4": [], "added_p99_ms_4": []}
    for d32, r32, d4, r4 in pairs:
        rows["throughput_ratio_32"].append(round(r32["requests_per_s"] / d32["requests_per_s"], 3))
        rows["added_p50_ms_4"].append(round(r4["p50_ms"] - d4["p50_ms"], 3))
        rows["added_p99_ms_4"].append(round(r4["p99_ms"] - d4["p99_ms"], 3))
    return {
        name: {"median": round(statistics.median(values), 3), "rounds": values}
        for name, values in rows.items()
    }


def changes(router: NginxRouter, peers: list[str], duration: float) -> dict[str, int]:
    """20 peer changes (deploys, scaling), 10 domain and 10 certificate changes and 10
    config changes (DEIS_ROUTER_BODY_SIZE and _READ_TIMEOUT set and unset) of `bench`,
    and 20 maintenance toggles of `other`, spread over `duration` seconds."""
    pem, key = self_signed("bench.example.com")
    cert = TLSCertificate("bench", ("bench.example.com",), pem, key)
    counts = {"peer_changes": 0, "domain_changes": 0, "certificate_changes": 0}
    counts["config_changes"] = 0
    counts["maintenance_toggles"] = 0
    route = AppRoute("bench", ("bench.localhost",))
    steps = 20
    for i in range(steps):
        router.set_peers("bench", [peers[i % 4], peers[(i + 1) % 4]])
        counts["peer_changes"] += 1
        time.sleep(duration / steps / 3)
        if i % 2 == 0:
            # a custom domain comes (with its certificate), or goes
            adding = i % 4 == 0
            hosts = ("bench.localhost", "bench.example.com") if adding else ("bench.localhost",)
            route = replace(route, hosts=hosts, certificates=(cert,) if adding else ())
            counts["domain_changes"] += 1
            counts["certificate_changes"] += 1
        else:
            setting = i % 4 == 1
            limits = RouteLimits(8 * 1024**2, read_timeout=30) if setting else RouteLimits()
            route = replace(route, limits=limits)
            counts["config_changes"] += 1
        router.apply(route)
        time.sleep(duration / steps / 3)
        router.apply(AppRoute("other", ("other.localhost",), maintenance=i % 2 == 0))
        counts["maintenance_toggles"] += 1
        time.sleep(duration / steps / 3)
    return counts


def reloads(router: NginxRouter, duration: float, count: int = 10) -> dict[str, int]:
    for _ in range(count):
        time.sleep(duration / (count + 1))
        router.process.reload()
    return {"reloads": count}


def under_load(
    router: NginxRouter, url: str, duration: float, action: Any, *args: Any
) -> dict[str, Any]:
    box: dict[str, Any] = {}

    def run() -> None:
        box["wrk"] = wrk(url, 32, duration, host="bench.localhost")

    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.5)
    box["done"] = action(router, *args)
    t.join(timeout=duration + 90)
    return {**box["wrk"], **box["done"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--change-duration", type=float, default=20.0)
    parser.add_argument("--app", choices=("python", "nginx"), default="python")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (medians)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--no-reload-reference", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix=f"deis-bench-router-{uuid.uuid4().hex[:8]}-"))
    app_ports = [free_port() for _ in range(4)]
    peers = [f"127.0.0.1:{p}" for p in app_ports]
    router = NginxRouter(
        workdir / "state",
        http_port=free_port(),
        https_port=free_port(),
        controller_address=f"127.0.0.1:{free_port()}",
    )
    results: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": os.getloadavg(),
        },
        "app": args.app,
    }
    try:
        with trivial_app(args.app, workdir, app_ports), contextlib.ExitStack() as stack:
            router.start()
            router.apply(AppRoute("bench", ("bench.localhost",)))
            router.apply(AppRoute("other", ("other.localhost",)))
            router.set_peers("bench", peers[:1])
            router.set_peers("other", peers[:1])
            direct = f"http://127.0.0.1:{app_ports[0]}/"
            routed = f"http://127.0.0.1:{router.config.http_port}/"
            static_port, static_pid = stack.enter_context(
                static_reference(router, workdir, peers[0])
            )
            static = f"http://127.0.0.1:{static_port}/"
            assert router.pid is not None
            targets: dict[str, tuple[str, str | None, int | None]] = {
                "direct": (direct, "bench.localhost", None),  # the same request, straight
                "router": (routed, "bench.localhost", router.pid),
                "static": (static, "bench.localhost", static_pid),
            }
            for url, host, _ in targets.values():
                wrk(url, 32, 2, host=host)  # warm up
            log(f"{args.rounds} rounds, interleaved: 32 connections (throughput), 4 (latency)")
            runs: dict[str, list[dict[str, Any]]] = {}
            results["machine"]["load_average_per_round"] = []
            for _ in range(args.rounds):
                results["machine"]["load_average_per_round"].append(
                    [round(x, 2) for x in os.getloadavg()]
                )
                for name, (url, host, master) in targets.items():
                    for conns in (32, 4):
                        cpu = worker_cpu_seconds(master) if master else 0.0
                        run = wrk(url, conns, args.duration, host=host)
                        if master:
                            used = worker_cpu_seconds(master) - cpu
                            run["nginx_cpu_us_per_request"] = used / run["requests"] * 1e6
                        runs.setdefault(f"{name}_{conns}", []).append(run)
            for key, value in runs.items():
                results[key] = median_run(value)
            stack.close()
            router.set_peers("bench", peers[:2])
            log("changes under a 32-connection load")
            before = (router.pid, router.process.workers())
            results["changes"] = under_load(
                router, routed, args.change_duration, changes, peers, args.change_duration
            )
            results["changes"]["nginx_reloaded"] = before != (router.pid, router.process.workers())
            if not args.no_reload_reference:
                log("reference: nginx reloads under the same load")
                results["reload_reference"] = under_load(
                    router, routed, args.change_duration, reloads, args.change_duration
                )
    finally:
        router.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    d32, r32, d4, r4 = (results[k] for k in ("direct_32", "router_32", "direct_4", "router_4"))
    paired = paired_figures(runs)
    summary = {
        "throughput_ratio_32": paired["throughput_ratio_32"]["median"],
        "added_p50_ms_4": paired["added_p50_ms_4"]["median"],
        "added_p99_ms_4": paired["added_p99_ms_4"]["median"],
        "per_round": paired,
        "failed_during_changes": results["changes"]["failed"],
        "failed_during_reloads": results.get("reload_reference", {}).get("failed"),
    }
    summary["targets_met"] = (
        summary["throughput_ratio_32"] >= 0.5
        and summary["added_p50_ms_4"] < 1.0
        and summary["added_p99_ms_4"] < 2.0
        and summary["failed_during_changes"] == 0
    )
    summary["lua_vs_static_upstream_32"] = round(
        r32["requests_per_s"] / results["static_32"]["requests_per_s"], 3
    )
    summary["nginx_cpu_us_per_request_32"] = {
        "router": r32["nginx_cpu_us_per_request"],
        "static_upstream": results["static_32"]["nginx_cpu_us_per_request"],
    }
    results["machine"]["load_average_after"] = os.getloadavg()
    busiest = max(max(x) for x in results["machine"]["load_average_per_round"])
    if busiest > (os.cpu_count() or 1):
        summary["machine_busy"] = (
            f"load average up to {busiest:.1f} on {os.cpu_count()} cores: other work shared"
            " the cores, so these figures are a floor; run again on an idle machine"
        )
    results["summary"] = summary
    for run in (d32, r32, d4, r4):
        if run["failed"]:
            summary["targets_met"] = False
            summary["invalid"] = "a measuring run had failed requests"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"{'run':<28}{'req/s':>12}{'p50 ms':>10}{'p99 ms':>10}{'failed':>8}")
    rows = [
        ("direct, 32 connections", d32),
        ("router, 32 connections", r32),
        ("direct, 4 connections", d4),
        ("router, 4 connections", r4),
        ("static upstream, 32 conn.", results["static_32"]),
        ("static upstream, 4 conn.", results["static_4"]),
        ("router, changes, 32 conn.", results["changes"]),
    ]
    if "reload_reference" in results:
        rows.append(("router, 10 reloads, 32 conn.", results["reload_reference"]))
    for name, run in rows:
        print(
            f"{name:<28}{run['requests_per_s']:>12.0f}{run['p50_ms']:>10.3f}"
            f"{run['p99_ms']:>10.3f}{run['failed']:>8}"
        )
    print(
        f"\n{'round':<8}{'ratio at 32':>12}{'added p50':>11}{'added p99':>11}{'load (1, 5, 15 min)':>24}"
    )
    for i, load in enumerate(results["machine"]["load_average_per_round"]):
        print(
            f"{i + 1:<8}{paired['throughput_ratio_32']['rounds'][i]:>12.3f}"
            f"{paired['added_p50_ms_4']['rounds'][i]:>11.3f}{paired['added_p99_ms_4']['rounds'][i]:>11.3f}"
            f"{', '.join(f'{x:.2f}' for x in load):>24}"
        )
    print(
        f"{'median':<8}{summary['throughput_ratio_32']:>12.3f}{summary['added_p50_ms_4']:>11.3f}"
        f"{summary['added_p99_ms_4']:>11.3f}"
    )
    print(json.dumps(summary, indent=2))
    print(f"written to {args.out}")
    return 0 if summary["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
