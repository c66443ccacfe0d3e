"""Idle apps sleep and wake, end to end, with every real part: `deisctl up` (podman
runtime, nginx router, git builder), `git push` of examples/python-web, then:

- with `deis ps:sleep --after 10s` and no request, the app falls asleep: no container of
  it runs, `deis ps` says `asleep`, `deis logs` says "asleep after 10s idle";
- a `curl` through the router wakes it and gets the app's own answer (held, no error);
- 20 concurrent requests at a wake all get the app's answer;
- a `config:set` and a `git push` to a sleeping app make their releases and leave it
  asleep; the next request wakes it on the new release; `config:set --wake` wakes it;
- the platform stopped and started again while the app sleeps: still asleep, still wakes.

A sleep-loop pass every second (DEIS_SLEEP_INTERVAL=1); the default is 10 s.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.platforms import registered_platform
from tests.e2e.test_first_deploy import BIN, ROOT, Deployment
from tests.waiting import wait_for

pytestmark = pytest.mark.e2e


class Platform(Deployment):
    app = ""

    def running(self) -> list[str]:
        """The app's containers that run now."""
        from deis.runtime import spec
        from deis.runtime.podman import load_instance_id
        from deis.runtime.podman.podman import Podman
        from deis.stack.podman_conf import paths_for

        podman = Podman(paths_for(self.state, load_instance_id(self.state)))
        found = podman.ps({spec.LABEL_INSTANCE: load_instance_id(self.state),
                           spec.LABEL_APP: self.app})  # fmt: skip
        return [c.name for c in found if c.state == "running"]

    def asleep(self) -> bool:
        return "asleep since" in self.deis("ps", "-a", self.app)


@pytest.fixture(scope="module")
def platform() -> Iterator[Platform]:
    with registered_platform(
        "sleep", Platform, apps_dir="app", env={"DEIS_SLEEP_INTERVAL": "1"}
    ) as p:
        shutil.copytree(ROOT / "examples" / "python-web", p.app_dir, dirs_exist_ok=True)
        p.run("git", "init", "-q")
        p.run("git", "add", "-A")
        p.run("git", "commit", "-qm", "first")
        p.app = f"nap-{p.api_port}"
        p.deis("create", p.app)
        pushed = p.run("git", "push", "deis", "master", timeout=600)
        assert f"Done, {p.app}:v2 deployed" in pushed, pushed
        yield p


def test_an_idle_app_falls_asleep_and_a_request_wakes_it(platform: Platform) -> None:
    p = platform
    shown = p.deis("ps:sleep", "--after", "10s", "-a", p.app)
    assert "Sleeps:  after 10s without a request" in shown and "State:   awake" in shown
    assert p.curl(p.app)[0] == 200
    assert p.running()
    wait_for(p.asleep, 40, "the app to fall asleep", interval=0.5)
    wait_for(lambda: not p.running(), 10, "its replica to stop", interval=0.5)
    ps = p.deis("ps", "-a", p.app)
    assert re.search(r"--- web:\nasleep since \S+ \(the next request wakes it\)", ps), ps
    assert re.search(r"deis\[runtime\]: asleep after 1\ds idle", p.deis("logs", "-a", p.app))
    info = p.deis("info", "-a", p.app)
    assert "asleep since" in info

    began = time.monotonic()
    status, body = p.curl(p.app)
    took = time.monotonic() - began
    assert status == 200 and f"Hello from python-web ({p.app})" in body, body
    assert p.running() and not p.asleep()
    logs = p.deis("logs", "-a", p.app)
    woken = re.search(r"deis\[runtime\]: woken by a request \((\d+\.\d+) s\)", logs)
    assert woken, logs
    print(f"first request to the asleep app answered in {took:.2f} s; wake {woken[1]} s")


def test_concurrent_requests_at_a_wake_all_succeed(platform: Platform) -> None:
    p = platform
    p.deis("ps:sleep", "--now", "-a", p.app)
    assert p.asleep()
    wait_for(lambda: not p.running(), 10, "the replica to stop (it drains first)", interval=0.5)
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: p.curl(p.app), range(20)))
    assert [status for status, _ in results] == [200] * 20, results
    assert all("Hello from python-web" in body for _, body in results)
    assert len(p.running()) == 1


def test_a_deploy_to_a_sleeping_app_leaves_it_asleep(platform: Platform) -> None:
    p = platform
    p.deis("ps:sleep", "--now", "-a", p.app)
    wait_for(lambda: not p.running(), 10, "the replica to stop", interval=0.5)
    p.deis("config:set", "GREETING=hi", "-a", p.app)
    assert "dev added GREETING" in p.deis("releases", "-a", p.app)
    assert p.asleep() and not p.running()
    p.run("git", "commit", "-q", "--allow-empty", "-m", "second")
    pushed = p.run("git", "push", "deis", "master", timeout=600)
    assert f"Done, {p.app}:v4 deployed" in pushed, pushed
    assert "The app is asleep: the next request starts this release" in pushed
    assert p.asleep() and not p.running()
    assert p.curl(p.app)[0] == 200
    assert "up (v4)" in p.deis("ps", "-a", p.app)


def test_a_change_with_wake_runs_the_new_release_at_once(platform: Platform) -> None:
    p = platform
    p.deis("ps:sleep", "--now", "-a", p.app)
    wait_for(lambda: not p.running(), 10, "the replica to stop", interval=0.5)
    changed = p.deis("config:set", "GREETING=now", "--wake", "-a", p.app)
    assert re.search(rf"Woke {p.app} in \d+\.\ds", changed), changed
    assert not p.asleep() and p.running()
    # on an awake app --wake does nothing more
    again = p.deis("config:unset", "GREETING", "--wake", "-a", p.app)
    assert "Woke" not in again and p.running()


def test_a_sleeping_app_sleeps_on_through_a_platform_restart_and_wakes(
    platform: Platform,
) -> None:
    p = platform
    p.deis("ps:sleep", "--now", "-a", p.app)
    wait_for(lambda: not p.running(), 10, "the replica to stop", interval=0.5)
    p.run(str(BIN / "deisctl"), "down", "--state-dir", str(p.state))
    p.run(str(BIN / "deisctl"), "up", "--state-dir", str(p.state), timeout=120)
    time.sleep(3)  # the converge at start and a few supervisor passes
    assert p.asleep() and not p.running()
    status, body = p.curl(p.app)
    assert status == 200 and "Hello from python-web" in body
    assert p.running()
