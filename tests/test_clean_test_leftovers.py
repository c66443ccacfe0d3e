"""scripts/clean-test-leftovers.py, run for real on a temporary root (mounts need root)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "clean-test-leftovers.py"


def mounted(point: Path) -> bool:
    return str(point) in Path("/proc/self/mounts").read_text().split()


def untouched_for_hours(test_dir: Path) -> None:
    long_ago = time.time() - 3 * 3600
    for dirpath, dirnames, filenames in os.walk(test_dir):
        for name in [*dirnames, *filenames, "."]:
            os.utime(Path(dirpath) / name, (long_ago, long_ago))


def clean(temp_root: Path, min_age: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, str(SCRIPT), "--temp-root", str(temp_root), "--min-age", str(min_age)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def overlay_mount(test_dir: Path) -> Path:
    point = test_dir / "deis-1234" / "state" / "storage" / "overlay"
    point.mkdir(parents=True)
    subprocess.run(["mount", "--bind", str(point), str(point)], check=True)  # noqa: S603
    return point


@pytest.mark.skipif(os.geteuid() != 0, reason="bind mounts need root")
def test_a_stale_podman_overlay_mount_under_pytest_dirs_is_unmounted(tmp_path: Path) -> None:
    old_test = tmp_path / "pytest-of-root" / "pytest-7" / "popen-gw0" / "test_old0"
    new_test = tmp_path / "pytest-of-root" / "pytest-8" / "popen-gw1" / "test_new0"
    stale, fresh = overlay_mount(old_test), overlay_mount(new_test)
    try:
        untouched_for_hours(old_test)
        done = clean(tmp_path, min_age=60)
        assert done.returncode == 0, done.stderr
        assert f"umount {stale}" in done.stdout
        assert not mounted(stale)
        assert mounted(fresh)  # changed a moment ago: a test may be using it
    finally:
        for point in (stale, fresh):
            if mounted(point):
                subprocess.run(["umount", str(point)], check=False)  # noqa: S603


@pytest.mark.skipif(os.geteuid() != 0, reason="loop mounts need root")
def test_a_stale_addon_disk_under_pytest_dirs_is_unmounted(tmp_path: Path) -> None:
    """An add-on's loop-mounted disk (deis.runtime.podman.addon_disk) a killed runtime test
    left in pytest's directories."""
    from deis.runtime.podman import addon_disk

    old_test = tmp_path / "pytest-of-root" / "pytest-7" / "popen-gw0" / "test_old0"
    addon_dir = old_test / "deis-addons0" / "state" / "addons" / "postgres-test-0001"
    data = addon_dir / "data"
    addon_disk.attach(addon_dir, data, 16)
    try:
        untouched_for_hours(old_test)
        done = clean(tmp_path, min_age=60)
        assert done.returncode == 0, done.stderr
        assert f"umount {data}" in done.stdout
        assert not addon_disk.mounted(data)
    finally:
        addon_disk.detach(data)


def test_a_control_plane_a_killed_run_left_is_stopped(tmp_path: Path) -> None:
    """A root made by the Kubernetes tests' real_control_plane fixture, whose owner died:
    its processes (found by the PIDs scripts/kube-control-plane.sh wrote) are stopped."""
    root = tmp_path / "deis-test-kube-abc"
    root.mkdir()
    left = subprocess.Popen(["sleep", "300"])  # stands for etcd
    try:
        (root / "etcd.pid").write_text(f"{left.pid}\n")
        (root / "owner.pid").write_text("999999999\n")  # no such process
        done = subprocess.run(  # noqa: S603
            [sys.executable, str(SCRIPT), "--temp-root", str(tmp_path), "--min-age", "0"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert f"KUBE_STATE={root} scripts/kube-control-plane.sh stop" in done.stdout
        assert left.wait(timeout=10) is not None
        assert not root.exists()
    finally:
        left.kill()
        left.wait()
