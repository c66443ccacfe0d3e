"""Benchmark of the podman runtime, on the real platform: scale, deploy, changes under load,
memory per replica, replacement of a killed replica.

    .venv/bin/python bench/runtime.py [--replicas 10] [--kills 5] [--out PATH]

1. `deisctl up` in a temporary state dir, on free ports of 127.0.0.1: the podman runtime,
   the nginx router, no builder (`--builder none`). A user registers, creates the app
   `bench`, and deploys an image with `deis pull` (POST /v2/apps/bench/builds): Debian's
   busybox-static imported into the platform's podman storage, running `httpd`, which
   answers `/` with the release it runs (`v3`, ...). Every request below goes through the
   router (`Host: bench.localhost`), never straight to a replica.
2. Scale: `POST /scale {"web": N}` from 1 to --replicas (10) and back to 1; the API
   answers when the new state serves (as `deis scale` does). Timed: the API call, and
   until the router spreads requests over that many replicas.
3. Deploy: `POST /config` with a new value (`deis config:set`), timed until the router
   serves the new release (and the API call on its own), --deploys times (5).
4. Changes under load: wrk with 32 connections through the router while 10 config
   changes, 5 scales (web between 2 and 4) and 2 rollbacks are made one after another.
   Every socket error, timeout and non-2xx answer counts as a failed request.
5. Memory per replica: the proportional set size (PSS; RSS too) of the platform's
   processes (the server and its children: nginx, ...), each replica's `conmon` and its
   init process (`catatonit`, from `--init`), at 1 and at --replicas replicas, divided
   by the difference in replicas. The app's own processes (httpd) are not counted.
6. Killed replica: web scaled to --kills (5); each replica in turn gets SIGKILL (its
   init, so the container exits) and is timed until `GET /pods` shows it up again and
   the router answers 200. One kill per replica: the second restart of one replica within
   a minute waits a backoff on purpose (1 s, 2 s, 4 s, ...), as Kubernetes' does.
7. `deisctl down --purge` and the temporary dir removed, also on error or Ctrl-C.

Results go to bench/results/runtime.json; a table is printed. The machine's load average
is recorded: on a shared 2-core machine the figures are noisy. Never a timed assertion.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

try:
    import httpx
except ImportError:  # `python bench/runtime.py` outside the virtualenv
    if VENV_PYTHON.exists() and Path(sys.executable).resolve() != VENV_PYTHON.resolve():
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *sys.argv])
    raise

sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "runtime.json"
BIN = Path(sys.executable).parent
APP = "bench"
HOST = f"{APP}.localhost"
TARGETS = {
    "scale_up_s": 5.0,
    "config_to_serving_s": 1.0,
    "failed_requests": 0,
    "platform_mib_per_replica": 15.0,
    "killed_replaced_s": 5.0,
}
CHANGES = ["config", "scale", "config", "rollback", "config", "scale", "config", "config"]
CHANGES += ["scale", "config", "rollback", "config", "scale", "config", "config", "scale"]
CHANGES += ["config"]  # 10 config changes, 5 scales, 2 rollbacks


def log(message: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, poll: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


@dataclass
class Platform:
    """One platform instance, started and stopped with deisctl."""

    root: Path
    api_port: int = field(default_factory=free_port)
    router_port: int = field(default_factory=free_port)
    token: str = ""

    @property
    def state(self) -> Path:
        return self.root / "state"

    def deisctl(self, *args: str, timeout: float = 180) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEIS_")}
        env["HOME"] = str(self.root)
        done = subprocess.run(  # noqa: S603 - an argument list
            [str(BIN / "deisctl"), *args, "--state-dir", str(self.state)],
            env=env, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"deisctl {args[0]} failed: {done.stdout}{done.stderr}")
        return done.stdout

    def up(self) -> None:
        self.deisctl(
            "up", "--api-port", str(self.api_port), "--ssh-port", str(free_port()),
            "--router-port", str(self.router_port), "--router-https-port", str(free_port()),
            "--runtime", "podman", "--router", "nginx", "--builder", "none",
        )  # fmt: skip

    def down(self) -> None:
        with contextlib.suppress(Exception):
            self.deisctl("down", "--purge", "--timeout", "20")

    # --- the API ---------------------------------------------------------------------------

    def api(self, method: str, path: str, body: object = None, timeout: float = 300) -> Any:
        headers = {"Authorization": f"token {self.token}"} if self.token else {}
        response = httpx.request(
            method, f"http://127.0.0.1:{self.api_port}/v2/{path}", json=body, headers=headers,
            timeout=timeout, trust_env=False,
        )  # fmt: skip
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def login(self) -> None:
        user = {"username": "bench", "password": "bench-password", "email": "bench@example.com"}
        self.api("POST", "auth/register", user)
        self.token = self.api("POST", "auth/login", user)["token"]

    def pods(self) -> list[dict[str, Any]]:
        return list(self.api("GET", f"apps/{APP}/pods")["results"])

    def server_pid(self) -> int:
        return int((self.state / "platform.pid").read_text().split()[0])

    def podman(self) -> Any:
        from deis.runtime.podman import load_instance_id
        from deis.runtime.podman.podman import Podman
        from deis.stack.podman_conf import paths_for

        return Podman(paths_for(self.state, load_instance_id(self.state)))


class Router:
    """Requests through the router, one connection kept alive."""

    def __init__(self, port: int) -> None:
        self.client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Host": HOST}, timeout=2,
            trust_env=False,
        )  # fmt: skip

    def get(self) -> tuple[int, str]:
        try:
            response = self.client.get("/")
        except httpx.HTTPError:
            return 0, ""
        return response.status_code, response.text.strip()


def deploy_image(p: Platform, workdir: Path) -> str:
    from tests.runtime.conftest import WEB, build_image_tarball

    image = f"localhost/deis-bench/busybox:{uuid.uuid4().hex[:8]}"
    tarball = workdir / "busybox.tar"
    build_image_tarball(tarball)
    p.podman().import_image(tarball, image, [f"CMD {json.dumps(['/bin/sh', '-c', WEB])}"])
    p.api("POST", "apps", {"id": APP})
    p.api("POST", f"apps/{APP}/builds", {"image": image, "procfile": {"web": WEB}})
    return image


def latest_version(p: Platform) -> str:
    return f"v{p.api('GET', f'apps/{APP}/releases')['results'][0]['version']}"


# --- 2. scale --------------------------------------------------------------------------


def distinct_peers(router: Router, p: Platform, want: int, timeout: float = 30) -> float:
    """Seconds until the replicas the router reaches are `want` (their addresses are
    seen through the env.txt each one serves)."""
    began = time.monotonic()
    seen: set[str] = set()
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{p.router_port}", headers={"Host": HOST}, timeout=2,
        trust_env=False,
    )  # fmt: skip
    while time.monotonic() - began < timeout:
        with contextlib.suppress(httpx.HTTPError):
            text = client.get("/env.txt").text
            host = re.search(r"^HOSTNAME=(.*)$", text, re.M)
            if host:
                seen.add(host.group(1))
        if len(seen) >= want:
            return time.monotonic() - began
    return math.nan


def bench_scale(p: Platform, router: Router, replicas: int, rounds: int) -> dict[str, Any]:
    up: list[float] = []
    down: list[float] = []
    for _ in range(rounds):
        began = time.monotonic()
        p.api("POST", f"apps/{APP}/scale", {"web": replicas})
        up.append(time.monotonic() - began)
        assert sum(1 for pod in p.pods() if pod["state"] == "up") == replicas
        began = time.monotonic()
        p.api("POST", f"apps/{APP}/scale", {"web": 1})
        down.append(time.monotonic() - began)
        time.sleep(1)
    p.api("POST", f"apps/{APP}/scale", {"web": replicas})
    spread = distinct_peers(router, p, replicas)
    p.api("POST", f"apps/{APP}/scale", {"web": 1})
    return {
        "replicas": replicas,
        "up_s": [round(x, 3) for x in up],
        "down_s": [round(x, 3) for x in down],
        "up_median_s": round(statistics.median(up), 3),
        "down_median_s": round(statistics.median(down), 3),
        "router_reached_all_s_after_answer": round(spread, 3),
    }


# --- 3. deploy ---------------------------------------------------------------------------


def bench_config(p: Platform, router: Router, count: int) -> dict[str, Any]:
    """The router is polled from the moment the request is sent: the API answers once the
    new release serves, but the new release serves before the old replicas are gone."""
    serving: list[float] = []
    answered: list[float] = []
    for i in range(count):
        before = latest_version(p)
        want = f"v{int(before[1:]) + 1}"
        box: dict[str, float] = {}

        def call(i: int = i, box: dict[str, float] = box) -> None:
            p.api("POST", f"apps/{APP}/config", {"values": {"BENCH_DEPLOY": f"{i}-{time.time()}"}})
            box["answered"] = time.monotonic()

        began = time.monotonic()
        thread = threading.Thread(target=call)
        thread.start()
        wait_until(lambda w=want: router.get() == (200, w), 60, f"{want} to serve", 0.005)
        serving.append(time.monotonic() - began)
        thread.join(timeout=120)
        answered.append(box["answered"] - began)
        time.sleep(0.5)
    return {
        "deploys": count,
        "to_serving_s": [round(x, 3) for x in serving],
        "api_answer_s": [round(x, 3) for x in answered],
        "to_serving_median_s": round(statistics.median(serving), 3),
        "api_answer_median_s": round(statistics.median(answered), 3),
    }


# --- 4. changes under load ------------------------------------------------------------------


def parse_wrk(out: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    requests = re.search(r"([0-9]+) requests in", out)
    rate = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    result["requests"] = int(requests.group(1)) if requests else 0
    result["requests_per_s"] = float(rate.group(1)) if rate else 0.0
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+([0-9]+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["non_2xx_3xx"] = int(non2xx.group(1)) if non2xx else 0
    result["socket_errors"] = dict(
        zip(("connect", "read", "write", "timeout"), map(int, sock.groups()), strict=True)
    ) if sock else {}  # fmt: skip
    result["failed"] = result["non_2xx_3xx"] + sum(result["socket_errors"].values())
    return result


def change(p: Platform, kind: str, i: int) -> None:
    if kind == "config":
        p.api("POST", f"apps/{APP}/config", {"values": {"BENCH_LOAD": f"{i}-{time.time()}"}})
    elif kind == "scale":
        p.api("POST", f"apps/{APP}/scale", {"web": 4 if i % 2 else 3})
    else:
        p.api("POST", f"apps/{APP}/releases/rollback", {})


def bench_under_load(p: Platform) -> dict[str, Any]:
    p.api("POST", f"apps/{APP}/scale", {"web": 2})
    wrk = subprocess.Popen(  # noqa: S603 - an argument list
        ["wrk", "-t2", "-c32", "-d600s", "--timeout", "5s", "-H", f"Host: {HOST}",
         f"http://127.0.0.1:{p.router_port}/"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    timings: list[dict[str, Any]] = []
    began = time.monotonic()
    try:
        time.sleep(2)
        for i, kind in enumerate(CHANGES):
            started = time.monotonic()
            change(p, kind, i)
            timings.append({"change": kind, "s": round(time.monotonic() - started, 3)})
            time.sleep(0.5)
        time.sleep(2)
    finally:
        wrk.send_signal(signal.SIGINT)  # wrk prints its summary and stops
        out, _ = wrk.communicate(timeout=60)
    result = parse_wrk(out)
    result["duration_s"] = round(time.monotonic() - began, 1)
    result["changes"] = timings
    result["counts"] = {k: CHANGES.count(k) for k in ("config", "scale", "rollback")}
    p.api("POST", f"apps/{APP}/scale", {"web": 1})
    return result


# --- 5. memory -------------------------------------------------------------------------------


def children_of() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(pid: int, tree: dict[int, list[int]]) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(tree.get(current, []))
    return found


def memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in KiB from /proc/PID/smaps_rollup; (0, 0) if it is gone."""
    rss = pss = 0
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    return rss, pss


