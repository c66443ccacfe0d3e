"""Stop and remove what killed test runs left: platforms under TMPDIR/deis-test-*.

    .venv/bin/python scripts/clean-test-leftovers.py [--dry-run] [--min-age MINUTES]

Tests make their state dirs as TMPDIR/deis-test-<random>/state. A test root is left alone
while the test run that made it may still be running, so that this is safe on a machine
shared with other runs:

- a root with an `owner.pid` file belongs to that process (the pytest worker): skipped
  while it lives;
- a root without one is skipped when anything in it changed in the last --min-age minutes.

Every other root gets `deisctl down --purge --state-dir DIR` for each state dir in it (a
directory holding settings.json, platform.pid or registry/registry.pid), and
`scripts/kube-control-plane.sh stop` when it is a control plane the Kubernetes tests
started (it holds kube-apiserver.pid or etcd.pid), then is removed.

Tests that use pytest's own temporary directories (TMPDIR/pytest-of-USER) can leave a
podman store's overlay, or an add-on's loop-mounted disk, mounted there when killed;
pytest then cannot remove the directory. Such mounts are unmounted once nothing in the test's directory changed for
--min-age minutes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PREFIX = "deis-test-"
KUBE_SCRIPT = Path(__file__).resolve().parent / "kube-control-plane.sh"
KUBE_PROCESSES = ("etcd", "kube-apiserver", "kube-controller-manager")


def owner_alive(root: Path) -> bool | None:
    """True/False from owner.pid; None when the root has no (readable) owner file."""
    try:
        pid = int((root / "owner.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def newest_change(root: Path, depth: int = 3) -> float:
    newest = 0.0
    for dirpath, dirnames, filenames in os.walk(root):
        if len(Path(dirpath).relative_to(root).parts) >= depth:
            dirnames[:] = []
        for name in [*dirnames, *filenames, "."]:
            try:
                newest = max(newest, (Path(dirpath) / name).lstat().st_mtime)
            except OSError:
                pass
    return newest


def state_dirs(root: Path) -> list[Path]:
    """Directories (the root, or up to two levels below) that hold a platform's state."""
    candidates = [root, *root.glob("*"), *root.glob("*/*")]
    return [
        path
        for path in candidates
        if path.is_dir()
        and not path.is_symlink()
        and (
            (path / "settings.json").exists()
            or (path / "platform.pid").exists()
            or (path / "registry" / "registry.pid").exists()  # a registry of its own
        )
    ]


def in_use(root: Path, min_age_s: float, now: float) -> bool:
    alive = owner_alive(root)
    if alive is not None:
        return alive
    return now - newest_change(root) < min_age_s


def stale_overlay_mounts(temp_root: Path, min_age_s: float, now: float) -> list[Path]:
    """podman overlay mounts (".../storage/overlay") and add-on disks (".../addons/NAME/data",
    loop devices) under pytest's temporary directories
    whose test directory (the one pytest made for the test) has not changed lately."""
    stale = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if len(fields) < 2:
            continue
        point = Path(fields[1].replace("\\040", " "))
        overlay = point.name == "overlay" and point.parent.name == "storage"
        # an add-on's disk (deis.runtime.podman.addon_disk): a loop mount on addons/NAME/data
        disk = fields[0].startswith("/dev/loop") and point.parent.parent.name == "addons"
        if not overlay and not disk:
            continue
        try:
            relative = point.relative_to(temp_root)
        except ValueError:
            continue
        if not relative.parts or not relative.parts[0].startswith("pytest-of-"):
            continue
        test_dir = temp_root.joinpath(*relative.parts[:4])  # pytest-of-U/pytest-N/[popen-gwK/]name
        if now - newest_change(test_dir) >= min_age_s:
            stale.append(point)
    return stale


def deisctl() -> str:
    here = Path(sys.executable).parent
    return (
        shutil.which("deisctl", path=os.pathsep.join([str(here), os.environ.get("PATH", "")]))
        or "deisctl"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--min-age", type=float, default=60, help="minutes (default 60)")
    parser.add_argument("--temp-root", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    now = time.time()
    for root in sorted(args.temp_root.glob(f"{PREFIX}*")):
        if not root.is_dir() or root.is_symlink():
            continue
        if in_use(root, args.min_age * 60, now):
            print(f"in use, left alone: {root}")
            continue
        for state in state_dirs(root):
            print(f"deisctl down --purge --state-dir {state}")
            if not args.dry_run:
                subprocess.run(  # noqa: S603 (a fixed argument list)
                    [deisctl(), "down", "--purge", "--timeout", "5", "--state-dir", str(state)],
                    check=False,
                    timeout=60,
                )
        if any((root / f"{name}.pid").exists() for name in KUBE_PROCESSES):
            print(f"KUBE_STATE={root} scripts/kube-control-plane.sh stop")
            if not args.dry_run:
                subprocess.run(  # noqa: S603 (a fixed argument list)
                    [str(KUBE_SCRIPT), "stop"],
                    env={**os.environ, "KUBE_STATE": str(root)},
                    check=False,
                    timeout=60,
                )
        print(f"removing {root}")
        if not args.dry_run:
            shutil.rmtree(root, ignore_errors=True)
    for mount in stale_overlay_mounts(args.temp_root, args.min_age * 60, now):
        print(f"umount {mount}")
        if not args.dry_run:
            subprocess.run(["umount", str(mount)], check=False, timeout=60)  # noqa: S603
    return 0


if __name__ == "__main__":
    sys.exit(main())
