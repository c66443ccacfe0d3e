"""The runtime's decisions, as a pure function: desired state x observed state -> actions.

`plan` is level-triggered: it looks at what runs now and says the next step towards the
desired state; the deploy loop and the supervisor call it again and again until it says
`converged`. It never waits and does no I/O, so every transition is a unit test:

- new release: start replicas of the new version (at most `batch` not yet ready at a
  time), keep as many old replicas as the new ones cannot serve yet, stop the rest;
  while a deploy rolls (`Policy.rolling`), every old replica keeps serving until the
  first batch of every type of the new release is ready: a type that cannot start
  fails the deploy before the old replicas of any type lose traffic;
- scale up or down (same version): start the missing replicas, stop the extra ones;
- crash: restart an exited replica once its backoff allows;
- failed rollout: the deploy loop stops the new release's replicas and plans again
  with the previous desired state, which starts what the previous release lacks;
- destroy (desired None): stop everything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from deis.domain.desired import DesiredApp

# The process types the router sends traffic to: "web", and "cmd" (an image's own command).
ROUTABLE_TYPES = ("web", "cmd")
RUNNING = "running"
# podman states of a container that has not run its process yet, or is setting it up.
STARTING_STATES = ("created", "configured", "initialized")


@dataclass(frozen=True)
class Replica:
    """One replica as observed: its container's state, and what the probes say."""

    name: str
    type: str
    version: int
    state: str  # podman's: running | created | exited | stopped | stopping | ...
    ready: bool = False
    started: float | None = None  # epoch seconds of the current start
    terminating: bool = False  # being stopped: counts for nothing, gets no traffic

    @property
    def running(self) -> bool:
        return self.state == RUNNING

    @property
    def dead(self) -> bool:
        return not self.running and self.state not in STARTING_STATES


@dataclass(frozen=True)
class Policy:
    now: float = 0.0
    batch: int | None = None  # new replicas not yet ready at a time; None: all at once
    restart_at: Mapping[str, float] = field(default_factory=dict)  # backoff, per replica
    # a deploy is rolling forward: old replicas keep serving (and running) until the new
    # release is ready in every type (its first batch of each); off for the supervisor,
    # which stops strays of other releases at once
    rolling: bool = False


@dataclass(frozen=True)
class Start:
    type: str
    count: int


@dataclass(frozen=True)
class Plan:
    start: tuple[Start, ...] = ()
    restart: tuple[str, ...] = ()
    stop: tuple[str, ...] = ()
    peers: tuple[str, ...] = ()  # replicas that should get traffic, by name
    waiting: tuple[str, ...] = ()  # crashed replicas waiting for their backoff
    converged: bool = False

    @property
    def idle(self) -> bool:
        return not (self.start or self.restart or self.stop)


@dataclass
class _Step:
    start: list[Start] = field(default_factory=list)
    restart: list[str] = field(default_factory=list)
    stop: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    converged: bool = True


def _keep_order(replica: Replica) -> tuple[int, int, float]:
    """Which replicas to keep first: ready, then running, then the longest running."""
    started = replica.started if replica.started is not None else float("inf")
    return (0 if replica.ready else 1, 0 if replica.running else 1, started)


def _split(replicas: Sequence[Replica], keep: int) -> tuple[list[Replica], list[Replica]]:
    ordered = sorted(replicas, key=_keep_order)
    return ordered[: max(keep, 0)], ordered[max(keep, 0) :]


def _revive(kept: Iterable[Replica], policy: Policy, step: _Step) -> None:
    for replica in kept:
        if not replica.dead:
            continue
        step.converged = False
        if policy.now >= policy.restart_at.get(replica.name, 0.0):
            step.restart.append(replica.name)
        else:
            step.waiting.append(replica.name)


