"""Probes: running them (TCP, HTTP from the host; exec through podman) and keeping score."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from dataclasses import dataclass

from deis.runtime.podman.podman import Podman
from deis.runtime.probes import EXEC, HTTP, TCP, Probe, Probes


@dataclass(frozen=True)
class Seen:
    """One probe's result, and what it saw, for people (`deis logs`)."""

    ok: bool
    what: str


def check(probe: Probe, address: str, container: str, podman: Podman) -> bool:
    """One probe of one replica: True when it passes."""
    return look(probe, address, container, podman).ok


def look(probe: Probe, address: str, container: str, podman: Podman) -> Seen:
    """One probe of one replica: whether it passes, and what it saw."""
    target = {
        TCP: f"a connection to port {probe.port}",
        HTTP: f"{probe.scheme.upper()} GET {probe.path} on port {probe.port}",
    }.get(probe.kind, f"`{' '.join(probe.command)}`")
    try:
        if probe.kind == TCP:
            with socket.create_connection((address, probe.port), timeout=probe.timeout):
                return Seen(True, f"{target} was accepted")
        if probe.kind == HTTP:
            status = _http(probe, address)
            return Seen(200 <= status < 400, f"{target} answered {status}")
        if probe.kind == EXEC:
            outcome = podman.exec(container, probe.command, timeout=probe.timeout + 5)
            if outcome.timed_out:
                return Seen(False, f"{target} did not end within {probe.timeout:g} s")
            last = outcome.output.strip().splitlines()[-1:]
            said = f": {last[0][:200]}" if last else ""
            return Seen(outcome.code == 0, f"{target} exited {outcome.code}{said}")
    except TimeoutError:
        return Seen(False, f"{target} got no answer within {probe.timeout:g} s")
    except (OSError, http.client.HTTPException) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return Seen(False, f"{target} failed: {reason or exc.__class__.__name__}")
    return Seen(False, f"unknown probe kind {probe.kind!r}")


def _http(probe: Probe, address: str) -> int:
    connection: http.client.HTTPConnection
    if probe.scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection(
            address, probe.port, timeout=probe.timeout, context=context
        )
    else:
        connection = http.client.HTTPConnection(address, probe.port, timeout=probe.timeout)
    try:
        connection.request("GET", probe.path, headers=dict(probe.headers))
        return connection.getresponse().status
    finally:
        connection.close()


@dataclass
class _Record:
    started: float | None
    ready: bool = False
    successes: int = 0
    failures: int = 0
    live_failures: int = 0
    next_ready: float = 0.0
    next_live: float = 0.0


class HealthBook:
    """What the probes said about each replica since its current start. Thread-safe."""

    def __init__(self) -> None:
        self._records: dict[str, _Record] = {}
        self._lock = threading.Lock()

    def _record(self, name: str, started: float | None, probes: Probes) -> _Record:
        record = self._records.get(name)
        if record is None or record.started != started:
            base = started or 0.0
            record = _Record(
                started=started,
                next_ready=base + (probes.readiness.initial_delay if probes.readiness else 0),
                next_live=base + (probes.liveness.initial_delay if probes.liveness else 0),
            )
            self._records[name] = record
        return record

    def due(
        self, name: str, started: float | None, probes: Probes, now: float
    ) -> tuple[bool, bool]:
        """Whether the readiness and the liveness probe of a running replica are due."""
        with self._lock:
            record = self._record(name, started, probes)
            return (
                probes.readiness is not None and now >= record.next_ready,
                probes.liveness is not None and now >= record.next_live,
            )

    def readiness(
        self, name: str, started: float | None, probes: Probes, ok: bool, now: float
    ) -> None:
        probe = probes.readiness
        if probe is None:
            return
        with self._lock:
            record = self._record(name, started, probes)
            if ok:
                record.successes, record.failures = record.successes + 1, 0
                if record.successes >= probe.success_threshold:
                    record.ready = True
            else:
                record.successes, record.failures = 0, record.failures + 1
                if record.failures >= probe.failure_threshold:
                    record.ready = False
            period = probe.period
            if probe.starting_period is not None and not record.ready:
                period = probe.starting_period
            record.next_ready = now + period

    def liveness(
        self, name: str, started: float | None, probes: Probes, ok: bool, now: float
    ) -> bool:
        """Record a liveness result; True when the replica must be restarted."""
        probe = probes.liveness
        if probe is None:
            return False
        with self._lock:
            record = self._record(name, started, probes)
            record.next_live = now + probe.period
            record.live_failures = 0 if ok else record.live_failures + 1
            return record.live_failures >= probe.failure_threshold

    def ready(self, name: str, started: float | None, probes: Probes, now: float) -> bool:
        if started is None:
            return False
        if probes.readiness is None:
            return now - started >= probes.min_running
        with self._lock:
            record = self._records.get(name)
            return record is not None and record.started == started and record.ready

    def forget(self, name: str) -> None:
        with self._lock:
            self._records.pop(name, None)
