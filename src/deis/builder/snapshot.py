"""A snapshot of the pushed commit: `git archive SHA`, checked and unpacked.

Refused: paths that are absolute or contain `..`, symlinks that point outside the tree
(absolute targets, or relative ones that climb out), anything under a symlinked folder,
and archives larger than the push size limit.
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
import posixpath
import shutil
import tarfile
from collections.abc import Mapping
from pathlib import Path

from deis.builder.errors import BuildRefused
from deis.builder.proc import _kill_group

GIT_TIMEOUT = 300


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def too_large(size: int, limit: int) -> BuildRefused:
    return BuildRefused(
        f"The push is too large: {human_size(size)}, more than the limit of"
        f" {human_size(limit)} (DEIS_MAX_PUSH_SIZE)."
    )


def directory_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


async def archive(repo: Path, sha: str, out: Path, env: Mapping[str, str], max_size: int) -> int:
    """`git archive --format=tar SHA` into out, stopping past max_size; its size."""
    proc = await asyncio.create_subprocess_exec(
        "git",
        "--git-dir",
        str(repo),
        "archive",
        "--format=tar",
        sha,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(env),
        start_new_session=True,
    )
    size = 0

    async def copy() -> None:
        nonlocal size
        assert proc.stdout is not None
        with out.open("wb") as sink:
            while chunk := await proc.stdout.read(1024 * 1024):
                size += len(chunk)
                if size > max_size:
                    raise too_large(size, max_size)
                sink.write(chunk)

    try:
        await asyncio.wait_for(copy(), GIT_TIMEOUT)
        assert proc.stderr is not None
        err = await asyncio.wait_for(proc.stderr.read(), 30)
        rc = await asyncio.wait_for(proc.wait(), 30)
    except BaseException:
        _kill_group(proc)
        await asyncio.wait_for(proc.wait(), 10)
        raise
    if rc != 0:
        reason = err.decode("utf-8", "replace").strip().splitlines()
        raise BuildRefused(f"Cannot read commit {sha}: {reason[-1] if reason else rc}")
    return size


def _inside(path: str) -> bool:
    return path != ".." and not path.startswith("../") and not path.startswith("/")


def check_members(members: list[tarfile.TarInfo]) -> None:
    """Refuse what could reach outside the tree; the first offending path is named."""
    links: set[str] = set()
    for member in members:
        if member.type in (tarfile.XGLTYPE, tarfile.XHDTYPE):  # pax headers
            continue
        name = member.name
        parts = name.split("/")
        if name.startswith("/") or ".." in parts:
            raise BuildRefused(f"Refused: the path {name!r} leaves the repository.")
        clean = posixpath.normpath(name)
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in links:
                raise BuildRefused(f"Refused: {name!r} lies under a symlinked folder.")
        if member.issym():
            target = member.linkname
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(clean), target))
            if target.startswith("/") or not _inside(resolved):
                raise BuildRefused(
                    f"Refused: the symlink {name!r} points outside the repository ({target})."
                )
            links.add(clean)
        elif member.islnk():
            if not _inside(posixpath.normpath(member.linkname)):
                raise BuildRefused(f"Refused: the link {name!r} points outside the repository.")
        elif not (member.isfile() or member.isdir()):
            raise BuildRefused(f"Refused: {name!r} is not a file, folder or symlink.")


def check_tree(root: Path) -> None:
    """After unpacking: every symlink resolves inside root (chains included)."""
    base = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            if path.is_symlink():
                real = Path(os.path.realpath(path))
                if real != base and base not in real.parents:
                    rel = path.relative_to(root).as_posix()
                    raise BuildRefused(
                        f"Refused: the symlink {rel!r} points outside the repository."
                    )


def unpack(tar_path: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tar_path) as tar:
        members = tar.getmembers()
        check_members(members)
        try:
            tar.extractall(dest, filter="data")
        except tarfile.FilterError as exc:
            raise BuildRefused(f"Refused: {exc}") from None
    check_tree(dest)


def slugignore(root: Path) -> list[str]:
    """Remove what .slugignore names (before any buildpack runs); the removed paths."""
    path = root / ".slugignore"
    if not path.is_file() or path.is_symlink():
        return []
    patterns = []
    for raw in path.read_text(errors="replace").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            patterns.append(line)
    removed: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, topdown=True):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        for name in [*dirnames, *filenames]:
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if any(_matches(p, rel, name) for p in patterns):
                target = Path(dirpath) / name
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                    if name in dirnames:
                        dirnames.remove(name)
                else:
                    target.unlink(missing_ok=True)
                removed.append(rel)
    return removed


def _matches(pattern: str, rel: str, name: str) -> bool:
    pattern = pattern.rstrip("/")
    if pattern.startswith("/"):
        return fnmatch.fnmatchcase(rel, pattern[1:])
    if "/" in pattern:
        return fnmatch.fnmatchcase(rel, pattern)
    return fnmatch.fnmatchcase(name, pattern)
