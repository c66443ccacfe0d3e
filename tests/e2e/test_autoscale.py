"""Autoscaling on the podman runtime, end to end: `deisctl up`, `deis pull` of an image
whose web process burns a CPU for a while, `deis autoscale:set`, and the platform scales
web up from the replicas' measured CPU and, once they stop burning, back down.

The web type gets a CPU limit of 100m: the utilization the autoscaler sees is the usage
against that (the request), so a burner is at about 100% even on a busy machine.
Short windows through the platform's settings: a pass every second, a 6 s scale-down
stabilization window (the defaults are 15 s and 300 s, as a HorizontalPodAutoscaler's).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.runtime.conftest import build_image_tarball, podman_missing
from tests.waiting import wait_for

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
# Burns one CPU for BURN seconds after the replica starts (no process is forked: `read`
# and `[` are shell builtins), while httpd serves, so the replica is ready.
BURNER = (
    "read up rest < /proc/uptime; end=$(( ${up%.*} + BURN ));"
    " ( while read up rest < /proc/uptime; [ ${up%.*} -lt $end ]; do :; done ) &"
    " mkdir -p /tmp/www; echo ok > /tmp/www/index.html; exec httpd -f -p $PORT -h /tmp/www"
)


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

    def run(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(  # noqa: S603 - an argument list
            list(args), env=self.env, capture_output=True, text=True, timeout=300, check=False
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{args} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        return done.stdout + done.stderr

    def deis(self, *args: str) -> str:
        return self.run(str(BIN / "deis"), *args, "-a", self.app)

    def web_count(self) -> int:
        return len(re.findall(rf"^{self.app}-web-\S+ up ", self.deis("ps"), re.M))


@pytest.fixture
def platform() -> Iterator[Platform]:
    reason = podman_missing()
    if reason:
        pytest.skip(reason)
    root = Path(f"/tmp/deis-test-autoscale-{secrets.token_hex(4)}")
    (root / "home").mkdir(parents=True)
    (root / "owner.pid").write_text(str(os.getpid()))
    env = {
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "HOME": str(root / "home"),
        "DEIS_PROFILE": "autoscale",
        "DEIS_AUTOSCALE_INTERVAL": "1",
        "DEIS_AUTOSCALE_DOWN_WINDOW": "6",
    }
    state = root / "state"
    api_port = free_port()
    p = Platform(root, env, f"burn-{secrets.token_hex(3)}")
    up = [
        str(BIN / "deisctl"), "up", "--state-dir", str(state), "--api-port", str(api_port),
        "--runtime", "podman", "--router", "none", "--builder", "none",
    ]  # fmt: skip
    image = f"localhost/deis-test/burner:{secrets.token_hex(4)}"
    try:
        p.run(*up)
        from deis.runtime.podman import load_instance_id
        from deis.runtime.podman.podman import Podman
        from deis.stack.podman_conf import paths_for

        tarball = root / "image.tar"
        build_image_tarball(tarball)
        Podman(paths_for(state, load_instance_id(state))).import_image(
            tarball, image, [f"CMD {json.dumps(['/bin/sh', '-c', BURNER])}"]
        )
        url = f"http://127.0.0.1:{api_port}"
        p.run(str(BIN / "deis"), "register", url, "--username", "ops", "--password", "ops-pw",
              "--email", "ops@example.com")  # fmt: skip
        p.run(str(BIN / "deis"), "create", p.app, "--no-remote")
        p.deis("config:set", "BURN=20")  # burn 20 s from each start
        # a CPU limit of 100m: a burner uses about all of it even on a busy machine, and
        # the autoscaler measures usage against it (as an HPA does against the request)
        p.deis("limits:set", "--cpu", "web=100m")
        p.deis("pull", image, "--procfile", f"web: {BURNER}")
        yield p
    finally:
        p.run(str(BIN / "deisctl"), "down", "--state-dir", str(state), "--purge", check=False)
        shutil.rmtree(root, ignore_errors=True)


def test_cpu_burning_web_scales_up_and_back_down(platform: Platform) -> None:
    p = platform
    assert p.web_count() == 1
    out = p.deis("autoscale:set", "web", "--min", "1", "--max", "3", "--cpu-percent", "50")
    assert "done" in out
    assert "web" in p.deis("autoscale:list")

    wait_for(lambda: p.web_count() >= 2, 60, "web to be scaled up", interval=0.5)
    logs = p.deis("logs")
    up = re.search(r"deis\[autoscaler\]: scaled web from 1 to (\d) \(cpu (\d+)% of 50%\)", logs)
    assert up, logs
    assert int(up[1]) >= 2 and int(up[2]) > 55
    info = p.deis("info")  # the structure follows, as after `deis scale`
    assert re.search(r"web[:=]\s*[23]", info) or p.web_count() >= 2

    # the burners stop 20 s after each start; then, 6 s later, the count goes back to min
    wait_for(lambda: p.web_count() == 1, 120, "web to be scaled back down to 1", interval=0.5)
    logs = p.deis("logs")
    assert re.search(r"deis\[autoscaler\]: scaled web from [23] to 1 \(cpu \d+% of 50%\)", logs)
