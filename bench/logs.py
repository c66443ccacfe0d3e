"""Benchmark of log collection: one noisy app writing 20,000 lines a second, read by a
real `deis logs -f`.

    .venv/bin/python bench/logs.py [--rate 20000] [--seconds 10]

1. makes the stack images if this machine has none (the replica runs on the run stack);
2. `deisctl up` in a temporary state dir (podman runtime, no router, no builder) on free
   ports; registers a user with the `deis` client; deploys one app from the run stack
   image whose `worker` writes RATE numbered lines a second for SECONDS seconds, each
   line carrying the time it was written (`seq=N t=NANOSECONDS ...`), in batches every
   5 ms;
3. starts `deis logs -f --type worker` (a real follow stream from the real server) before
   scaling the worker to 1, and reads its output: every sequence number must arrive once
   (no loss), and the delay from a line's write to its arrival is measured per line;
4. meanwhile asks `GET /v2/apps/APP` every 100 ms (the platform stays responsive), and
   reads the server's resident memory;
5. `deisctl down --purge`, removes everything.

Results go to bench/results/logs.json; a table is printed. Never a timed assertion.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

from tests.logs.live import BIN, Live, platform  # noqa: E402

WRITER = """
import sys, time
rate, seconds = {rate}, {seconds}
batch = max(1, rate // 200)
pad = b"x" * 40
out = sys.stdout.buffer
total, n, start = rate * seconds, 0, time.time()
while n < total:
    wait = start + n / rate - time.time()
    if wait > 0:
        time.sleep(wait)
    stamp = time.time_ns()
    count = min(batch, total - n)
    out.write(b"".join(b"seq=%d t=%d %s\\n" % (n + i, stamp, pad) for i in range(count)))
    out.flush()
    n += count
out.write(b"END total=%d seconds=%.3f\\n" % (n, time.time() - start))
out.flush()
time.sleep(1e6)
"""


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def rss_kib(state: Path) -> int | None:
    from deis.platform.state import parse_pid

    try:
        pid = parse_pid((state / "platform.pid").read_text())
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


class Prober(threading.Thread):
    """GET /v2/apps/APP every 100 ms; the latencies of those requests."""

    def __init__(self, live: Live, app: str) -> None:
        super().__init__(daemon=True)
        self.live, self.app = live, app
        self.samples: list[tuple[float, float]] = []  # (when, seconds)
        self.failures = 0
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.live.url, headers=self.live.headers, timeout=30,
                          trust_env=False) as client:  # fmt: skip
            while not self.stop.is_set():
                began = time.monotonic()
                try:
                    ok = client.get(f"/v2/apps/{self.app}").status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.samples.append((began, time.monotonic() - began))
                self.failures += 0 if ok else 1
                self.stop.wait(0.1)

    def between(self, start: float, end: float) -> list[float]:
        return [s for when, s in self.samples if start <= when <= end]


def follow(live: Live, app: str, total: int, received: dict[str, object]) -> subprocess.Popen:  # type: ignore[type-arg]
    """`deis logs -f` of the worker; each line's arrival time (ns) and content counted."""
    proc = subprocess.Popen(  # noqa: S603 - an argument list
        [str(BIN / "deis"), "logs", "-f", "-n", "1", "--type", "worker", "-a", app],
        env=live.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=1 << 16,
    )  # fmt: skip
    seen = bytearray(total)
    delays: list[float] = []
    received.update(seen=seen, delays=delays, duplicates=0, count=0, first=None, last=None,
                    end=None, other=0)  # fmt: skip

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            now = time.time_ns()
            at = line.find(b"]: seq=")
            if at < 0:
                if b"]: END " in line:
                    received["end"] = line.decode().rstrip()
                else:
                    received["other"] = int(received["other"]) + 1  # type: ignore[call-overload]
                continue
            seq_text, _, rest = line[at + 7 :].partition(b" t=")
            seq, stamp = int(seq_text), int(rest.split(b" ", 1)[0])
            if seen[seq]:
                received["duplicates"] = int(received["duplicates"]) + 1  # type: ignore[call-overload]
            seen[seq] = 1
            delays.append((now - stamp) / 1e6)
            received["count"] = int(received["count"]) + 1  # type: ignore[call-overload]
            if received["first"] is None:
                received["first"] = time.monotonic()
            received["last"] = time.monotonic()

    threading.Thread(target=read, daemon=True).start()
    return proc


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=20_000, help="lines a second")
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    total = args.rate * args.seconds
    from deis.stack.build import ensure

    ensure()
    load_before = os.getloadavg()
    script = base64.b64encode(WRITER.format(rate=args.rate, seconds=args.seconds).encode())
    command = f"exec python3 -c \"import base64; exec(base64.b64decode('{script.decode()}'))\""
    with platform() as live:
        app = "noisy"
        live.deploy(app, {"worker": command, "web": "exec python3 -m http.server $PORT"},
                    {"web": 1})  # fmt: skip
        prober = Prober(live, app)
        prober.start()
        time.sleep(3)
        idle_end = time.monotonic()
        rss_before = rss_kib(live.state)
        received: dict[str, object] = {}
        follower = follow(live, app, total, received)
        time.sleep(2)  # the stream is open before the first line is written
        started = time.monotonic()
        scaled = live.api("POST", f"/v2/apps/{app}/scale", json={"worker": 1, "web": 1})
        assert scaled.status_code == 204, scaled.text
        rss_peak = rss_before or 0
        deadline = started + args.seconds + 120
        while time.monotonic() < deadline and received.get("end") is None:
            rss_peak = max(rss_peak, rss_kib(live.state) or 0)
            time.sleep(0.5)
        noisy_end = time.monotonic()
        time.sleep(2)
        follower.terminate()
        follower.wait(timeout=30)
        prober.stop.set()
        prober.join(timeout=10)
        events = live.deis("logs", "-a", app, "-n", "10000")
        dropped_events = [line for line in events.splitlines() if "deis[logs]:" in line]
        seen = received["seen"]
        assert isinstance(seen, bytearray)
        delays = received["delays"]
        assert isinstance(delays, list)
        first, last = received["first"], received["last"]
        arrival = (last - first) if isinstance(first, float) and isinstance(last, float) else 0
        idle = prober.between(0, idle_end)
        busy = prober.between(started, noisy_end)
        result = {
            "rate_asked": args.rate,
            "seconds": args.seconds,
            "lines_written": total,
            "writer_end": received.get("end"),
            "lines_received": received["count"],
            "lines_missing": total - sum(seen),
            "duplicates": received["duplicates"],
            "collected_per_second": round(int(received["count"]) / arrival) if arrival else None,  # type: ignore[call-overload]
            "delay_ms": {
                "p50": round(percentile(delays, 50), 1),
                "p90": round(percentile(delays, 90), 1),
                "p99": round(percentile(delays, 99), 1),
                "max": round(max(delays), 1) if delays else None,
            },
            "api_ms_idle": {
                "p50": round(percentile(idle, 50) * 1000, 1),
                "p99": round(percentile(idle, 99) * 1000, 1),
            },  # fmt: skip
            "api_ms_noisy": {
                "p50": round(percentile(busy, 50) * 1000, 1),
                "p99": round(percentile(busy, 99) * 1000, 1),
                "max": round(max(busy, default=0) * 1000, 1),
            },  # fmt: skip
            "api_failures": prober.failures,
            "server_rss_kib": {"before": rss_before, "peak": rss_peak},
            "platform_events_of_logs": dropped_events,
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "cpus": os.cpu_count(),
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        live.deis("destroy", "-a", app, "--confirm", app)
    out = REPO / "bench" / "results" / "logs.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    rows = [
        ("lines written / received / missing", f"{total} / {result['lines_received']} / {result['lines_missing']}"),
        ("collected lines per second", str(result["collected_per_second"])),
        ("write → deis logs -f delay p50 / p99 / max (ms)",
         f"{result['delay_ms']['p50']} / {result['delay_ms']['p99']} / {result['delay_ms']['max']}"),
        ("GET /v2/apps/APP p50 / p99 idle (ms)",
         f"{result['api_ms_idle']['p50']} / {result['api_ms_idle']['p99']}"),
        ("GET /v2/apps/APP p50 / p99 / max noisy (ms)",
         f"{result['api_ms_noisy']['p50']} / {result['api_ms_noisy']['p99']} / {result['api_ms_noisy']['max']}"),
        ("server RSS before / peak (MiB)",
         f"{(rss_before or 0) // 1024} / {rss_peak // 1024}"),
        ("load average before", " ".join(map(str, result["load_average_before"]))),
    ]  # fmt: skip
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
    print(f"wrote {out}")
    return 0 if result["lines_missing"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
