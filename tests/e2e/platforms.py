"""One way for end-to-end test modules to start a whole platform (podman runtime, nginx
router, git builder) with a registered user and SSH key, and to stop it."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest

from tests.e2e.test_first_deploy import BIN, NEEDED, Deployment, free_port

D = TypeVar("D", bound=Deployment)


@contextmanager
def registered_platform(
    label: str,
    make: Callable[..., D],
    *,
    apps_dir: str | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[D]:
    """`deisctl up` in /tmp/deis-test-LABEL-<id>, user `dev` registered with a key;
    apps_dir: a folder for the apps' checkouts (else the test root itself)."""
    missing = [tool for tool in NEEDED if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (scripts/install.sh installs them)")
    from deis.stack.build import ensure

    ensure()  # the machine-wide stack images; built once, then reused
    root = Path(f"/tmp/deis-test-{label}-{secrets.token_hex(4)}")
    home, state = root / "home", root / "state"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    app_dir = root / apps_dir if apps_dir else root
    app_dir.mkdir(exist_ok=True)
    (root / "owner.pid").write_text(str(os.getpid()))
    key = home / ".ssh" / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)  # noqa: S603
    full_env = {
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "HOME": str(home),
        "DEIS_PROFILE": label,
        "GIT_SSH_COMMAND": (
            "ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
            f" -o IdentitiesOnly=yes -i {key}"
        ),
        "GIT_AUTHOR_NAME": "e2e", "GIT_AUTHOR_EMAIL": "e2e@example.com",
        "GIT_COMMITTER_NAME": "e2e", "GIT_COMMITTER_EMAIL": "e2e@example.com",
        **(env or {}),
    }  # fmt: skip
    platform = make(home, state, app_dir, full_env, free_port(), free_port())
    up = [
        str(BIN / "deisctl"), "up", "--state-dir", str(state),
        "--api-port", str(platform.api_port), "--ssh-port", str(free_port()),
        "--router-port", str(platform.router_port), "--router-https-port", str(free_port()),
        "--registry-port", str(free_port()),
        "--runtime", "podman", "--router", "nginx", "--builder", "git",
    ]  # fmt: skip
    try:
        platform.run(*up, timeout=120)
        platform.deis("register", f"http://127.0.0.1:{platform.api_port}", "--username", "dev",
                      "--password", "dev-pw", "--email", "dev@example.com")  # fmt: skip
        platform.deis("keys:add", str(key) + ".pub")
        yield platform
    finally:
        platform.run(
            str(BIN / "deisctl"), "down", "--state-dir", str(state), "--purge", check=False
        )
        shutil.rmtree(root, ignore_errors=True)
