"""Make the stack images once per machine: debootstrap, apt inside a chroot, podman import.

Everything happens under an exclusive flock on STACK_LOCK, so concurrent test runs and
platform instances build each image once; the others wait and then find it there.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from deis.stack.definition import (
    CA_PATH,
    HOST_CA_BUNDLE,
    MIRROR,
    SECURITY_MIRROR,
    STACK_CACHE,
    STACK_LOCK,
    STACK_RUNROOT,
    STACK_STORE,
    STACKS,
    SUITE,
    Stack,
)

Log = Callable[[str], None]

DEBOOTSTRAP_TIMEOUT = 1800
APT_TIMEOUT = 3600
PODMAN_TIMEOUT = 900


class StackError(RuntimeError):
    pass


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def podman_args(store: Path = STACK_STORE, runroot: Path = STACK_RUNROOT) -> list[str]:
    """podman with the machine-wide stack store as its graphroot (for writing to it)."""
    return [
        "podman",
        "--root",
        str(store),
        "--runroot",
        str(runroot),
        "--storage-driver",
        "overlay",
        "--runtime",
        "runc",
        "--cgroup-manager",
        "cgroupfs",
        "--events-backend",
        "file",
    ]


def _run(args: list[str], timeout: float, log: Log, what: str) -> None:
    """Run to the end (killed past timeout, even when it prints nothing); keep the tail."""
    log(f"$ {' '.join(args[:8])}{' ...' if len(args) > 8 else ''}")
    proc = subprocess.Popen(  # noqa: S603 - argument list
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    )
    assert proc.stdout is not None
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.daemon = True
    watchdog.start()
    tail: list[str] = []
    try:
        for line in proc.stdout:
            tail = [*tail[-30:], line.rstrip()]
        rc = proc.wait()
    finally:
        watchdog.cancel()
    if rc != 0:
        detail = "\n".join(tail)
        late = " (timed out)" if rc == -9 else ""
        raise StackError(f"{what} failed (exit {rc}){late}:\n{detail}")


def image_exists(name: str) -> bool:
    if not STACK_STORE.exists():
        return False
    res = subprocess.run(  # noqa: S603
        [*podman_args(), "image", "exists", name], capture_output=True, timeout=120
    )
    return res.returncode == 0


def ready() -> bool:
    """Whether every stack image is in the machine-wide store (no lock taken)."""
    return all(image_exists(name) for s in STACKS.values() for name in s.names)


@contextmanager
def _locked(timeout: float = 7200) -> Iterator[None]:
    STACK_LOCK.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(STACK_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StackError(f"timed out waiting for {STACK_LOCK}") from None
                time.sleep(1.0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _workdir() -> Path:
    path = STACK_CACHE / f"work-{secrets.token_hex(6)}"
    path.mkdir(parents=True)
    return path


def _tar_rootfs(root: Path, out: Path, log: Log) -> None:
    tmp = out.with_name(out.name + f".{secrets.token_hex(4)}.part")
    _run(
        [
            "tar",
            "--numeric-owner",
            "--xattrs",
            "--exclude=./proc/*",
            "--exclude=./sys/*",
            "--exclude=./dev/*",
            "--exclude=./run/*",
            "-C",
            str(root),
            "-cf",
            str(tmp),
            ".",
        ],
        600,
        log,
        "tar of the rootfs",
    )
    tmp.rename(out)


def _extract(tarball: Path, root: Path, log: Log) -> None:
    root.mkdir(parents=True, exist_ok=True)
    _run(
        ["tar", "--numeric-owner", "--xattrs", "-C", str(root), "-xf", str(tarball)],
        600,
        log,
        "extracting the rootfs",
    )


def _debootstrap(stack: Stack, log: Log) -> None:
    work = _workdir()
    try:
        root = work / "root"
        _run(
            ["debootstrap", "--variant=minbase", SUITE, str(root), MIRROR],
            DEBOOTSTRAP_TIMEOUT,
            log,
            "debootstrap",
        )
        sources = (
            f"deb {MIRROR} {SUITE} main\n"
            f"deb {MIRROR} {SUITE}-updates main\n"
            f"deb {SECURITY_MIRROR} {SUITE}-security main\n"
        )
        (root / "etc/apt/sources.list").write_text(sources)
        _add_ca(root)
        for path in (root / "var/cache/apt/archives").glob("*.deb"):
            path.unlink()
        _tar_rootfs(root, stack.rootfs_tarball, log)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _add_ca(root: Path) -> None:
    target = root / CA_PATH.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(HOST_CA_BUNDLE, target)
    target.chmod(0o644)


# Runs inside a private mount and pid namespace (unshare), so every mount made here goes
# away with it. $1 is the root, the rest are the packages.
_APT_SCRIPT = r"""
set -eu
root="$1"; shift
mount --bind /dev "$root/dev"
mount -t devpts devpts "$root/dev/pts" 2>/dev/null || true
cp /etc/resolv.conf "$root/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    LANG=C.UTF-8 apt-get update
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    LANG=C.UTF-8 apt-get install -y --no-install-recommends "$@"
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root/usr/sbin/policy-rc.d"
: > "$root/etc/resolv.conf"
"""


def _install(stack: Stack, parent: Stack, log: Log) -> None:
    work = _workdir()
    try:
        root = work / "root"
        _extract(parent.rootfs_tarball, root, log)
        (root / "proc").mkdir(exist_ok=True)
        _run(
            [
                "unshare",
                "--mount",
                "--pid",
                "--fork",
                f"--mount-proc={root / 'proc'}",
                "sh",
                "-c",
                _APT_SCRIPT,
                "apt-in-chroot",
                str(root),
                *stack.packages,
            ],
            APT_TIMEOUT,
            log,
            f"apt-get install for the {stack.kind} stack",
        )
        _add_ca(root)
        _tar_rootfs(root, stack.rootfs_tarball, log)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _import(stack: Stack, log: Log) -> None:
    changes: list[str] = []
    for key, value in stack.full_env.items():
        changes += ["--change", f"ENV={key}={value}"]
    changes += ["--change", 'CMD=["/bin/bash"]']
    changes += ["--change", f"LABEL=io.deis.stack.hash={stack.hash}"]
    changes += ["--change", f"LABEL=io.deis.stack.kind={stack.kind}"]
    _run(
        [*podman_args(), "import", *changes, str(stack.rootfs_tarball), stack.image],
        PODMAN_TIMEOUT,
        log,
        f"podman import of {stack.image}",
    )
    for extra in stack.names[1:]:
        _run(
            [*podman_args(), "tag", stack.image, extra],
            120,
            log,
            f"podman tag {extra}",
        )


def _order() -> list[Stack]:
    done: list[Stack] = []
    while len(done) < len(STACKS):
        for s in STACKS.values():
            if s not in done and (s.parent is None or STACKS[s.parent] in done):
                done.append(s)
    return done


def ensure(force: bool = False, log: Log = _stderr) -> dict[str, str]:
    """Make every stack image that is missing (or all with force); kind → image name."""
    if os.geteuid() != 0:
        raise StackError("building the stack images needs root (debootstrap, chroot)")
    if not force and ready():
        return {s.kind: s.image for s in STACKS.values()}
    with _locked():
        STACK_CACHE.mkdir(parents=True, exist_ok=True)
        STACK_STORE.mkdir(parents=True, exist_ok=True)
        for s in _order():
            have = all(image_exists(n) for n in s.names)
            if have and not force:
                continue
            started = time.monotonic()
            if force or not s.rootfs_tarball.exists():
                log(f"-----> Making the {s.kind} stack rootfs ({s.hash})")
                if s.parent is None:
                    _debootstrap(s, log)
                else:
                    _install(s, STACKS[s.parent], log)
            log(f"-----> Importing {', '.join(s.names)}")
            _import(s, log)
            log(f"       {s.kind} stack ready in {time.monotonic() - started:.0f}s")
    return {s.kind: s.image for s in STACKS.values()}


def base_rootfs(log: Log = _stderr) -> Path:
    """The base stack's root filesystem as a tarball (debootstrap minbase of bookworm, with
    the host's CA bundle): made once per machine, kept in STACK_CACHE."""
    base = STACKS["base"]
    if base.rootfs_tarball.exists():
        return base.rootfs_tarball
    if os.geteuid() != 0:
        raise StackError("making the base root filesystem needs root (debootstrap)")
    with _locked():
        STACK_CACHE.mkdir(parents=True, exist_ok=True)
        if not base.rootfs_tarball.exists():
            log(f"-----> Making the base stack rootfs ({base.hash})")
            _debootstrap(base, log)
    return base.rootfs_tarball


def ensure_extra(extra: Stack, log: Log = _stderr) -> str:
    """Make one stack outside STACKS (the add-ons' servers) on the base stack's rootfs,
    once per machine, under the same lock; answers its image name."""
    if all(image_exists(n) for n in extra.names):
        return extra.image
    if os.geteuid() != 0:
        raise StackError(f"building the {extra.kind} stack needs root (chroot, apt)")
    parent = STACKS[extra.parent or "base"]
    if not parent.rootfs_tarball.exists():
        base_rootfs(log)
    with _locked():
        STACK_CACHE.mkdir(parents=True, exist_ok=True)
        STACK_STORE.mkdir(parents=True, exist_ok=True)
        if all(image_exists(n) for n in extra.names):
            return extra.image
        started = time.monotonic()
        if not extra.rootfs_tarball.exists():
            log(f"-----> Making the {extra.kind} stack rootfs ({extra.hash})")
            _install(extra, parent, log)
        log(f"-----> Importing {', '.join(extra.names)}")
        _import(extra, log)
        log(f"       {extra.kind} stack ready in {time.monotonic() - started:.0f}s")
    return extra.image
