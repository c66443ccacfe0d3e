"""Benchmark of the add-ons' servers on this machine (deis.runtime.podman.addons).

    .venv/bin/python bench/addons.py [--rounds 3] [--out PATH]

For PostgreSQL and Redis (plan mini), --rounds times each, in a temporary state dir with
its own instance id (the add-on stack image must exist: it is made first if not):

1. create: `provision` (container, namespace, first start with initdb for PostgreSQL)
   until the server accepts a signed-in connection from the host: what `deis
   addons:create` waits for before it makes the release;
2. first query from an app: a busybox replica of an app is running; the add-on is
   attached (`reach`) and timed until a query from inside the replica, through the
   forwarder, gets its answer (PostgreSQL: the SSLRequest's "N"; Redis: PONG);
3. idle memory: the server's container memory (its cgroup's usage, cgroups v1
   `memory.usage_in_bytes` less the page cache) 5 s after it became ready;
4. restart: the server's container killed, timed until it accepts connections again.

The whole `deis addons:create` to the first query through the router (with the release
and the app's rolling deploy) is timed by tests/e2e/test_addons.py, which prints it.
Results go to bench/results/addons.json and a table is printed. Never a timed assertion.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def memory_mb(podman: Any, name: str) -> float | None:
    """The container's memory without its page cache (cgroups v1 memory controller)."""
    out = podman.call(["inspect", "--format", "{{.State.Pid}}", name], merge_stderr=False)
    out = out.output.strip()
    try:
        lines = Path(f"/proc/{int(out)}/cgroup").read_text().splitlines()
    except (OSError, ValueError):
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            base = Path("/sys/fs/cgroup/memory") / path.lstrip("/")
            try:
                usage = int((base / "memory.usage_in_bytes").read_text())
                stat = dict(row.split() for row in (base / "memory.stat").read_text().splitlines())
            except OSError:
                return None
            return (usage - int(stat.get("total_cache", 0))) / 2**20
    return None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "addons.json")
    args = parser.parse_args()

    from tests.runtime.conftest import WEB, build_image_tarball

    from deis.domain.addons import HOST, Addon
    from deis.domain.desired import DesiredApp
    from deis.runtime.podman import PodmanRuntime, purge
    from deis.runtime.podman.addons import PodmanAddons, ping
    from deis.stack.build import ensure_extra
    from deis.stack.definition import ADDON_STACK

    image = ensure_extra(ADDON_STACK)
    work = Path(tempfile.mkdtemp(prefix="deis-bench-addons-"))
    instance = f"bench-{os.getpid()}"
    runtime = PodmanRuntime(work / "state", instance, grace_seconds=1, supervise_interval=0.5)
    busybox = f"localhost/deis-bench/busybox:{instance}"
    build_image_tarball(work / "busybox.tar")
    runtime.podman.import_image(
        work / "busybox.tar", busybox, [f"CMD {json.dumps(['/bin/sh', '-c', WEB])}"]
    )
    runtime.start()
    servers = PodmanAddons(runtime, image=lambda: image, supervise_interval=0.5)
    servers.start()
    now = datetime.now(UTC)
    results: dict[str, dict[str, list[float]]] = {}
    try:
        runtime.deploy(
            DesiredApp(
                app="bench",
                version=1,
                image=busybox,
                kind="image",
                sha="0000001",
                procfile={"web": WEB},
                structure={"web": 1},
                env={},
            )
        )
        replica = runtime.pods("bench")[0].name
        for service, query, want in (
            ("postgres", r"printf '\000\000\000\010\004\322\026\057' | nc -w 3", "N"),
            ("redis", "printf 'PING\\r\\n' | nc -w 3", "NOAUTH"),
        ):
            figures: dict[str, list[float]] = {
                "create_s": [],
                "first_query_s": [],
                "idle_memory_mb": [],
                "restart_s": [],
            }
            for round_ in range(args.rounds):
                addon = Addon(
                    f"{service}-bench-{round_:04d}", service, "mini", "bench", "bench",
                    secrets.token_hex(16), 25100 + round_, now, now,
                )  # fmt: skip
                started = time.monotonic()
                servers.provision(addon)
                figures["create_s"].append(time.monotonic() - started)
                started = time.monotonic()
                servers.reach(addon, ["bench"])
                script = f"{query} {HOST} {addon.port}"
                while want not in runtime.podman.exec(replica, ["sh", "-c", script], 10).output:
                    time.sleep(0.05)
                figures["first_query_s"].append(time.monotonic() - started)
                time.sleep(5)
                used = memory_mb(runtime.podman, f"addon_{addon.name}")
                if used is not None:
                    figures["idle_memory_mb"].append(used)
                address = servers.address(addon.name)
                runtime.podman.kill(f"addon_{addon.name}")
                started = time.monotonic()
                while servers.state(addon.name) == "available":
                    time.sleep(0.05)
                while True:
                    try:
                        ping(addon, address, timeout=1)
                        break
                    except Exception:
                        time.sleep(0.1)
                figures["restart_s"].append(time.monotonic() - started)
                servers.deprovision(addon.name)
            results[service] = figures
    finally:
        servers.stop()
        runtime.stop()
        for app in runtime.apps():
            runtime.remove(app)
        runtime.podman.remove_image(busybox)
        purge(work / "state", instance)

    load = os.getloadavg()
    report = {
        "when": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "rounds": args.rounds,
        "load_average": load,
        "cores": os.cpu_count(),
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print("| service | create (s) | first query from an app (s) | idle memory (MB) | restart (s) |")
    print("|---|---|---|---|---|")
    for service, figures in results.items():
        cells = [
            f"{statistics.median(v):.2f} (max {max(v):.2f})" if v else "-" for v in figures.values()
        ]
        print(f"| {service} | " + " | ".join(cells) + " |")
    print(f"(median of {args.rounds}; load average {load[0]:.2f}; {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
