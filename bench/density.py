"""Benchmark of density: many apps on one machine, most of them asleep (issue 21).

    .venv/bin/python bench/density.py [--apps 100] [--awake 10] [--batch 5]

1. `deisctl up` (podman runtime, nginx router, git builder) in a temporary state dir
   (/tmp/deis-test-bench-density-RUNID), `deis register` (the first user: an
   administrator), `keys:add`, `create`, `git push` of examples/python-web (Flask and
   gunicorn, 2 workers) to the first app;
2. the other `--apps` - 1 apps are made from that same build, `--batch` at a time: `POST
   /v2/apps/` then the builder's own call, `POST /v2/hooks/build` (authenticated with
   the platform's builder key from the state dir), naming the first push's slug, sha and
   Procfile: a release and a deploy as after a `git push`, without building 100 times.
   Each batch is waited for until every app of it answers 200 through the router;
3. with every app awake: the PSS (from /proc/PID/smaps_rollup) of the platform's
   processes (the platform's process and everything under it: API workers, nginx and its
   workers, the SSH server, the registry; and every process whose command line names the
   state dir: podman's pause process, the conmons of non-app containers) and of the
   apps' replicas (each running container's conmon and every process under it); then the
   router's latency for the first `--awake` apps: `--clients` threads, each a keep-alive
   connection to nginx, GET / in turn on those apps (Host header) for `--seconds`;
4. the other apps asleep (`POST /v2/apps/APP/sleep/now`, `--batch` at a time), wait until
   none of their containers runs, then the same measurements again; and what an asleep
   app still holds: processes, network namespaces and addresses, containers, its rows in
   the database, its files under the state dir (the extracted slug apart);
5. `deisctl down --purge` (every container, namespace and process of the run).

Results go to bench/results/density.json; a table is printed. Never a timed assertion.
Goal (issue 21): an asleep app costs under 1 MiB beyond its stored image.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from sleep import _pss_kib, children, load, percentile, process_trees  # noqa: E402 - bench/sleep.py

MIB = 1024 * 1024


def _conmon(pid: int) -> int:
    """The conmon above a container's first process (`podman ps`'s Pid), else that pid."""
    try:
        ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        if Path(f"/proc/{ppid}/comm").read_text().strip() == "conmon":
            return ppid
    except (OSError, IndexError, ValueError):
        pass
    return pid


def _naming(text: str) -> list[int]:
    """Processes whose command line contains `text`."""
    found = []
    for d in Path("/proc").glob("[0-9]*"):
        try:
            if text.encode() in (d / "cmdline").read_bytes():
                found.append(int(d.name))
        except OSError:
            continue
    return found


class Density:
    def __init__(self, p: Any, run_id: str) -> None:  # p: tests.e2e.test_sleep.Platform
        from deis.runtime.podman import load_instance_id
        from deis.runtime.podman.podman import Podman
        from deis.stack.podman_conf import paths_for

        self.p = p
        self.run_id = run_id
        self.instance = load_instance_id(p.state)
        self.podman = Podman(paths_for(p.state, self.instance))
        profile = json.loads((p.home / ".deis" / f"{p.env['DEIS_PROFILE']}.json").read_text())
        self.api = httpx.Client(
            base_url=profile["controller"],
            headers={"Authorization": f"token {profile['token']}"},
            timeout=120,
        )
        self.builder_key = (p.state / "builder-key").read_text().strip()
        self.build_image = ""

    # deploying

    def clone(self, name: str, build: dict[str, Any]) -> None:
        """A new app with the first app's build: the builder's call after a push."""
        self.api.post("/v2/apps/", json={"id": name}).raise_for_status()
        self.api.post(
            "/v2/hooks/build/",
            headers={"X-Deis-Builder-Auth": self.builder_key},
            json={
                "receive_user": "dev",
                "receive_repo": name,
                "sha": build["sha"],
                "image": build["image"],
                "procfile": build["procfile"],
            },
        ).raise_for_status()

    def serving(self, name: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=30) as client:
            while time.monotonic() < deadline:
                try:
                    answer = client.get(
                        f"http://127.0.0.1:{self.p.router_port}/",
                        headers={"Host": f"{name}.localhost"},
                    )
                    if answer.status_code == 200 and name in answer.text:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
        raise SystemExit(f"{name} does not answer through the router after {timeout:.0f} s")

    # measuring

    def containers(self) -> list[Any]:
        from deis.runtime import spec

        return self.podman.ps({spec.LABEL_INSTANCE: self.instance})

    def memory(self) -> dict[str, Any]:
        """PSS of the platform's processes and of the apps' replicas (no pid counted twice)."""
        from deis.runtime import spec

        running = [c for c in self.containers() if c.state == "running"]
        conmon = {c.name: _conmon(c.pid) for c in running if c.pid}
        kids = children()
        app_pids: set[int] = set()
        per_app: dict[str, int] = {}
        for c in running:
            app = c.labels.get(spec.LABEL_APP)
            if app and c.name in conmon:
                pids = process_trees([conmon[c.name]], kids)
                app_pids |= pids
                per_app[app] = per_app.get(app, 0) + sum(_pss_kib(pid) for pid in pids)
        server = int((self.p.state / "platform.pid").read_text().split()[0])
        roots = [server, *_naming(str(self.p.state))]
        platform_pids = process_trees(roots, kids) - app_pids
        by_name: dict[str, int] = {}
        for pid in platform_pids:
            try:
                comm = Path(f"/proc/{pid}/comm").read_text().strip()
            except OSError:
                continue
            by_name[comm] = by_name.get(comm, 0) + _pss_kib(pid)
        platform_kib = sum(by_name.values())
        apps_kib = sum(per_app.values())
        return {
            "platform_processes": len(platform_pids),
            "platform_pss_mib": round(platform_kib / 1024, 1),
            "platform_by_command_mib": {
                k: round(v / 1024, 1) for k, v in sorted(by_name.items(), key=lambda kv: -kv[1])
            },
            "replica_processes": len(app_pids),
            "apps_running": len(per_app),
            "replicas_pss_mib": round(apps_kib / 1024, 1),
            "replica_pss_mib_median": (
                round(statistics.median(per_app.values()) / 1024, 1) if per_app else None
            ),
            "total_pss_mib": round((platform_kib + apps_kib) / 1024, 1),
            "mem_available_mib": _meminfo("MemAvailable") // 1024,
        }

    def latency(
        self, names: list[str], clients: int, seconds: float, rate: float
    ) -> dict[str, Any]:
        """`clients` threads, each one keep-alive connection to the router, GET / on the
        awake apps in turn for `seconds`, paced to `rate` requests a second in all (a
        client that falls behind sends at once: then it is a closed loop)."""
        times: list[float] = []
        failed = [0]
        lock = threading.Lock()
        stop = time.monotonic() + seconds

        def client(k: int) -> None:
            mine: list[float] = []
            bad = 0
            with httpx.Client(base_url=f"http://127.0.0.1:{self.p.router_port}", timeout=10) as c:
                i = k
                interval = clients / rate
                due = time.monotonic() + interval * k / clients
                while time.monotonic() < stop:
                    pause = due - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                    due += interval
                    host = f"{names[i % len(names)]}.localhost"
                    i += 1
                    t0 = time.perf_counter()
                    try:
                        ok = c.get("/", headers={"Host": host}).status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    if ok:
                        mine.append(time.perf_counter() - t0)
                    else:
                        bad += 1
            with lock:
                times.extend(mine)
                failed[0] += bad

        threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return {
            "apps": len(names),
            "clients": clients,
            "seconds": seconds,
            "rate_asked": rate,
            "requests": len(times),
            "requests_per_s": round(len(times) / seconds, 1),
            "failed": failed[0],
            "p50_ms": round(statistics.median(times) * 1000, 2) if times else None,
            "p99_ms": round(percentile(times, 99) * 1000, 2) if times else None,
            "max_ms": round(max(times) * 1000, 2) if times else None,
            "load": load(),
        }

    # what an asleep app keeps

    def holdings(self, app: str) -> dict[str, Any]:
        from deis.runtime import spec

        mine = [c for c in self.containers() if c.labels.get(spec.LABEL_APP) == app]
        namespaces = [n for n in _listdir(Path("/run/netns")) if app in n]
        addresses = [
            f for f in _listdir(Path("/run/deis-ipam")) if app in _read(Path("/run/deis-ipam") / f)
        ]
        slug_bytes, other_files = 0, {}
        for rel, size in _files(self.p.state):
            if app not in rel:
                continue
            if rel.startswith("runtime/slugs/"):  # the release's slug, extracted
                slug_bytes += size
            else:
                other_files[rel] = size
        return {
            "app": app,
            "containers": len(mine),
            "running_processes": len(
                [c for c in mine if c.state == "running"]
            ),  # containers still running
            "network_namespaces": len(namespaces),
            "addresses": len(addresses),
            "rows": self.rows(app),
            "files_bytes": sum(other_files.values()),
            "files": other_files,
            "extracted_slug_bytes": slug_bytes,
            "stored_slug_bytes": self.slug_size(),
            "stored_slug": self.build_image,
        }

    def rows(self, app: str) -> dict[str, Any]:
        """Rows naming the app in the platform's SQLite database, and their bytes."""
        found = list(self.p.state.rglob("*.db")) + list(self.p.state.rglob("*.sqlite*"))
        found = [f for f in found if f.is_file() and not f.name.endswith(("-wal", "-shm"))]
        if not found:
            return {"note": "no SQLite database in the state dir"}
        out: dict[str, Any] = {"tables": {}, "rows": 0, "bytes": 0}
        with sqlite3.connect(f"file:{found[0]}?mode=ro", uri=True) as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for table in tables:
                cols = [r[1] for r in db.execute(f"PRAGMA table_info('{table}')")]
                keys = [c for c in ("app", "app_id") if c in cols]
                if table in ("apps", "app") and "id" in cols:
                    keys = ["id"]
                if not keys:
                    continue
                size = " + ".join(f'COALESCE(LENGTH("{c}"), 0)' for c in cols)
                count, total = db.execute(
                    f"SELECT COUNT(*), COALESCE(SUM({size}), 0) FROM '{table}'"
                    f' WHERE "{keys[0]}" = ?',
                    (app,),
                ).fetchone()
                if count:
                    out["tables"][table] = {"rows": count, "bytes": total}
                    out["rows"] += count
                    out["bytes"] += total
        out["database"] = str(found[0].relative_to(self.p.state))
        out["database_file_bytes"] = found[0].stat().st_size
        return out

    def slug_size(self) -> int:
        """The stored slug the apps were deployed from (in the object store)."""
        return sum(size for rel, size in _files(self.p.state) if rel.endswith(self.build_image))

    def extract_seconds(self, times: int = 5) -> float | None:
        """Median time of the runtime's own slug extraction (deis.runtime.podman.slugs) of
        the stored slug into a scratch dir under the state dir: what a wake would wait
        for if asleep apps kept no extracted slug."""
        import tempfile

        from deis.runtime.podman import slugs

        found = [rel for rel, _ in _files(self.p.state) if rel.endswith(self.build_image)]
        if not found:
            return None
        took = []
        for _ in range(times):
            with tempfile.TemporaryDirectory(dir=self.p.state) as scratch:
                t0 = time.perf_counter()
                slugs.extract(self.p.state / found[0], Path(scratch) / "v1")
                took.append(time.perf_counter() - t0)
        return round(statistics.median(took), 3)

    def state_dir_bytes(self) -> int:
        """Bytes of the files under the state dir (not into the containers' mounts)."""
        return sum(size for _, size in _files(self.p.state))


