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


# An add-on's disk made and loop-mounted for real in the root (mkfs.ext4, mount, umount:
# what install.sh's e2fsprogs and mount give it), after the doctor's checks.
ADDON_DISK = (
    " && PYTHONPATH=/src/src PYTHONDONTWRITEBYTECODE=1 /opt/deis/bin/python -c '"
    "from pathlib import Path; from deis.runtime.podman import addon_disk as disk; "
    'home = Path("/var/lib/deis-state/addons/postgres-root-0001"); '
    'disk.attach(home, home / "data", 16); '
    'print("add-on disk of", disk.usage(home / "data")[1] // 2**20, "MiB mounted"); '
    'disk.detach(home / "data")\''
)


@pytest.mark.skipif(missing_tools() is not None, reason=str(missing_tools()))
def test_install_sh_gives_a_minimal_debian_root_all_the_doctor_checks(tmp_path: Path) -> None:
    root = installed_root(REPO)
    wheels = dependency_wheels(REPO)
    done = run_inside(root, REPO, wheels, tmp_path / "scratch", DOCTOR + ADDON_DISK)
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    assert "MISSING" not in said
    assert "ok      catatonit (podman's --init, every replica's PID 1)" in said
    assert "ok      mkfs.ext4 (add-ons' disks)" in said
    assert "add-on disk of 1" in said and "MiB mounted" in said  # 15 or 16 MiB of ext4
    assert "ok      nginx loads the Lua balancer: nginx -t passed" in said
    assert "ok      a container starts like a replica" in said
    assert "This machine has everything the platform needs." in said


# What the test suite itself runs, on the same root: the programs, Chromium rendering a
# page headless (the dashboard's browser tests), and a PostgreSQL cluster answering.
TEST_TOOLS = (
    "for t in wrk curl ssh ssh-keygen psql pg_ctlcluster chromium debootstrap git; do"
    "  command -v $t >/dev/null || echo missing-program-$t; done; "
    "chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run"
    " --disable-background-networking --user-data-dir=/tmp/chromium"
    " --dump-dom 'data:text/html,<p>rendered-by-chromium</p>' 2>/dev/null; "
    # a network namespace of its own: the port cannot be taken
    "pg_createcluster -p 5439 15 clean >/dev/null && pg_ctlcluster 15 clean start && "
    "su postgres -c \"psql -p 5439 -Atc 'select 6 * 7'\""
)


@pytest.mark.skipif(missing_tools() is not None, reason=str(missing_tools()))
def test_install_sh_gives_a_minimal_debian_root_what_the_tests_run(tmp_path: Path) -> None:
    done = run_inside(
        installed_root(REPO), REPO, dependency_wheels(REPO), tmp_path / "scratch", TEST_TOOLS
    )
    said = done.stdout + done.stderr
    assert "missing-program-" not in said
    assert "<p>rendered-by-chromium</p>" in done.stdout, said
    assert done.stdout.strip().endswith("42"), said
    assert done.returncode == 0, said
