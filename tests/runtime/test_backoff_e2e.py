"""Crash loops back off with real podman (issue 17 item 5): container starts are counted
over a bounded window from podman's own events log, never timed."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from deis.domain.desired import DesiredApp
from deis.domain.errors import DeployFailed
from tests.runtime.conftest import wait_for

Make = Callable[..., DesiredApp]
WINDOW = 20.0


def starts(runtime: Any, prefix: str) -> int:
    """Container starts (first starts and restarts) of the containers named PREFIX...,
    as podman's events log has them."""
    log = runtime.state_dir / "runtime" / "podman" / "events.log"
    count = 0
    for line in log.read_text().splitlines() if log.exists() else []:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("Type") == "container" and event.get("Status") == "start":
            count += str(event.get("Name", "")).startswith(prefix)
    return count


def test_a_deploy_retried_while_its_release_keeps_crashing_backs_off(
    runtime: Any, make_desired: Make, app_name: str
) -> None:
    """Before: every retry started each replica and restarted it 3 times (about 60
    starts in 20 s here, 250 a minute on the issue's platform). Now a type whose replicas
    keep crashing is in back-off as a whole: a retry before it ends starts nothing and
    says why; after it, each replica runs once and the back-off doubles."""
    runtime.deploy(make_desired(app_name, 1))
    crashing = make_desired(app_name, 2, procfile={"web": "exit 1"}, structure={"web": 3})
    prefix = f"{app_name}-web-0002"
    before = starts(runtime, prefix)
    attempts, held = 0, []
    began = time.monotonic()
    while time.monotonic() - began < WINDOW:
        attempts += 1
        with pytest.raises(DeployFailed) as failed:
            runtime.deploy(crashing)
        if "is in back-off" in failed.value.message:
            held.append(failed.value.message)
        time.sleep(0.2)
    counted = starts(runtime, prefix) - before
    print(f"{attempts} deploys in {WINDOW:g} s: {counted} container starts, {len(held)} held")
    assert held, "no deploy was held back"
    assert re.fullmatch(
        r"web of v2 keeps crashing and is in back-off \(crashed \d+ times; next start in \d+ s\);"
        r" no new replica of it starts before then",
        held[0],
    ), held[0]
    # the first deploy: 3 replicas, 3 runs each; then at most one run each at 4, 12 s
    assert counted <= 18, counted
    assert [p.release for p in runtime.pods(app_name)] == ["v1"]  # v1 served throughout
    # a new release (the fix) is not held by the old one's back-off
    runtime.deploy(make_desired(app_name, 3, structure={"web": 3}))
    # an app made again with the name after `deis destroy` starts afresh
    assert runtime.engine.crash_loop(app_name, "web", 2) is not None
    runtime.remove(app_name)
    assert runtime.engine.crash_loop(app_name, "web", 2) is None


def test_a_replica_in_a_crash_loop_says_so_in_ps_and_backs_off(
    runtime: Any, make_desired: Make, app_name: str
) -> None:
    """A release that served, then crashes every few seconds: the supervisor restarts it
    in place with a doubling delay, and `deis ps` says how often and when next."""
    serve_then_crash = (
        "mkdir -p /tmp/www; echo ok > /tmp/www/index.html; httpd -p $PORT -h /tmp/www;"
        " sleep 1; exit 1"
    )
    runtime.deploy(make_desired(app_name, 1, procfile={"web": serve_then_crash}))
    prefix = f"{app_name}-web-"
    before = starts(runtime, prefix)
    began = time.monotonic()

    def backing_off() -> str:
        details = [p.detail for p in runtime.pods(app_name) if p.state == "crashed"]
        return next((d for d in details if "next start in" in d and "in 0 s" not in d), "")

    said = wait_for(backing_off, WINDOW, "a crashed replica in back-off")
    assert re.fullmatch(r"crashed [2-9] times; next start in \d+ s", said), said
    time.sleep(max(0.0, WINDOW - (time.monotonic() - began)))
    counted = starts(runtime, prefix) - before
    print(f"{counted} restarts in {WINDOW:g} s; ps said: {said}")
    # runs of 1 s, then waits of 0, 1, 2, 4, 8 s: 5 or 6 restarts in 20 s, whatever the pace
    assert 2 <= counted <= 7, counted
