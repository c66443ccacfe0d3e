"""A minimal Debian 12 root with only what scripts/install.sh installs, for proving the
install on a machine that has nothing else (tests/platform/test_clean_root.py).

- The root starts as the base stack's root filesystem: `debootstrap --variant=minbase
  bookworm`, made once per machine (deis.stack.build.base_rootfs).
- `scripts/install.sh --system` runs inside it (chroot, in private mount and pid
  namespaces, /proc, /sys with the cgroup hierarchy, /dev bound in). The installed root is
  cached per machine under STACK_CACHE, keyed by install.sh's text and the base's hash: a
  changed package list installs again, from the bare base.
- Each run then gets a throwaway overlay over the cached root, in a network namespace of
  its own, with the project's source (read only) and wheels of its Python dependencies
  (made once on the host: the root has no index to install from) bound in. Podman's storage
  goes on a bind-mounted host directory: the kernel does not stack overlay on overlay.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import secrets
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

from deis.stack.build import base_rootfs
from deis.stack.definition import STACK_CACHE, STACKS

CACHE = STACK_CACHE / "clean-root"
LOCK = STACK_CACHE / "clean-root.lock"
INSTALL_TIMEOUT = 1800
RUN_TIMEOUT = 600
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# $1 root, $2 source; the rest is the command.
_INSTALL = r"""
set -eu
root="$1"; src="$2"; shift 2
mount --make-rprivate /
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount -t devpts devpts "$root/dev/pts" 2>/dev/null || true
mount --rbind /sys "$root/sys"
mount -t tmpfs tmpfs "$root/run"
mkdir -p "$root/src"
mount --bind "$src" "$root/src"
mount -o remount,bind,ro "$root/src"
cp /etc/resolv.conf "$root/etc/resolv.conf"
exec chroot "$root" /usr/bin/env -i PATH="$PATH_IN_ROOT" HOME=/root LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@"
"""

# $1 cached root, $2 source, $3 wheels, $4 scratch dir (upper, work, merged, state); then
# a shell command run inside.
_RUN = r"""
set -eu
root="$1"; src="$2"; wheels="$3"; scratch="$4"; shift 4
mount --make-rprivate /
mkdir -p "$scratch/upper" "$scratch/work" "$scratch/merged" "$scratch/state"
mount -t overlay overlay \
    -o "lowerdir=$root,upperdir=$scratch/upper,workdir=$scratch/work" "$scratch/merged"
r="$scratch/merged"
mount -t proc proc "$r/proc"
mount --bind /dev "$r/dev"
mount -t devpts devpts "$r/dev/pts" 2>/dev/null || true
mount --rbind /sys "$r/sys"
mount -t tmpfs tmpfs "$r/run"
mount -t tmpfs tmpfs "$r/tmp"
mkdir -p "$r/src" "$r/wheels" "$r/var/lib/deis-state"
mount --bind "$src" "$r/src"
mount -o remount,bind,ro "$r/src"
mount --bind "$wheels" "$r/wheels"
mount --bind "$scratch/state" "$r/var/lib/deis-state"
ip link set lo up
exec chroot "$r" /usr/bin/env -i PATH="$PATH_IN_ROOT" HOME=/root LANG=C.UTF-8 sh -c "$1"
"""


class RootError(AssertionError):
    pass


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def install_key(repo: Path) -> str:
    digest = hashlib.sha256((repo / "scripts" / "install.sh").read_bytes())
    digest.update(STACKS["base"].hash.encode())
    return digest.hexdigest()[:12]


def installed_root(repo: Path) -> Path:
    """The base root after `scripts/install.sh --system` (cached by install.sh's text)."""
    target = CACHE / f"root-{install_key(repo)}"
    with _locked():
        if (target / ".deis-installed").is_file():
            return target
        CACHE.mkdir(parents=True, exist_ok=True)
        # Roots of earlier install.sh texts: keep the newest one (switching branches back
        # and forth), remove the rest.
        earlier = sorted(CACHE.glob("root-*"), key=lambda path: path.stat().st_mtime)
        for old in earlier[:-1]:
            shutil.rmtree(old, ignore_errors=True)
        tarball = base_rootfs()
        work = CACHE / f"work-{secrets.token_hex(4)}"
        try:
            (work / "root").mkdir(parents=True)
            subprocess.run(  # noqa: S603 - a fixed argument list
                ["tar", "--numeric-owner", "-xf", str(tarball), "-C", str(work / "root")],
                check=True,
                timeout=600,
            )
            done = subprocess.run(  # noqa: S603 - a fixed argument list
                ["unshare", "--mount", "--pid", "--fork", "sh", "-c", _INSTALL, "install",
                 str(work / "root"), str(repo), "/src/scripts/install.sh", "--system"],
                env={**os.environ, "PATH_IN_ROOT": PATH},
                capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                raise RootError(
                    f"scripts/install.sh --system failed in a clean root ({done.returncode}):\n"
                    + _tail(done.stdout + done.stderr)
                )
            (work / "root" / ".deis-installed").write_text(install_key(repo) + "\n")
            os.rename(work / "root", target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


def dependencies(repo: Path) -> list[str]:
    with (repo / "pyproject.toml").open("rb") as file:
        return list(tomllib.load(file)["project"]["dependencies"])


def dependency_wheels(repo: Path) -> Path:
    """Wheels of the platform's runtime dependencies, made on the host with its pip."""
    needed = dependencies(repo)
    key = hashlib.sha256("\n".join(needed).encode()).hexdigest()[:12]
    target = CACHE / f"wheels-{key}"
    with _locked():
        if (target / "requirements.txt").is_file():
            return target
        work = CACHE / f"wheels-work-{secrets.token_hex(4)}"
        try:
            done = subprocess.run(  # noqa: S603 - a fixed argument list
                [sys.executable, "-m", "pip", "wheel", "-q", "-w", str(work), *needed],
                capture_output=True, text=True, timeout=900, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                raise RootError(f"pip wheel failed:\n{_tail(done.stdout + done.stderr)}")
            (work / "requirements.txt").write_text("\n".join(needed) + "\n")
            for old in CACHE.glob("wheels-*"):
                if old != work:
                    shutil.rmtree(old, ignore_errors=True)
            os.rename(work, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


def run_inside(
    root: Path, repo: Path, wheels: Path, scratch: Path, command: str
) -> subprocess.CompletedProcess[str]:
    """Run a shell command inside a throwaway overlay of `root`, in namespaces of its own."""
    return subprocess.run(  # noqa: S603 - a fixed argument list
        ["unshare", "--mount", "--pid", "--net", "--fork", "sh", "-c", _RUN, "run",
         str(root), str(repo), str(wheels), str(scratch), command],
        env={**os.environ, "PATH_IN_ROOT": PATH},
        capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False,
    )  # fmt: skip


# Inside the root: a virtualenv of Debian's python3 with the dependencies from the wheels,
# the platform from the read-only source, then `deisctl doctor`.
DOCTOR = (
    "python3 -m venv /opt/deis && "
    "/opt/deis/bin/pip install -q --no-index --find-links /wheels -r /wheels/requirements.txt && "
    "PYTHONPATH=/src/src PYTHONDONTWRITEBYTECODE=1 /opt/deis/bin/python -c "
    "'import sys; from deis.platform.deisctl import main; "
    'sys.argv = ["deisctl", "doctor", "--state-dir", "/var/lib/deis-state/state"]; main()\''
)
