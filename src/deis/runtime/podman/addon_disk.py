"""The disk of an add-on on one machine: a file of the plan's size (sparse: it takes only
what the server writes) holding an ext4 filesystem, loop-mounted on the add-on's data
directory. The server's data can never outgrow it: a full disk is the server's own
"No space left on device" error, and the machine's other disks are untouched.

Files found in the data directory while the disk is not mounted (an add-on made before
disks had sizes; a snapshot `deisctl restore` put there while the platform was down) are
moved onto the disk when it is mounted, never hidden under it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

DISK_FILE = "disk.ext4"
MOUNT_OPTIONS = "loop,nosuid,nodev,noexec"
TIMEOUT = 120.0


class DiskError(RuntimeError):
    pass


def disk_file(addon_dir: Path) -> Path:
    return addon_dir / DISK_FILE


def _run(args: list[str]) -> None:
    try:
        done = subprocess.run(  # noqa: S603 - an argument list, never a shell
            args, capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise DiskError(f"{args[0]}: {error}") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()[-1000:]
        raise DiskError(f"{' '.join(args[:2])}: {detail or f'exit code {done.returncode}'}")


def make(path: Path, size_mb: int) -> None:
    """A sparse file of `size_mb` MiB with an empty ext4 filesystem (no blocks reserved
    for root: the server is the only user)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with open(partial, "wb") as out:
        out.truncate(size_mb * 1024 * 1024)
    _run(["mkfs.ext4", "-q", "-F", "-m", "0", "-L", "deis-addon", str(partial)])
    partial.rename(path)


def grow(path: Path, size_mb: int) -> None:
    """Make the filesystem `size_mb` MiB if it is smaller (a bigger plan); never shrinks.
    Only while it is not mounted."""
    wanted = size_mb * 1024 * 1024
    if path.stat().st_size >= wanted:
        return
    with open(path, "r+b") as out:
        out.truncate(wanted)
    _run(["e2fsck", "-f", "-p", str(path)])
    _run(["resize2fs", str(path)])


def mounted(data: Path) -> bool:
    return os.path.ismount(data)


def attach(addon_dir: Path, data: Path, size_mb: int) -> None:
    """Mount the add-on's disk on `data` (made first if missing); files already in `data`
    move onto it. A no-op when it is mounted."""
    data.mkdir(parents=True, exist_ok=True, mode=0o700)
    if mounted(data):
        return
    disk = disk_file(addon_dir)
    if not disk.exists():
        make(disk, size_mb)
    else:
        grow(disk, size_mb)
    if any(data.iterdir()):
        _move_onto(disk, data, addon_dir / "disk-mount")
    _run(["mount", "-o", MOUNT_OPTIONS, str(disk), str(data)])


def _move_onto(disk: Path, data: Path, scratch: Path) -> None:
    scratch.mkdir(exist_ok=True, mode=0o700)
    _run(["mount", "-o", MOUNT_OPTIONS, str(disk), str(scratch)])
    try:
        _run(["cp", "-a", "--", f"{data}/.", str(scratch)])
    finally:
        _run(["umount", str(scratch)])
        scratch.rmdir()
    for child in data.iterdir():  # copied: remove the originals
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def detach(data: Path) -> None:
    """Unmount the disk (its loop device goes with it); a no-op when it is not mounted.
    Lazily if something still holds it, so that the data dir is free at once."""
    if not mounted(data):
        return
    try:
        _run(["umount", str(data)])
    except DiskError:
        _run(["umount", "-l", str(data)])


def detach_all(addons_dir: Path) -> list[str]:
    """Unmount every add-on disk under STATE/addons (deisctl down --apps, a purge);
    answers the add-ons whose disk was mounted."""
    done = []
    with contextlib.suppress(FileNotFoundError):
        for child in sorted(addons_dir.iterdir()):
            data = child / "data"
            if child.is_dir() and mounted(data):
                detach(data)
                done.append(child.name)
    return done


def usage(data: Path) -> tuple[int, int] | None:
    """(bytes used, bytes in all) of the mounted disk, or None when it is not mounted."""
    if not mounted(data):
        return None
    stats = os.statvfs(data)
    total = stats.f_blocks * stats.f_frsize
    return total - stats.f_bfree * stats.f_frsize, total
