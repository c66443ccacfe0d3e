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
from collections.abc import Collection, Sequence
from dataclasses import replace

from deis.domain.desired import DesiredApp
from deis.domain.errors import DeployFailed
from deis.runtime import spec
from deis.runtime.plan import ROUTABLE_TYPES, pod_state
from deis.runtime.podman.engine import Engine, Observed
from deis.runtime.podman.images import ImagePullError
from deis.runtime.podman.podman import PodmanError
from deis.runtime.podman.slugs import SlugError

log = logging.getLogger(__name__)

PASS_SECONDS = 0.1
# exit codes that say the command can never run: podman's own error, not executable, not found
HOPELESS_EXIT_CODES = (125, 126, 127)
# a new replica that has crashed this many times while deploying fails the deploy at once
CRASHES_ALLOWED = 3
RESTARTING = -1  # the version given to replicas being replaced by a rolling restart
OUTPUT_LINES = 10  # lines of a crashed replica's output a failed deploy shows


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


def _why(pending: Sequence[Observed]) -> str:
    parts = []
    for item in pending:
        state = pod_state(item.replica)
        if state == "crashed":
            state += f" (exit code {item.container.exit_code})"
        parts.append(f"{item.replica.name}: {state}")
    return "; ".join(parts)


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


def _fatal(engine: Engine, pending: Sequence[Observed]) -> str | None:
    for item in pending:
        if not item.replica.dead:
            continue
        name, code = item.replica.name, item.container.exit_code
        if code in HOPELESS_EXIT_CODES:
            return f"{name} cannot run its command (exit code {code})" + last_output(engine, item)
        if engine.restart_count(name) >= CRASHES_ALLOWED:
            return f"{name} keeps crashing (exit code {code})" + last_output(engine, item)
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
    while True:
        observed = _observe(engine, desired, replaced)
        try:
            decided = engine.step(  # old replicas drain and stop in the background
                desired.app, desired, observed, time.time(), batch, wait_stops=False, rolling=True
            )
        except (PodmanError, OSError, spec.NotRunnable, SlugError, ImagePullError) as exc:
            raise Failed(str(exc)) from None
        if decided.converged:
            return observed
        new = [o for o in observed if o.replica.version == desired.version]
        pending = [o for o in new if not o.replica.ready and not o.replica.terminating]
        ready = len(new) - len(pending)
        if ready > best:
            best, deadline = ready, time.monotonic() + timeout
        if fatal := _fatal(engine, pending):
            raise Failed(fatal)
        if time.monotonic() > deadline:
            raise Failed(
                f"v{desired.version} did not become ready within {timeout:g}s"
                + (f": {_why(pending)}" if pending else "")
            )
        time.sleep(PASS_SECONDS)


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
