"""Deploys and rolling restarts: call plan() again and again until converged or failed.

A deploy of one type starts the new replicas (a batch at a time), waits until they are
ready, points the router at them, then stops the old ones (SIGTERM, grace, SIGKILL). When
the new replicas do not become ready within the timeout (measured per batch: any new
ready replica restarts the clock), their replicas are stopped, the previous desired state
is planned again, and DeployFailed says why.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace

from deis.domain.desired import DesiredApp
from deis.domain.errors import DeployFailed
from deis.runtime import spec
from deis.runtime.listening import Diagnosis, diagnose
from deis.runtime.plan import ROUTABLE_TYPES, Plan, backoff_detail, pod_state
from deis.runtime.podman.engine import Engine, Observed
from deis.runtime.podman.images import ImagePullError
from deis.runtime.podman.podman import PodmanError
from deis.runtime.podman.slugs import SlugError

log = logging.getLogger(__name__)

PASS_SECONDS = 0.1
QUICK_SECONDS = 0.02  # between readiness probes of new replicas while a pass waits
# exit codes that say the command can never run: podman's own error, not executable, not found
HOPELESS_EXIT_CODES = (125, 126, 127)
# a new replica that has crashed this many times fails the deploy at once, instead of being
# started again (a new replica of a type in a crash loop carries on its count, so a deploy
# retried while its release keeps crashing starts each replica once at most)
CRASHES_ALLOWED = 3
RESTARTING = -1  # the version given to replicas being replaced by a rolling restart
OUTPUT_LINES = 10  # lines of a crashed replica's output a failed deploy shows
PROGRESS_SECONDS = 5.0  # a deploy waiting for its replicas says so this often
# a new web replica that listens, but not where the router reaches it (another port,
# the loopback only), fails the deploy after this long (an app may open another port
# first); one that listens nowhere yet is waited for until the deploy's timeout
WRONG_PORT_SECONDS = 10.0


class Failed(Exception):
    pass


def check_runnable(engine: Engine, desired: DesiredApp) -> None:
    for proc_type, count in sorted(desired.structure.items()):
        if count <= 0:
            continue
        try:
            engine.launch(desired, proc_type)
        except (spec.NotRunnable, SlugError, ImagePullError) as exc:
            raise DeployFailed(f"cannot run {proc_type}: {exc}") from None


def _observe(engine: Engine, desired: DesiredApp, replaced: Collection[str]) -> list[Observed]:
    now = time.time()
    observed = engine.observe(desired.app, desired, engine.containers(desired.app), now)
    observed = engine.probe(observed, now)
    if not replaced:
        return observed
    return [
        replace(o, replica=replace(o.replica, version=RESTARTING))
        if o.replica.name in replaced
        else o
        for o in observed
    ]


def _why(pending: Sequence[Observed], diagnoses: Mapping[str, Diagnosis]) -> str:
    parts = []
    for item in pending:
        state = pod_state(item.replica)
        if state == "crashed":
            state += f" (exit code {item.container.exit_code})"
        if found := diagnoses.get(item.replica.name):
            state += f": {found.message}"
        parts.append(f"{item.replica.name}: {state}")
    return "; ".join(parts)


class Watch:
    """What the new replicas of a deploy wait for, said while waiting: an event in the
    app's log every PROGRESS_SECONDS (a push shows them), with what the replica listens
    on when the router cannot reach it; a replica that listens where the router cannot
    reach it fails the deploy after WRONG_PORT_SECONDS, instead of at the timeout."""

    def __init__(self, engine: Engine, desired: DesiredApp, timeout: float) -> None:
        self.engine, self.desired, self.timeout = engine, desired, timeout
        self.began = time.monotonic()
        self.next_report = self.began + PROGRESS_SECONDS
        self.wrong_since: dict[str, float] = {}

    def diagnoses(self, pending: Sequence[Observed]) -> dict[str, Diagnosis]:
        """Of the running web (or cmd) replicas with the default readiness check: why
        the router cannot reach them, from the sockets of their network namespace."""
        found = {}
        for item in pending:
            replica = item.replica
            custom = (self.desired.healthcheck.get(replica.type) or {}).get("readinessProbe")
            if replica.type not in ROUTABLE_TYPES or not replica.running or custom:
                continue
            sockets = self.engine.listening(item.container.pid)
            if sockets is not None and (said := diagnose(replica.type, item.port, sockets)):
                found[replica.name] = said
        return found

    def check(self, pending: Sequence[Observed]) -> dict[str, Diagnosis]:
        """Report progress when due; Failed when a replica has listened where the router
        cannot reach it for too long. Answers the diagnoses."""
        now = time.monotonic()
        found = self.diagnoses(pending)
        for name in list(self.wrong_since):
            if name not in found or not found[name].wrong:
                del self.wrong_since[name]
        for name, said in sorted(found.items()):
            if said.wrong and now - self.wrong_since.setdefault(name, now) >= WRONG_PORT_SECONDS:
                raise Failed(f"{name} is not ready: {said.message}")
        if pending and now >= self.next_report:
            self.next_report = now + PROGRESS_SECONDS
            app, waited = self.desired.app, now - self.began
            labelled = [
                replace(o, replica=replace(o.replica, name=self.engine.label(app, o.replica.name)))
                for o in pending
            ]
            named = {self.engine.label(app, name): said for name, said in found.items()}
            self.engine.event(
                app,
                f"v{self.desired.version} not ready after {waited:.0f}s"
                f" (timeout {self.timeout:g}s): {_why(labelled, named)}",
            )
        return found


def last_output(engine: Engine, item: Observed) -> str:
    """ "; its last output:" and the lines the replica printed in its last run, indented
    (a crash's traceback)."""
    name = item.replica.name
    text = engine.last_output(name, OUTPUT_LINES).rstrip()
    if not text:  # clocks apart, or nothing in this run: what the runs before printed
        text = engine.last_output(name, OUTPUT_LINES, last_run=False).rstrip()
    if not text:
        return "; it printed nothing"
    lines = [line.rstrip() for line in text.splitlines()[-OUTPUT_LINES:]]
    return "; its last output:\n" + "\n".join(f"    {line}" for line in lines)


def _fatal(engine: Engine, app: str, pending: Sequence[Observed]) -> str | None:
    """Why the deploy fails now, before a crashed replica is started again (its crash
    counts for its type's back-off all the same)."""
    for item in pending:
        replica = item.replica
        if not replica.dead:
            continue
        name, code = replica.name, item.container.exit_code
        if code in HOPELESS_EXIT_CODES:
            why = f"{name} cannot run its command (exit code {code})"
        elif engine.restart_count(name) + 1 >= CRASHES_ALLOWED:  # this crash included
            why = f"{name} keeps crashing (exit code {code})"
        else:
            continue
        engine.give_up(name, (app, replica.type, replica.version))
        return why + last_output(engine, item)
    return None


def _held(engine: Engine, desired: DesiredApp, decided: Plan) -> str | None:
    """Why the deploy fails at once: a type of the release is in a crash loop's back-off,
    so no new replica of it may start yet (a deploy retried while its release crashes).
    A first crash is not a loop yet: the deploy waits out its short back-off, as it waits
    for a replica restarted in place (CRASHES_ALLOWED)."""
    for proc_type in decided.held:
        loop = engine.crash_loop(desired.app, proc_type, desired.version)
        if loop is None or loop.crashes < CRASHES_ALLOWED - 1:
            continue
        said = backoff_detail(loop.crashes, loop.next_start - time.time())
        return (
            f"{proc_type} of v{desired.version} keeps crashing and is in back-off ({said});"
            " no new replica of it starts before then"
        )
    return None


def converge(
    engine: Engine,
    desired: DesiredApp,
    *,
    timeout: float,
    batch: int | None,
    replaced: Collection[str] = (),
) -> list[Observed]:
    """Step until the plan says converged; Failed when the new replicas do not get ready."""
    best = -1
    deadline = time.monotonic() + timeout
    watch = Watch(engine, desired, timeout)
    while True:
        observed = _observe(engine, desired, replaced)
        new = [o for o in observed if o.replica.version == desired.version]
        if fatal := _fatal(engine, desired.app, [o for o in new if not o.replica.terminating]):
            raise Failed(fatal)
        try:
            decided = engine.step(  # old replicas drain and stop in the background
                desired.app, desired, observed, time.time(), batch, wait_stops=False, rolling=True
            )
        except (PodmanError, OSError, spec.NotRunnable, SlugError, ImagePullError) as exc:
            raise Failed(str(exc)) from None
        if decided.converged:
            return observed
        if held := _held(engine, desired, decided):
            raise Failed(held)
        pending = [o for o in new if not o.replica.ready and not o.replica.terminating]
        ready = len(new) - len(pending)
        if ready > best:
            best, deadline = ready, time.monotonic() + timeout
        diagnoses = watch.check(pending)
        if time.monotonic() > deadline:
            raise Failed(
                f"v{desired.version} did not become ready within {timeout:g}s"
                + (f": {_why(pending, diagnoses)}" if pending else "")
            )
        _wait(engine, pending)


def _wait(engine: Engine, pending: Sequence[Observed]) -> None:
    """Until the next pass (PASS_SECONDS): probe the new replicas that run but are not
    ready yet as often as their probes allow, and go on to the next pass at once when
    one gets ready, so that it serves without waiting for the pass (a woken app's first
    request waits for it)."""
    running = [o for o in pending if o.replica.running]
    end = time.monotonic() + PASS_SECONDS
    while True:
        time.sleep(QUICK_SECONDS if running else PASS_SECONDS)
        if running and any(o.replica.ready for o in engine.probe(running, time.time())):
            return
        if time.monotonic() >= end:
            return


def roll_back(engine: Engine, failed: DesiredApp, previous: DesiredApp | None) -> None:
    """Stop what the failed state started and plan the previous state again."""
    app = failed.app
    if previous is None or previous.version != failed.version:
        doomed = {
            c.name
            for c in engine.containers(app)
            if c.labels.get(spec.LABEL_VERSION) == str(failed.version)
        }
        now = time.time()
        observed = engine.observe(app, previous, engine.containers(app), now)
        serving = [
            (o.replica.name, o.port)
            for o in observed
            if o.replica.type in ROUTABLE_TYPES
            and o.replica.ready
            and o.replica.running
            and not o.replica.terminating
            and o.replica.name not in doomed
        ]
        if serving:  # out of the router first: what they were sent finishes (the drain)
            engine.set_peers(app, serving)
        engine.stop(sorted(doomed), wait=True)
    now = time.time()
    observed = engine.probe(engine.observe(app, previous, engine.containers(app), now), now)
    batch = engine.options.default_batch
    try:
        engine.step(app, previous, observed, now, batch, wait_stops=True)
    except Exception:  # the supervisor goes on from here
        log.exception("rolling %s back failed", app)


def deploy(
    engine: Engine,
    desired: DesiredApp,
    previous: DesiredApp | None,
    *,
    timeout: float,
    batch: int | None,
) -> None:
    check_runnable(engine, desired)
    try:
        converge(engine, desired, timeout=timeout, batch=batch)
    except Failed as failure:
        log.warning("deploy of %s v%d failed: %s", desired.app, desired.version, failure)
        roll_back(engine, desired, previous)
        raise DeployFailed(str(failure)) from None


def restart(
    engine: Engine,
    desired: DesiredApp,
    targets: Collection[str],
    *,
    timeout: float,
    batch: int | None,
) -> list[str]:
    """Replace `targets` by new replicas, rolling; the names of the new ones."""
    before = {c.name for c in engine.containers(desired.app)}
    try:
        observed = converge(engine, desired, timeout=timeout, batch=batch, replaced=targets)
    except Failed as failure:
        raise DeployFailed(f"restart did not complete: {failure}") from None
    return [o.replica.name for o in observed if o.replica.name not in before]