def conmons() -> dict[str, int]:
    """Container id -> the pid of its conmon."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if argv and argv[0].endswith(b"conmon"):
                for flag in (b"-c", b"--cid"):
                    if flag in argv:
                        found[argv[argv.index(flag) + 1].decode()] = int(entry.name)
    return found


def measure_memory(p: Platform) -> dict[str, Any]:
    tree = children_of()
    platform_pids = set(descendants(p.server_pid(), tree))
    podman = p.podman()
    rows = json.loads(
        podman.call(["ps", "--format", "json", "--filter", f"label=deis.app={APP}"],
                    merge_stderr=False).output or "[]"
    )  # fmt: skip
    by_cid = conmons()
    conmon_pids = {by_cid[r["Id"]] for r in rows if r["Id"] in by_cid}
    init_pids = {int(r["Pid"]) for r in rows if r.get("Pid")}
    app_pids = {d for pid in init_pids for d in descendants(pid, tree)} - init_pids
    totals: dict[str, list[int]] = {}
    for label, pids in (
        ("platform", platform_pids), ("conmon", conmon_pids), ("init", init_pids),
        ("app", app_pids),
    ):  # fmt: skip
        rss = pss = 0
        for pid in pids:
            r, s = memory_kib(pid)
            rss, pss = rss + r, pss + s
        totals[label] = [rss, pss, len(pids)]
    return {"replicas": len(rows), "kib_rss_pss_processes": totals}


def bench_memory(p: Platform, replicas: int) -> dict[str, Any]:
    samples = {}
    for count in (1, replicas):
        p.api("POST", f"apps/{APP}/scale", {"web": count})
        time.sleep(5)  # let the platform settle (probes, the log collector)
        samples[count] = measure_memory(p)
    p.api("POST", f"apps/{APP}/scale", {"web": 1})
    per: dict[str, float] = {}
    for index, what in ((0, "rss"), (1, "pss")):
        total = 0
        for label in ("platform", "conmon", "init"):
            low = samples[1]["kib_rss_pss_processes"][label][index]
            high = samples[replicas]["kib_rss_pss_processes"][label][index]
            diff = (high - low) / (replicas - 1) / 1024
            per[f"{label}_{what}_mib"] = round(diff, 3)
            total += high - low
        per[f"platform_{what}_mib_per_replica"] = round(total / (replicas - 1) / 1024, 3)
        app_high = samples[replicas]["kib_rss_pss_processes"]["app"][index]
        per[f"app_{what}_mib_per_replica"] = round(app_high / replicas / 1024, 3)
    return {"samples": samples, "per_replica": per}


# --- 6. killed replica ---------------------------------------------------------------------------


def bench_kill(p: Platform, router: Router, count: int) -> dict[str, Any]:
    p.api("POST", f"apps/{APP}/scale", {"web": count})
    podman = p.podman()
    replaced: list[float] = []
    serving: list[float] = []
    # replicas of an earlier scale down may still be draining (`down`): wait them out
    pods = wait_until(
        lambda: (found := p.pods()) and all(x["state"] == "up" for x in found) and found,
        60, "only the replicas of this scale", 0.2,
    )  # fmt: skip
    for pod in sorted(pods, key=lambda x: x["name"]):
        name, started = pod["name"], pod["started"]
        info = json.loads(podman.call(["inspect", name], merge_stderr=False).output)[0]
        os.kill(int(info["State"]["Pid"]), signal.SIGKILL)
        began = time.monotonic()

        def back(name: str = name, started: str = started) -> bool:
            return any(
                x["name"] == name and x["state"] == "up" and x["started"] != started
                for x in p.pods()
            )

        wait_until(back, 60, f"{name} to be replaced", 0.02)
        replaced.append(time.monotonic() - began)
        wait_until(lambda: router.get()[0] == 200, 30, "the router to answer")
        serving.append(time.monotonic() - began)
        time.sleep(1)
    p.api("POST", f"apps/{APP}/scale", {"web": 1})
    return {
        "kills": count,
        "replaced_s": [round(x, 3) for x in replaced],
        "replaced_median_s": round(statistics.median(replaced), 3),
        "replaced_max_s": round(max(replaced), 3),
        "router_200_s": [round(x, 3) for x in serving],
    }


# --- the run -----------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        cpu = next(
            (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
             if line.startswith("model name")), "",
        )  # fmt: skip
    podman_version = subprocess.run(
        ["podman", "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()  # fmt: skip
    return {
        "cpus": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
        "python": platform.python_version(), "podman": podman_version,
    }  # fmt: skip


def summary(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    scale, deploy = results["scale"], results["config"]
    load, memory, kill = results["under_load"], results["memory"], results["kill"]
    per = memory["per_replica"]
    rows = [
        (f"scale web 1 -> {scale['replicas']} (s, median)", f"{scale['up_median_s']:.2f}",
         "< 5", str(scale["up_median_s"] < TARGETS["scale_up_s"])),
        (f"scale web {scale['replicas']} -> 1 (s, median)", f"{scale['down_median_s']:.2f}",
         "", ""),
        ("config:set to new release serving (s, median)", f"{deploy['to_serving_median_s']:.2f}",
         "< 1", str(deploy["to_serving_median_s"] < TARGETS["config_to_serving_s"])),
        ("failed requests, 10 config + 5 scale + 2 rollback", str(load["failed"]),
         "0", str(load["failed"] == 0)),
        ("platform MiB per replica (PSS)", f"{per['platform_pss_mib_per_replica']:.2f}",
         "< 15", str(per["platform_pss_mib_per_replica"] < TARGETS["platform_mib_per_replica"])),
        ("platform MiB per replica (RSS)", f"{per['platform_rss_mib_per_replica']:.2f}", "", ""),
        ("SIGKILLed replica up again (s, max)", f"{kill['replaced_max_s']:.2f}",
         "< 5", str(kill["replaced_max_s"] < TARGETS["killed_replaced_s"])),
    ]  # fmt: skip
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicas", type=int, default=10)
    parser.add_argument("--scale-rounds", type=int, default=3)
    parser.add_argument("--deploys", type=int, default=5)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    missing = [t for t in ("podman", "nginx", "wrk") if shutil.which(t) is None]
    if missing or os.geteuid() != 0:
        print(f"needs root and {', '.join(missing) or 'nothing else'}", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix=f"deis-bench-runtime-{uuid.uuid4().hex[:8]}-"))
    p = Platform(workdir)
    results: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "load_average_before": os.getloadavg(),
        "targets": TARGETS,
    }
    try:
        log("deisctl up (podman runtime, nginx router)")
        p.up()
        p.login()
        deploy_image(p, workdir)
        router = Router(p.router_port)
        wait_until(lambda: router.get()[0] == 200, 60, "the app to serve")
        log(f"scale 1 -> {args.replicas} -> 1, {args.scale_rounds} times")
        results["scale"] = bench_scale(p, router, args.replicas, args.scale_rounds)
        log(f"config:set to serving, {args.deploys} times")
        results["config"] = bench_config(p, router, args.deploys)
        log("changes under a 32-connection load")
        results["under_load"] = bench_under_load(p)
        log(f"memory at 1 and {args.replicas} replicas")
        results["memory"] = bench_memory(p, args.replicas)
        log(f"SIGKILL of {args.kills} replicas")
        results["kill"] = bench_kill(p, router, args.kills)
    finally:
        log("deisctl down --purge")
        p.down()
        shutil.rmtree(workdir, ignore_errors=True)
    results["load_average_after"] = os.getloadavg()
    rows = summary(results)
    results["summary"] = [
        dict(zip(("figure", "value", "target", "met"), r, strict=True)) for r in rows
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    width = max(len(r[0]) for r in rows)
    print(f"{'figure':<{width}}  {'value':>8}  {'target':>6}  met")
    for figure, value, target, met in rows:
        print(f"{figure:<{width}}  {value:>8}  {target:>6}  {met}")
    print(
        f"load average before {results['load_average_before']}, after {results['load_average_after']}"
    )
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
