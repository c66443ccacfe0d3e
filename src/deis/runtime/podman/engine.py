"""The runtime's hands: observe replicas, start, restart and stop them, probe them, and
tell the router. Shared by the deploy loop and the supervisor; decisions live in plan.py.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from deis.domain.addons import HOST as ADDONS_HOST
from deis.domain.desired import DesiredApp, Pod
from deis.domain.errors import Invalid
from deis.domain.logs import replica_label
from deis.runtime import naming, spec
from deis.runtime.listening import parse_proc_net_tcp
from deis.runtime.plan import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    BACKOFF_RESET,
    STARTING_STATES,
    CrashLoop,
    Plan,
    Policy,
    Replica,
    backoff_delay,
    backoff_detail,
    crash_event,
    crashed,
    forgiven,
    plan,
    pod_state,
)
from deis.runtime.podman import netns, slugs
from deis.runtime.podman.cpu import CpuBook, cgroup_usage_ns
from deis.runtime.podman.egress import Egress
from deis.runtime.podman.health import HealthBook, Seen, look
from deis.runtime.podman.images import Images
from deis.runtime.podman.podman import Container, Podman
from deis.runtime.probes import Probes, probes_for

log = logging.getLogger(__name__)

PeersCallback = Callable[[str, list[str]], None]
EventCallback = Callable[[str, str], None]  # (app, message): a platform event for its log
Template = tuple[str, str, int]  # (app, type, version): the replicas a crash loop is about


@dataclass(frozen=True)
class Observed:
    container: Container
    replica: Replica
    port: int
    probes: Probes


@dataclass(frozen=True)
class Options:
    run_stack_image: str
    grace: float = 30.0
    pids_limit: int = 4096
    min_running: float = 1.0
    backoff_base: float = BACKOFF_BASE
    backoff_cap: float = BACKOFF_CAP
    # a replica that has kept running this long starts its back-off from scratch again
    backoff_reset: float = BACKOFF_RESET
    default_batch: int | None = None
    default_timeout: float = 120.0
    # seconds a replica that served keeps running after the router stopped sending it
    # requests, before SIGTERM: the requests it has queued or in flight finish
    drain: float = 2.0


class Engine:
    def __init__(
        self,
        *,
        state_dir: Path,
        instance_id: str,
        podman: Podman,
        ipam: netns.Ipam,
        on_peers: PeersCallback | None,
        options: Options,
        egress: Egress | None = None,
        slug_path: Callable[[str], Path] = Path,
        container_logs: Path | None = None,
        on_event: EventCallback | None = None,
        registry_logins: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.on_event = on_event
        # told the app of each replica started (the add-ons' forwarder listens for it)
        self.on_started: Callable[[str], None] | None = None
        self.state_dir = state_dir
        self.slug_path = slug_path
        self.container_logs = container_logs
        self.instance = instance_id
        self.podman = podman
        self.images = Images(podman, logins=registry_logins)
        self.ipam = ipam
        self.on_peers = on_peers
        self.options = options
        self.egress = egress
        self.health = HealthBook()
        self.cpu = CpuBook()
        self._lock = threading.Lock()
        self._app_locks: dict[str, threading.RLock] = {}
        self._allocations: dict[str, netns.Allocation] = {}
        self._restarts: dict[str, int] = {}
        self._restart_at: dict[str, float] = {}
        # crash loops per (app, type, version): outlive the replicas (a failed deploy
        # removes them), so that a new replica of the same release carries on its back-off
        self._loops: dict[Template, CrashLoop] = {}
        self._killed: dict[str, str] = {}  # why the platform killed a replica (liveness)
        self._stopping: set[str] = set()
        self._stopped = threading.Condition(self._lock)  # notified when a stop has ended
        self._starting: set[str] = set()
        self._peers: dict[str, list[str]] = {}
        self._ports: dict[str, int | None] = {}
        self._served: set[str] = set()  # replicas that have been sent to the router
        self._started_at: dict[str, float] = {}  # monotonic time each start finished
        self._changed_at = 0.0  # monotonic time of the last start, restart or stop
        self._last_ps: tuple[float, list[Container]] = (-1.0, [])  # (taken at, everything)
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="deis-probe")
        self._starter = ThreadPoolExecutor(max_workers=8, thread_name_prefix="deis-start")

    # --- locks ---------------------------------------------------------------------------

    def app_lock(self, app: str) -> threading.RLock:
        with self._lock:
            return self._app_locks.setdefault(app, threading.RLock())

    @contextmanager
    def holding(self, app: str) -> Iterator[None]:
        with self.app_lock(app):
            yield

    # --- allocations -----------------------------------------------------------------------

    def load_allocations(self) -> list[netns.Allocation]:
        """The instance's replicas' (and runs') allocations; not the add-ons' (their own
        adapter keeps those, deis.runtime.podman.addons)."""
        found = [
            a for a in self.ipam.of_instance(self.instance) if not a.container.startswith("addon_")
        ]
        with self._lock:
            self._allocations = {a.container: a for a in found}
        return found

    def allocation(self, name: str) -> netns.Allocation | None:
        with self._lock:
            return self._allocations.get(name)

    def address(self, name: str) -> str | None:
        allocation = self.allocation(name)
        return allocation.address if allocation else None

    # --- observing -----------------------------------------------------------------------

    def containers(self, app: str | None = None, include_runs: bool = False) -> list[Container]:
        """This instance's replicas (and its one-off runs with include_runs): one `podman ps`."""
        labels = {spec.LABEL_INSTANCE: self.instance}
        if app is not None:
            labels[spec.LABEL_APP] = app
        taken_at = time.monotonic()
        found = self.podman.ps(labels)
        if app is None:
            with self._lock:
                self._last_ps = (taken_at, found)
        if include_runs:
            return found
        return [c for c in found if c.labels.get(spec.LABEL_TYPE) != naming.RUN_TYPE]

    def recent_containers(self, app: str, max_age: float) -> list[Container]:
        """This app's replicas as the last `podman ps` of every app saw them (the
        supervisor takes one about every second) if it is at most `max_age` old and no
        replica was started or stopped since; else from a new `podman ps`. Pages that
        show many apps at once then cost one `podman ps`, not one per app."""
        with self._lock:
            taken_at, everything = self._last_ps
            fresh = time.monotonic() - taken_at <= max_age and self._changed_at < taken_at
        if not fresh:
            return self.containers(app)
        return [
            c
            for c in everything
            if c.labels.get(spec.LABEL_APP) == app
            and c.labels.get(spec.LABEL_TYPE) != naming.RUN_TYPE
        ]

    def observe(
        self, app: str, desired: DesiredApp | None, containers: Iterable[Container], now: float
    ) -> list[Observed]:
        observed = []
        for container in containers:
            if container.labels.get(spec.LABEL_APP) != app:
                continue
            observed.append(self._observed(container, desired, now))
        return observed

    def _observed(self, container: Container, desired: DesiredApp | None, now: float) -> Observed:
        labels = container.labels
        proc_type = labels.get(spec.LABEL_TYPE, "")
        version = int(labels.get(spec.LABEL_VERSION, "0") or 0)
        port = int(labels.get(spec.LABEL_PORT, str(spec.DEFAULT_PORT)) or spec.DEFAULT_PORT)
        healthcheck = desired.healthcheck if desired and desired.version == version else {}
        probes = probes_for(healthcheck, proc_type, port, self.options.min_running)
        running = container.state == "running"
        state = container.state
        with self._lock:
            terminating = container.name in self._stopping
            if state in STARTING_STATES and container.name not in self._starting:
                state = "exited"  # never started (a reboot, a crash mid-start): start it
            if running and container.started and now - container.started > self._reset:
                self._restarts.pop(container.name, None)
                self._loops.pop((app_of(container), proc_type, version), None)
        replica = Replica(
            name=container.name,
            type=proc_type,
            version=version,
            state=state,
            ready=running and self.health.ready(container.name, container.started, probes, now),
            started=container.started,
            terminating=terminating or container.state in ("stopping", "removing"),
        )
        return Observed(container, replica, port, probes)

    def probe(self, observed: Sequence[Observed], now: float) -> list[Observed]:
        """Run the probes that are due (in parallel); kill replicas whose liveness failed.
        Returns the replicas with their readiness brought up to date."""
        jobs: list[tuple[Observed, str, Future[Seen]]] = []
        for item in observed:
            replica = item.replica
            address = self.address(replica.name)
            if not replica.running or replica.terminating or address is None:
                continue
            due = self.health.due(replica.name, replica.started, item.probes, now)
            for kind, probe, is_due in zip(
                ("ready", "live"), (item.probes.readiness, item.probes.liveness), due, strict=True
            ):
                if is_due and probe is not None:
                    future = self._pool.submit(look, probe, address, replica.name, self.podman)
                    jobs.append((item, kind, future))
        for item, kind, future in jobs:
            seen = future.result()
            replica = item.replica
            if kind == "ready":
                self.health.readiness(replica.name, replica.started, item.probes, seen.ok, now)
            elif self.health.liveness(replica.name, replica.started, item.probes, seen.ok, now):
                log.warning("%s failed its liveness probe: restarting it", replica.name)
                app = item.container.labels.get(spec.LABEL_APP, "")
                times = item.probes.liveness.failure_threshold if item.probes.liveness else 1
                what = f"its liveness probe {times} time{'s' if times != 1 else ''}"
                failed = f"{what} (last: {seen.what})"
                self._killed[replica.name] = f"for failing {failed}"  # said when it restarts
                self.event(app, f"{self.label(app, replica.name)} failed {failed}: killing it")
                self.podman.kill(replica.name)
        return [self._refresh(item, now) for item in observed]

    def _refresh(self, item: Observed, now: float) -> Observed:
        replica = item.replica
        ready = replica.running and self.health.ready(
            replica.name, replica.started, item.probes, now
        )
        return replace(item, replica=replace(replica, ready=ready))

    @property
    def _reset(self) -> float:
        return self.options.backoff_reset

    def policy(self, now: float, batch: int | None, rolling: bool = False, app: str = "") -> Policy:
        with self._lock:
            for key in [k for k, loop in self._loops.items() if forgiven(loop, now, self._reset)]:
                del self._loops[key]
            start_at = {
                (proc_type, version): loop.next_start
                for (of, proc_type, version), loop in self._loops.items()
                if of == app
            }
            return Policy(
                now=now,
                batch=batch,
                restart_at=dict(self._restart_at),
                rolling=rolling,
                start_at=start_at,
            )

    def crash_loop(self, app: str, proc_type: str, version: int) -> CrashLoop | None:
        """The back-off of a process type of a release whose replicas keep crashing."""
        with self._lock:
            return self._loops.get((app, proc_type, version))

    # --- acting --------------------------------------------------------------------------

    def step(
        self,
        app: str,
        desired: DesiredApp | None,
        observed: Sequence[Observed],
        now: float,
        batch: int | None,
        *,
        wait_stops: bool,
        rolling: bool = False,
    ) -> Plan:
        """Plan once and carry it out: traffic first, then stops, restarts and starts.
        `rolling`: a deploy or restart is under way (see `Policy.rolling`)."""
        policy = self.policy(now, batch, rolling, app)
        decided = plan(desired, [o.replica for o in observed], policy)
        ports = {o.replica.name: o.port for o in observed}
        self.set_peers(app, [(name, ports[name]) for name in decided.peers])
        self.stop(decided.stop, wait=wait_stops)
        by_name = {o.replica.name: o for o in observed}
        for name in decided.restart:
            item = by_name.get(name)
            self.restart(
                name,
                app=app,
                exit_code=item.container.exit_code if item else 0,
                template=(app, item.replica.type, item.replica.version) if item else None,
            )
        if desired is not None:
            self.start_replicas(desired, [s.type for s in decided.start for _ in range(s.count)])
        return decided

    def start_replicas(self, desired: DesiredApp, types: Sequence[str]) -> list[str]:
        """Start replicas in parallel (each `podman run` takes a few hundred ms, most of
        it waiting); the first failure is raised once all have been tried."""
        if len(types) <= 1:
            return [self.start_replica(desired, t) for t in types]
        for proc_type in sorted(set(types)):
            self.launch(desired, proc_type)  # the slug extracted once, NotRunnable raised early
        futures = [self._starter.submit(self.start_replica, desired, t) for t in types]
        names, failures = [], []
        for future in futures:
            try:
                names.append(future.result())
            except Exception as exc:
                failures.append(exc)
        if failures:
            raise failures[0]
        return names

    def event(self, app: str, message: str) -> None:
        if self.on_event is None or not app:
            return
        try:
            self.on_event(app, message)
        except Exception:  # the app's log is a report: never let it stop supervision
            log.exception("could not write a runtime event of %s", app)

    @staticmethod
    def label(app: str, name: str) -> str:
        try:
            return replica_label(app, name)
        except Invalid:  # not a replica's name (a run): as it is
            return name

    def set_peers(self, app: str, replicas: Sequence[tuple[str, int]], force: bool = False) -> None:
        peers = []
        for name, port in replicas:
            if address := self.address(name):
                peers.append(f"{address}:{port}")
        peers.sort()
        with self._lock:
            self._served.update(name for name, _ in replicas)
            if not force and self._peers.get(app) == peers:
                return
        if self.on_peers is not None:
            try:
                self.on_peers(app, list(peers))
            except Exception:  # the router may be down: try again on the next pass
                log.exception("telling the router the peers of %s failed", app)
                return
        with self._lock:
            self._peers[app] = peers

    def last_peers(self, app: str) -> list[str]:
        with self._lock:
            return list(self._peers.get(app, []))

    def forget_peers(self, app: str) -> None:
        with self._lock:
            self._peers.pop(app, None)

    def forget_crash_loops(self, app: str) -> None:
        """An app removed: an app made again with its name starts afresh."""
        with self._lock:
            for key in [k for k in self._loops if k[0] == app]:
                del self._loops[key]

    def port_for(self, desired: DesiredApp) -> int:
        exposed: int | None = None
        if desired.kind != spec.BUILDPACK and desired.image:
            with self._lock:
                known = desired.image in self._ports
                exposed = self._ports.get(desired.image)
            if not known:
                exposed = self.podman.exposed_port(desired.image)
                with self._lock:
                    self._ports[desired.image] = exposed
        return spec.port_for(desired, exposed)

    def log_path(self, app: str, name: str) -> Path | None:
        """CONTAINER_LOGS/APP/NAME.log: one file per replica, for the log collector."""
        if self.container_logs is None:
            return None
        directory = self.container_logs / app
        directory.mkdir(parents=True, exist_ok=True)
        return directory / f"{name}.log"

    def slug_dir(self, desired: DesiredApp) -> Path | None:
        if desired.kind != spec.BUILDPACK or not desired.image:
            return None
        target = slugs.release_dir(self.state_dir, desired.app, desired.version)
        return slugs.extract(self.slug_path(desired.image), target)

    def launch(self, desired: DesiredApp, proc_type: str) -> spec.Launch:
        """How the process starts; an image not in the local store is pulled first
        (ImagePullError says why it cannot be)."""
        if desired.kind != spec.BUILDPACK and desired.image:
            self.images.ensure(desired.image, desired.registry)
        return spec.process_launch(
            desired, proc_type, self.slug_dir(desired), self.options.run_stack_image
        )

    def start_replica(self, desired: DesiredApp, proc_type: str) -> str:
        port = self.port_for(desired)
        name = naming.replica_name(desired.app, proc_type, desired.version)
        container = spec.ContainerSpec(
            name=name,
            launch=self.launch(desired, proc_type),
            env=spec.environment(desired, port),
            labels=spec.labels(desired, proc_type, self.instance, port),
            limits=spec.limits(desired, proc_type, self.options.pids_limit),
        )
        allocation = self.ipam.allocate(self.instance, self.state_dir, name)
        with self._lock:
            self._allocations[name] = allocation
            self._starting.add(name)
            loop = self._loops.get((desired.app, proc_type, desired.version))
            if loop is not None:  # a crash loop goes on: so does its count
                self._restarts[name] = loop.crashes
        try:
            netns.setup(allocation)
            if self.egress is not None:
                self.egress.attach(allocation.netns)
            self.podman.run_detached(
                spec.run_args(
                    container,
                    allocation.netns_path,
                    self.log_path(desired.app, name),
                    hosts={ADDONS_HOST: allocation.host_address},
                ),
                spec.podman_env(container),
            )
        except Exception:
            self.podman.remove([name])
            self._release(name)
            raise
        finally:
            with self._lock:
                self._starting.discard(name)
                self._changed_at = time.monotonic()
                if name in self._allocations:
                    self._started_at[name] = self._changed_at
        log.info("started %s at %s:%d", name, allocation.address, port)
        if self.on_started is not None:
            try:
                self.on_started(desired.app)
            except Exception:
                log.exception("telling of the start of %s failed", name)
        return name

    def restart(
        self,
        name: str,
        *,
        app: str | None = None,
        exit_code: int = 0,
        template: Template | None = None,
    ) -> None:
        """Start an exited replica again, in place (same name, namespace and address);
        its crash counts for its process type's back-off too (`template`)."""
        now = time.time()
        allocation = self.allocation(name)
        with self._lock:
            count = self._restarts.get(name, 0) + 1
            self._restarts[name] = count
            delay = backoff_delay(count, self.options.backoff_base, self.options.backoff_cap)
            self._restart_at[name] = now + delay
            if template is not None:
                loop = self._loops.get(template, CrashLoop())
                self._loops[template] = crashed(loop, count, now, now + delay, self._reset)
        killed = self._killed.pop(name, None)
        if app is not None:
            label = self.label(app, name)
            self.event(app, crash_event(label, exit_code, count, delay, killed=killed))
        if allocation is None:  # its namespace is gone for good: let a new replica replace it
            log.warning("%s has no address any more: removing it", name)
            self.podman.remove([name])
            return
        try:
            netns.ensure(allocation)
            if self.egress is not None:
                self.egress.attach(allocation.netns)
            self.podman.start(name)
            with self._lock:
                self._changed_at = time.monotonic()
            log.info("restarted %s (restart %d)", name, count)
        except Exception:
            log.exception("restarting %s failed", name)

    def stop(
        self,
        names: Iterable[str],
        *,
        wait: bool = True,
        grace: float | None = None,
        drain: bool = True,
    ) -> None:
        """Stop replicas (SIGTERM, grace, SIGKILL) and remove them, in the background unless
        `wait`. Those that served get `options.drain` seconds first, unless not `drain`.

        With `wait`, every named replica is gone on return, one another thread is already
        stopping too (an old replica draining after a deploy): without `drain` it is
        stopped here at once (podman lets a second stop with a shorter grace cut the
        first one short), otherwise this waits for that stop to end."""
        targets = list(dict.fromkeys(names))
        if not targets:
            return
        with self._lock:
            busy = [n for n in targets if n in self._stopping]
            targets = [n for n in targets if n not in self._stopping]
            self._stopping.update(targets)
            served = drain and any(n in self._served for n in targets)
        seconds = self.options.grace if grace is None else grace
        pause = self.options.drain if served else 0.0
        if not wait:
            if targets:
                threading.Thread(
                    target=self._stop, args=(targets, seconds, pause), name="deis-stop", daemon=True
                ).start()
            return
        if not drain:  # theirs may still be draining, or waiting out a longer grace
            targets, busy = targets + busy, []
        if targets:
            self._stop(targets, seconds, pause)
        if busy:
            with self._stopped:
                self._stopped.wait_for(lambda: self._stopping.isdisjoint(busy))

    def _stop(self, names: list[str], grace: float, drain: float = 0.0) -> None:
        try:
            if drain > 0:
                time.sleep(drain)
            self.podman.stop(names, grace)
        finally:
            for name in names:
                self._release(name)
            with self._lock:
                self._stopping.difference_update(names)
                self._changed_at = time.monotonic()
                self._stopped.notify_all()

    def _release(self, name: str) -> None:
        with self._lock:
            allocation = self._allocations.pop(name, None)
            self._served.discard(name)
            self._started_at.pop(name, None)
            self._restarts.pop(name, None)
            self._restart_at.pop(name, None)
            self._killed.pop(name, None)
        self.health.forget(name)
        if allocation is not None:
            if self.egress is not None:
                self.egress.detach(allocation.netns)
            netns.teardown(allocation)
            self.ipam.release(allocation)

    def changed_since(self, moment: float) -> bool:
        """Whether a replica was started, restarted or stopped after `moment` (monotonic):
        a `podman ps` taken before then is stale."""
        with self._lock:
            return self._changed_at >= moment

    def reap(self, existing: Iterable[str], seen_at: float) -> None:
        """Free the namespaces and addresses of replicas whose containers are gone (removed
        behind the platform's back); the plan then starts replacements. `existing` is what
        `podman ps` listed since `seen_at` (monotonic): a replica whose start had not
        finished by then may be missing from it, and is not gone."""
        present = set(existing)
        with self._lock:
            gone = [
                name
                for name in self._allocations
                if name not in present
                and name not in self._starting
                and name not in self._stopping
                and self._started_at.get(name, 0.0) < seen_at
            ]
        for name in gone:
            log.warning("%s disappeared: freeing its namespace and address", name)
            self._release(name)

    def sample_cpu(self, containers: Iterable[Container], at: float) -> None:
        """Record the CPU time each running replica has used (for the autoscaler)."""
        running = [c for c in containers if c.state == "running" and c.pid > 0]
        for container in running:
            usage = cgroup_usage_ns(container.pid)
            if usage is not None:
                self.cpu.record(container.name, at, usage)
        self.cpu.keep_only(c.name for c in running)

    @staticmethod
    def listening(pid: int) -> list[tuple[str, int]] | None:
        """The TCP sockets listening in the network namespace of the process `pid` (a
        replica's init), as (address, port); None when they cannot be read."""
        if pid <= 0:
            return None
        found: list[tuple[str, int]] = []
        for table in ("tcp", "tcp6"):
            try:
                found += parse_proc_net_tcp(Path(f"/proc/{pid}/net/{table}").read_text())
            except FileNotFoundError:
                continue  # no IPv6 in the namespace
            except OSError:
                return None
        return sorted(set(found))

    def last_output(self, name: str, lines: int, last_run: bool = True) -> str:
        """What a replica printed last (in its last run): its crash, say; "" when it
        cannot be read."""
        try:
            return self.podman.logs(name, lines, last_run)
        except Exception:  # a report: never let it hide the failure it explains
            log.exception("reading the output of %s failed", name)
            return ""

    def give_up(self, name: str, template: Template) -> None:
        """A replica crashed once too often to be started again (its deploy fails): its
        crash still counts for its type's back-off, so that the next deploy of the type
        waits longer."""
        now = time.time()
        with self._lock:
            # the replica's own count stays: if it stays (a failed scale of the release
            # that runs), the supervisor restarts it and counts this crash then
            count = self._restarts.get(name, 0) + 1
            delay = backoff_delay(count, self.options.backoff_base, self.options.backoff_cap)
            loop = self._loops.get(template, CrashLoop())
            self._loops[template] = crashed(loop, count, now, now + delay, self._reset)

    def restart_count(self, name: str) -> int:
        with self._lock:
            return self._restarts.get(name, 0)

    def backoff(self, replica: Replica, now: float) -> str:
        """What `deis ps` says of a crashed replica: how often it crashed, and when it
        starts again ("" for others)."""
        if pod_state(replica) != "crashed":
            return ""
        with self._lock:
            count = self._restarts.get(replica.name, 0)
            restart_at = self._restart_at.get(replica.name, 0.0)
        if count <= 0:  # its first crash: restarted at once
            return ""
        return backoff_detail(
            count + 1, restart_at - now
        )  # restarted `count` times: this crash too

    def pods(self, observed: Iterable[Observed]) -> list[Pod]:
        pods = []
        now = time.time()
        for item in observed:
            replica = item.replica
            started = (
                datetime.fromtimestamp(replica.started, UTC).replace(microsecond=0)
                if replica.started
                else None
            )
            pods.append(
                Pod(
                    name=replica.name,
                    state=pod_state(replica),
                    type=replica.type,
                    release=f"v{replica.version}",
                    started=started,
                    detail=self.backoff(replica, now),
                )
            )
        return sorted(pods, key=lambda p: (p.type, p.name))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._starter.shutdown(wait=False, cancel_futures=True)


def app_of(container: Container) -> str:
    return container.labels.get(spec.LABEL_APP, "")