def _files(root: Path) -> list[tuple[str, int]]:
    """(path relative to root, bytes) of every regular file under root, on root's own
    file system: a running container's root file system mounted under the state dir is
    the image's, counted once in the image store."""
    device = root.stat().st_dev
    out = []
    for top, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if _same_device(Path(top) / x, device)]
        for name in files:
            path = Path(top) / name
            try:
                st = path.lstat()
            except OSError:
                continue
            if st.st_dev == device and path.is_file() and not path.is_symlink():
                out.append((str(path.relative_to(root)), st.st_size))
    return out


def _same_device(path: Path, device: int) -> bool:
    try:
        return path.lstat().st_dev == device and not path.is_symlink()
    except OSError:
        return False


def _listdir(d: Path) -> list[str]:
    try:
        return os.listdir(d)
    except OSError:
        return []


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _meminfo(field: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def run(
    apps: int, awake: int, batch: int, clients: int, seconds: float, rate: float
) -> dict[str, Any]:
    from tests.e2e.platforms import registered_platform
    from tests.e2e.test_first_deploy import ROOT
    from tests.e2e.test_sleep import Platform

    with registered_platform("bench-density", Platform, apps_dir="app") as p:
        run_id = p.state.parent.name.rsplit("-", 1)[1]
        names = [f"dens-{run_id}-{i:03d}" for i in range(1, apps + 1)]
        shutil.copytree(ROOT / "examples" / "python-web", p.app_dir, dirs_exist_ok=True)
        p.run("git", "init", "-q")
        p.run("git", "add", "-A")
        p.run("git", "commit", "-qm", "first")
        p.app = names[0]
        t0 = time.monotonic()
        p.deis("create", names[0])
        p.run("git", "push", "deis", "master", timeout=900)
        d = Density(p, run_id)
        d.serving(names[0])
        pushed_s = time.monotonic() - t0
        [build] = d.api.get(f"/v2/apps/{names[0]}/builds/").json()["results"][:1]
        d.build_image = build["image"]
        print(f"{names[0]}: pushed in {pushed_s:.0f} s, build {build['image']} (load {load()})")
        time.sleep(3)
        one_app = d.memory()
        print(f"one app: {one_app}")
        t0 = time.monotonic()
        for start in range(1, apps, batch):
            group = names[start : start + batch]
            with ThreadPoolExecutor(len(group)) as pool:
                list(pool.map(lambda n: d.clone(n, build), group))
                list(pool.map(d.serving, group))
            print(f"{start + len(group)}/{apps} apps serving after"
                  f" {time.monotonic() - t0:.0f} s (load {load()})")  # fmt: skip
        deployed_s = time.monotonic() - t0
        time.sleep(5)
        all_awake = d.memory()
        all_awake["latency"] = d.latency(names[:awake], clients, seconds, rate)
        all_awake["state_dir_bytes"] = d.state_dir_bytes()
        print(f"all {apps} awake: {all_awake}")
        holding_awake = d.holdings(names[-1])
        sleepers = names[awake:]
        t0 = time.monotonic()
        for start in range(0, len(sleepers), batch):
            group = sleepers[start : start + batch]
            with ThreadPoolExecutor(len(group)) as pool:
                list(
                    pool.map(
                        lambda n: d.api.post(f"/v2/apps/{n}/sleep/now").raise_for_status(), group
                    )
                )
        asleep = set(sleepers)
        from deis.runtime import spec

        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            left = [c for c in d.containers() if c.labels.get(spec.LABEL_APP) in asleep]
            if not left:
                break
            time.sleep(2)
        else:
            raise SystemExit(f"{len(left)} containers of asleep apps remain after 300 s")
        slept_s = time.monotonic() - t0
        print(f"{len(sleepers)} apps asleep after {slept_s:.0f} s (load {load()})")
        time.sleep(5)
        most_asleep = d.memory()
        most_asleep["latency"] = d.latency(names[:awake], clients, seconds, rate)
        most_asleep["state_dir_bytes"] = d.state_dir_bytes()
        print(f"{awake} awake, {len(sleepers)} asleep: {most_asleep}")
        holding = d.holdings(names[-1])
        holding["extract_slug_s"] = d.extract_seconds()
        still_serving = all(
            httpx.get(
                f"http://127.0.0.1:{p.router_port}/", headers={"Host": f"{n}.localhost"}, timeout=30
            ).status_code
            == 200
            for n in names[-2:]
        )  # two asleep apps woken by a request: they still serve
        d.api.close()
    freed = all_awake["total_pss_mib"] - most_asleep["total_pss_mib"]
    return {
        "run_id": run_id,
        "apps": apps,
        "awake": awake,
        "asleep": len(sleepers),
        "push_s": round(pushed_s, 1),
        "deploy_others_s": round(deployed_s, 1),
        "sleep_s": round(slept_s, 1),
        "build": {k: build[k] for k in ("image", "sha", "procfile")},
        "one_app": one_app,
        "platform_pss_per_app_mib": round(
            (all_awake["platform_pss_mib"] - one_app["platform_pss_mib"]) / max(1, apps - 1), 2
        ),
        "all_awake": all_awake,
        "most_asleep": most_asleep,
        "freed_mib": round(freed, 1),
        "freed_per_asleep_app_mib": round(freed / len(sleepers), 1) if sleepers else None,
        "platform_pss_change_mib": round(
            most_asleep["platform_pss_mib"] - all_awake["platform_pss_mib"], 1
        ),
        "asleep_app_holds": holding,
        "awake_app_holds": holding_awake,
        "asleep_apps_woken_after": still_serving,
    }


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--apps", type=int, default=100)
    parser.add_argument("--awake", type=int, default=10)
    parser.add_argument(
        "--batch", type=int, default=5, help="apps deployed or put to sleep at once"
    )
    parser.add_argument(
        "--clients", type=int, default=4, help="concurrent clients of the awake apps"
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="seconds of each latency run")
    parser.add_argument("--rate", type=float, default=200.0, help="requests/s to the awake apps")
    args = parser.parse_args()
    if not 0 < args.awake <= args.apps:
        parser.error("--awake must be between 1 and --apps")
    started = dt.datetime.now(dt.UTC)
    load_before = load()
    result = run(args.apps, args.awake, args.batch, args.clients, args.seconds, args.rate)
    report = {
        "benchmark": "density",
        "started": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "load_before": load_before,
        "load_after": load(),
        "cores": os.cpu_count(),
        "mem_total_mib": _meminfo("MemTotal") // 1024,
        "goal": "an asleep app costs under 1 MiB beyond its stored image",
        **result,
    }
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "density.json").write_text(json.dumps(report, indent=2) + "\n")
    a, s, h = result["all_awake"], result["most_asleep"], result["asleep_app_holds"]
    n, k = args.apps, args.awake
    print()
    print(f"| figure | all {n} awake | {k} awake, {n - k} asleep |")
    print("|---|---:|---:|")
    print(
        f"| platform's processes: PSS | {a['platform_pss_mib']} MiB | {s['platform_pss_mib']} MiB |"
    )
    print(f"| apps' replicas: PSS ({a['apps_running']} / {s['apps_running']} apps running)"
          f" | {a['replicas_pss_mib']} MiB | {s['replicas_pss_mib']} MiB |")  # fmt: skip
    print(f"| total PSS | {a['total_pss_mib']} MiB | {s['total_pss_mib']} MiB |")
    print(f"| files under the state dir | {a['state_dir_bytes'] / MIB:.0f} MiB"
          f" | {s['state_dir_bytes'] / MIB:.0f} MiB |")  # fmt: skip
    print(f"| router, {k} awake apps, {args.clients} clients: p50 / p99"
          f" | {a['latency']['p50_ms']} / {a['latency']['p99_ms']} ms"
          f" | {s['latency']['p50_ms']} / {s['latency']['p99_ms']} ms |")  # fmt: skip
    print(f"| requests/s, failed | {a['latency']['requests_per_s']}, {a['latency']['failed']}"
          f" | {s['latency']['requests_per_s']}, {s['latency']['failed']} |")  # fmt: skip
    print(f"\nfreed by sleeping: {result['freed_mib']} MiB,"
          f" {result['freed_per_asleep_app_mib']} MiB per asleep app")  # fmt: skip
    print(f"the platform's processes with one app: {result['one_app']['platform_pss_mib']} MiB;"
          f" {result['platform_pss_per_app_mib']} MiB more per app deployed")  # fmt: skip
    rows = h["rows"]
    print(f"an asleep app holds: {h['containers']} containers, {h['network_namespaces']}"
          f" namespaces, {h['addresses']} addresses, {rows.get('rows')} rows"
          f" ({rows.get('bytes')} bytes of values), {h['files_bytes']} bytes of files"
          f" (beside its extracted slug, {h['extracted_slug_bytes']} bytes; the stored slug"
          f" {h['stored_slug_bytes']} bytes, extracted in {h['extract_slug_s']} s)")  # fmt: skip
    print(f"\nload average before {load_before}, after {report['load_after']};"
          " bench/results/density.json")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
