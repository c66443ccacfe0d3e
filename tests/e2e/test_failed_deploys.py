"""Failed changes on a real platform (issue 18): `deisctl up` with the podman runtime and
the nginx router, `deis pull` of a busybox image whose `clock` type crashes on start when
BREAK is set and whose `bad` type always crashes.

- item 2: with web=1 and clock=1, a `deis config:set BREAK=1` that fails must not fail a
  single request of a load running through the router meanwhile;
- item 3: a failed `deis scale bad=1` leaves the formation and the releases as they were,
  a failed config change leaves the config as it was, and later changes work.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.runtime.conftest import build_image_tarball, podman_missing

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
WEB = (
    'if [ -n "$SLOW" ]; then sleep "$SLOW"; fi;'  # a release that takes a while to be ready
    " mkdir -p /tmp/www; echo ok > /tmp/www/index.html; exec httpd -f -p $PORT -h /tmp/www"
)
CLOCK = (
    'if [ -n "$BREAK" ]; then echo "  File \\"clock.py\\", line 3"; echo "SyntaxError: invalid'
    ' syntax"; exit 1; fi; exec sleep 100000'
)
BAD = "echo 'bad: cannot open config.yml' >&2; exit 1"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Platform:
    root: Path
    env: dict[str, str]
    app: str
    router_port: int
    api_port: int
    up: list[str] = field(default_factory=list)

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(  # noqa: S603 - an argument list
            list(args), env=self.env, capture_output=True, text=True, timeout=300, check=False
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{args} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        return done

    def deis(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(str(BIN / "deis"), *args, "-a", self.app, check=check)

    def api(self, path: str) -> object:
        token = json.loads((Path(self.env["HOME"]) / ".deis" / "e2e-failed.json").read_text())
        conn = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=10)
        conn.request("GET", path, headers={"Authorization": f"token {token['token']}"})
        return json.loads(conn.getresponse().read())


@dataclass
class Load:
    """A bounded request loop through the router: kept-alive connections, as browsers and
    load balancers use, each request counted by its status (or its error)."""

    port: int
    host: str
    connections: int = 4
    counts: Counter[str] = field(default_factory=Counter)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _loop(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        while not self.stop.is_set():
            try:
                conn.request("GET", "/", headers={"Host": self.host})
                response = conn.getresponse()
                response.read()
                outcome = str(response.status)
                if response.getheader("connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                outcome = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            with self.lock:
                self.counts[outcome] += 1
            time.sleep(0.005)
        conn.close()

    def __enter__(self) -> Load:
        for _ in range(self.connections):
            thread = threading.Thread(target=self._loop, daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(15)

    @property
    def failed(self) -> dict[str, int]:
        return {k: n for k, n in self.counts.items() if k != "200"}


@pytest.fixture(scope="module")
def platform() -> Iterator[Platform]:
    reason = podman_missing() or (None if shutil.which("nginx") else "needs nginx")
    if reason:
        pytest.skip(reason)
    root = Path(f"/tmp/deis-test-failed-{secrets.token_hex(4)}")
    (root / "home").mkdir(parents=True)
    (root / "owner.pid").write_text(str(os.getpid()))
    env = {
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "HOME": str(root / "home"),
        "DEIS_PROFILE": "e2e-failed",
        "NO_COLOR": "1",
    }
    state = root / "state"
    p = Platform(root, env, f"fail-{secrets.token_hex(3)}", free_port(), free_port())
    p.up = up = [
        str(BIN / "deisctl"), "up", "--state-dir", str(state), "--api-port", str(p.api_port),
        "--runtime", "podman", "--router", "nginx", "--router-port", str(p.router_port),
        "--router-https-port", str(free_port()), "--builder", "none",
    ]  # fmt: skip
    image = f"localhost/deis-test/failing:{secrets.token_hex(4)}"
    try:
        p.run(*up)
        from deis.runtime.podman import load_instance_id
        from deis.runtime.podman.podman import Podman
        from deis.stack.podman_conf import paths_for

        tarball = root / "image.tar"
        build_image_tarball(tarball)
        Podman(paths_for(state, load_instance_id(state))).import_image(
            tarball, image, [f"CMD {json.dumps(['/bin/sh', '-c', WEB])}"]
        )
        url = f"http://127.0.0.1:{p.api_port}"
        p.run(str(BIN / "deis"), "register", url, "--username", "ops", "--password", "ops-pw",
              "--email", "ops@example.com")  # fmt: skip
        p.run(str(BIN / "deis"), "create", p.app, "--no-remote")
        procfile = json.dumps({"web": WEB, "clock": CLOCK, "bad": BAD})
        p.run(str(BIN / "deis"), "pull", image, "-a", p.app, "--procfile", procfile)
        p.deis("scale", "clock=1")
        yield p
    finally:
        p.run(str(BIN / "deisctl"), "down", "--state-dir", str(state), "--purge", check=False)
        shutil.rmtree(root, ignore_errors=True)


def releases(p: Platform) -> list[tuple[int, bool]]:
    found = p.api(f"/v2/apps/{p.app}/releases/")
    assert isinstance(found, dict)
    return [(r["version"], r["failed"]) for r in found["results"]]


def structure(p: Platform) -> dict[str, int]:
    found = p.api(f"/v2/apps/{p.app}/")
    assert isinstance(found, dict)
    return dict(found["structure"])


def test_a_failed_config_change_fails_no_request_and_changes_nothing(platform: Platform) -> None:
    p = platform
    assert structure(p) == {"web": 1, "clock": 1, "bad": 0}
    before = releases(p)
    with Load(p.router_port, f"{p.app}.localhost") as load:
        time.sleep(1)
        failed = p.deis("config:set", "BREAK=1", check=False)
        time.sleep(1)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert load.counts["200"] > 100, load.counts
    assert load.failed == {}, load.counts  # issue 18: ~1.1 s of 502, 404 and 503 before
    error = failed.stderr
    assert re.search(
        r"Release v\d+ could not be deployed, v\d+ keeps running: \S+-clock-\S+ keeps crashing",
        error,
    ), error
    assert error.rstrip().endswith("SyntaxError: invalid syntax"), error  # what it printed
    latest, *rest = releases(p)
    assert latest == (before[0][0] + 1, True) and rest == before  # the serving one stays good
    info = p.deis("releases:info", f"v{latest[0]}").stdout
    assert re.search(r"failure:  \S+ keeps crashing \(exit code 1\); its last output:\n", info)
    assert info.rstrip().endswith("SyntaxError: invalid syntax"), info
    assert "BREAK" not in p.deis("config").stdout
    # the next change is made from what runs, and works
    p.deis("config:set", "FINE=1")
    assert releases(p)[0] == (before[0][0] + 2, False)
    assert "BREAK" not in p.deis("config").stdout


def test_a_failed_scale_leaves_the_formation_and_the_releases_as_they_were(
    platform: Platform,
) -> None:
    p = platform
    before = releases(p)
    failed = p.deis("scale", "bad=1", check=False)
    assert failed.returncode == 1
    assert "Scaling to bad=1 failed, the formation stays bad=0 and v" in failed.stderr
    assert failed.stderr.rstrip().endswith("bad: cannot open config.yml"), failed.stderr
    assert structure(p)["bad"] == 0
    assert releases(p) == before  # no release marked failed
    pods = p.deis("ps").stdout
    assert f"{p.app}-bad-" not in pods and f"{p.app}-web-" in pods
    p.deis("config:set", "AFTER=1")  # used to fail until `deis scale bad=0`
    assert releases(p)[0] == (before[0][0] + 1, False)


def test_a_platform_killed_in_the_middle_of_a_deploy_converges_when_it_starts_again(
    platform: Platform,
) -> None:
    """The records went ahead (the release is saved), the runtime did not finish: at its
    next start the platform deploys what the records say, and the app serves throughout."""
    from deis.runtime.podman import load_instance_id
    from deis.runtime.podman.podman import Podman
    from deis.stack.podman_conf import paths_for

    p = platform
    state = p.root / "state"
    podman = Podman(paths_for(state, load_instance_id(state)))
    version = releases(p)[0][0] + 1
    pid = int((state / "platform.pid").read_text())
    with Load(p.router_port, f"{p.app}.localhost") as load:
        changing = subprocess.Popen(  # noqa: S603
            [str(BIN / "deis"), "config:set", "SLOW=4", "-a", p.app], env=p.env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not any(f"-web-{version:04d}" in c.name for c in podman.ps({})):
            assert time.monotonic() < deadline, "the new release never started"
            time.sleep(0.2)
        os.kill(pid, 9)  # the platform dies in the middle of the deploy
        changing.wait(30)
        p.run(*p.up)
        desired = state / "runtime" / "desired" / f"{p.app}.json"
        deadline = time.monotonic() + 60
        while json.loads(desired.read_text())["version"] != version:
            assert time.monotonic() < deadline, "the runtime never ran the saved release"
            time.sleep(0.5)
        time.sleep(1)
    assert releases(p)[0] == (version, False)
    assert "SLOW" in p.deis("config").stdout
    assert load.counts["200"] > 100, load.counts
    assert load.failed == {}, load.counts
