"""The install proven on a minimal Debian 12 root, not on this (well used) machine:
`scripts/install.sh --system` inside a bare debootstrap root, then `deisctl doctor` inside
it, which looks for every program and file the platform runs and starts a real container
with the flags of an app's replica. A package missing from install.sh's list (catatonit,
which podman only recommends) fails here, whatever this machine has installed.

Slow the first time on a machine (the install, a few minutes); the installed root is then
cached until install.sh changes (see tests/platform/clean_root.py).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .clean_root import DOCTOR, dependency_wheels, installed_root, run_inside

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def missing_tools() -> str | None:
    if os.geteuid() != 0:
        return "needs root (chroot, mounts, rootful podman)"
    for tool in ("unshare", "chroot", "tar", "debootstrap", "podman"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (scripts/install.sh installs it)"
    return None


@pytest.mark.skipif(missing_tools() is not None, reason=str(missing_tools()))
def test_install_sh_gives_a_minimal_debian_root_all_the_doctor_checks(tmp_path: Path) -> None:
    root = installed_root(REPO)
    wheels = dependency_wheels(REPO)
    done = run_inside(root, REPO, wheels, tmp_path / "scratch", DOCTOR)
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    assert "MISSING" not in said
    assert "ok      catatonit (podman's --init, every replica's PID 1)" in said
    assert "ok      nginx loads the Lua balancer: nginx -t passed" in said
    assert "ok      a container starts like a replica" in said
    assert "This machine has everything the platform needs." in said
