"""CPU each replica uses, from its cgroup: sampled on every supervision pass, averaged over
a window when the autoscaler asks.

A container's cgroup is found from its init process (`/proc/PID/cgroup`): cgroups v1
`cpuacct.usage` (nanoseconds), or on cgroups v2 `cpu.stat`'s `usage_usec`.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
KEEP = 180  # samples per replica: three minutes at one pass a second


def cgroup_usage_ns(pid: int, root: Path = CGROUP_ROOT, proc: Path = Path("/proc")) -> int | None:
    """CPU time used by the cgroup of a process, in nanoseconds; None if unknown."""
    try:
        lines = (proc / str(pid) / "cgroup").read_text().splitlines()
    except OSError:
        return None
    unified: str | None = None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "cpuacct" in controllers.split(","):
            for mount in ("cpuacct", "cpu,cpuacct", "cpuacct,cpu"):
                usage = _read_int(root / mount / path.lstrip("/") / "cpuacct.usage")
                if usage is not None:
                    return usage
        elif controllers == "":
            unified = path
    if unified is not None:
        try:
            stat = (root / unified.lstrip("/") / "cpu.stat").read_text()
        except OSError:
            return None
        for line in stat.splitlines():
            key, _, value = line.partition(" ")
            if key == "usage_usec" and value.strip().isdigit():
                return int(value) * 1000
    return None


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


class CpuBook:
    """Samples of (monotonic seconds, CPU nanoseconds) per replica. Thread-safe."""

    def __init__(self) -> None:
        self._samples: dict[str, deque[tuple[float, int]]] = {}
        self._lock = threading.Lock()

    def record(self, name: str, at: float, usage_ns: int) -> None:
        with self._lock:
            samples = self._samples.setdefault(name, deque(maxlen=KEEP))
            if samples and usage_ns < samples[-1][1]:  # restarted: a new cgroup
                samples.clear()
            samples.append((at, usage_ns))

    def keep_only(self, names: Iterable[str]) -> None:
        wanted = set(names)
        with self._lock:
            for name in [n for n in self._samples if n not in wanted]:
                del self._samples[name]

    def millicores(self, name: str, now: float, window: float, least: float = 1.0) -> float | None:
        """Average use over the last `window` seconds (1000 = one core busy); None until
        the samples span at least `least` seconds."""
        with self._lock:
            samples = list(self._samples.get(name, ()))
        recent = [s for s in samples if now - s[0] <= window]
        if len(recent) < 2:
            return None
        (first_at, first_ns), (last_at, last_ns) = recent[0], recent[-1]
        span = last_at - first_at
        if span < least:
            return None
        return (last_ns - first_ns) / span / 1e6