def _plan_type(
    proc_type: str,
    want: int,
    version: int | None,
    replicas: list[Replica],
    policy: Policy,
    hold_old: bool,
) -> _Step:
    step = _Step()
    current = [r for r in replicas if r.version == version]
    old = [r for r in replicas if r.version != version]
    kept, extra = _split(current, want)
    step.stop.extend(r.name for r in extra)
    _revive(kept, policy, step)
    ready = [r for r in kept if r.ready]
    pending = len(kept) - len(ready)
    batch = max(policy.batch or want, 1)
    missing = want - len(kept)
    start = max(0, min(missing, batch - pending)) if old else missing
    if start:
        step.start.append(Start(proc_type, start))
    kept_old, stopped_old = _split(old, len(old) if hold_old else want - len(ready))
    step.stop.extend(r.name for r in stopped_old)
    _revive(kept_old, policy, step)
    if extra or old or missing or pending:
        step.converged = False
    return step


def rollout_ready(
    structure: Mapping[str, int], version: int | None, live: Iterable[Replica], batch: int | None
) -> bool:
    """Whether the new release may take over: each type has its first batch of new
    replicas (all of them without batches) ready and running."""
    ready: dict[str, int] = {}
    for r in live:
        if r.version == version and r.ready and r.running:
            ready[r.type] = ready.get(r.type, 0) + 1
    return all(
        ready.get(proc_type, 0) >= min(want, batch or want)
        for proc_type, want in structure.items()
        if want > 0
    )


def plan(desired: DesiredApp | None, observed: Iterable[Replica], policy: Policy) -> Plan:
    """The next step for one app. desired None: the app is gone, stop everything."""
    live = [r for r in observed if not r.terminating]
    structure = desired.structure if desired else {}
    version = desired.version if desired else None
    types = sorted({*structure, *(r.type for r in live)})
    hold_old = policy.rolling and not rollout_ready(structure, version, live, policy.batch)
    total = _Step()
    for proc_type in types:
        want = max(structure.get(proc_type, 0), 0)
        step = _plan_type(
            proc_type, want, version, [r for r in live if r.type == proc_type], policy, hold_old
        )
        total.start += step.start
        total.restart += step.restart
        total.stop += step.stop
        total.waiting += step.waiting
        total.converged = total.converged and step.converged
    stopping = set(total.stop)
    serving = [
        r
        for r in live
        if r.type in ROUTABLE_TYPES and r.ready and r.running and r.name not in stopping
    ]
    if hold_old and any(r.version != version for r in serving):
        # the new release gets traffic once it has taken over (or when nothing else serves)
        serving = [r for r in serving if r.version != version]
    peers = tuple(sorted(r.name for r in serving))
    return Plan(
        start=tuple(total.start),
        restart=tuple(total.restart),
        stop=tuple(total.stop),
        peers=peers,
        waiting=tuple(total.waiting),
        converged=total.converged,
    )


def pod_state(replica: Replica) -> str:
    """The state `deis ps` shows: up | starting | crashed | down."""
    if replica.terminating:
        return "down"
    if replica.running:
        return "up" if replica.ready else "starting"
    if replica.state in STARTING_STATES:
        return "starting"
    return "crashed"


def exit_reason(code: int) -> str:
    """How a replica's exit code reads in `deis logs`."""
    if code == 137:
        return "exit 137: killed, by SIGKILL or for going over its memory limit"
    if code == 139:
        return "exit 139: segmentation fault"
    if code > 128:
        return f"exit {code}: signal {code - 128}"
    return f"exit {code}"


def crash_event(
    label: str, exit_code: int, restarts: int, next_delay: float, killed: str | None = None
) -> str:
    """The platform event of a crashed replica being restarted (`deis[runtime]: ...`);
    `killed`: why the platform itself killed it (its liveness probe), if it did."""
    then = f"if it crashes again it waits {next_delay:g} s" if next_delay else "restarting"
    what = f"was killed {killed}" if killed else f"crashed ({exit_reason(exit_code)})"
    return f"{label} {what}; restart {restarts}, {then}"


def backoff_delay(restarts: int, base: float = 1.0, cap: float = 60.0) -> float:
    """Seconds to wait before restarting a replica that has been restarted `restarts` times
    in a row: 0 the first time, then base, 2 base, 4 base, ... up to cap."""
    if restarts <= 0:
        return 0.0
    return float(min(cap, base * 2 ** (restarts - 1)))
