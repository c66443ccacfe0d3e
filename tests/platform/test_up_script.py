"""`make up`'s script (scripts/up.sh) fails loudly: a push the builder refuses shows the
builder's own lines, an example that answers something else than 200 shows its status,
its body and its log, and both exit non-zero; a good example exits 0 and prints its answer.

The example's checkout is made beforehand where up.sh looks for it (STATE/example/APP),
so each step pushes another commit of the same app.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import Instance, free_port

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NEEDED = ("podman", "nginx", "git", "ssh", "ssh-keygen", "curl", "debootstrap")
APP = "upcheck"


def git(checkout: Path, *args: str) -> None:
    subprocess.run(  # noqa: S603 - a fixed argument list
        ["git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True,
        capture_output=True,
    )


def run_up(instance: Instance, ports: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - a fixed argument list
        ["bash", str(REPO / "scripts" / "up.sh"), *ports],
        env={
            **instance.env,
            "STATE_DIR": str(instance.state_dir),
            "EXAMPLE_APP": APP,
            "DEIS_WORKERS": "1",
            "PATH": f"{BIN}:{os.environ['PATH']}",
        },
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_up_sh_exits_non_zero_with_the_real_error(
    make_instance: Callable[[], Instance],
) -> None:
    missing = [tool for tool in NEEDED if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (scripts/install.sh installs them)")
    if not (BIN / "deis").exists():
        pytest.skip("the deis client is not installed next to this Python")
    instance = make_instance()
    ports = [
        "--api-port", str(instance.api_port), "--ssh-port", str(free_port()),
        "--router-port", str(free_port()), "--router-https-port", str(free_port()),
        "--registry-port", str(free_port()),
    ]  # fmt: skip
    checkout = instance.state_dir / "example" / APP
    shutil.copytree(REPO / "examples" / "python-web", checkout)
    with (checkout / "requirements.txt").open("a") as requirements:
        requirements.write("no-such-package-for-deis-tests==1.0\n")
    git(checkout, "init", "-q")
    git(checkout, "add", "-A")
    git(checkout, "commit", "-qm", "a requirement that does not exist")
    try:
        refused = run_up(instance, ports)
        assert refused.returncode != 0, refused.stdout + refused.stderr
        assert "!!! git push failed; what the builder said:" in refused.stderr
        assert "No matching distribution found for no-such-package-for-deis-tests" in refused.stderr
        assert "remote:  !" in refused.stderr
        assert f"deis logs -a {APP}" in refused.stderr

        shutil.copy(REPO / "examples" / "python-web" / "requirements.txt", checkout)
        app_py = checkout / "app.py"
        app_py.write_text(
            app_py.read_text().replace(
                "    return f\"Hello from python-web ({os.environ.get('DEIS_APP', 'deis')})\\n\"",
                '    raise RuntimeError("the database is down")',
            )
        )
        git(checkout, "commit", "-qam", "an app that answers 500")
        broken = run_up(instance, ports)
        assert broken.returncode != 0, broken.stdout + broken.stderr
        assert "answered 500, not 200" in broken.stderr
        assert "RuntimeError: the database is down" in broken.stderr  # the app's own log

        git(checkout, "checkout", "-q", "HEAD~1", "--", "app.py")
        git(checkout, "commit", "-qam", "fixed")
        good = run_up(instance, ports)
        assert good.returncode == 0, good.stdout + good.stderr
        assert f"Hello from python-web ({APP})" in good.stdout
        assert "The example app answers at http://" in good.stdout
    finally:
        instance.deisctl("down", "--apps", timeout=120)
