"""Slugs on the host: a release's slug tarball, extracted once, mounted at /app.

This is the boundary with the builder: for kind "buildpack", `DesiredApp.image` is the
path of a slug tarball on this machine. Its members are either relative to /app
(`./Procfile`, `./.profile.d/…`) or under a single top-level `app/` directory (the
Heroku slug layout); both work.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path

COMPLETE = ".deis-slug-complete"


class SlugError(RuntimeError):
    pass


def slug_root(state_dir: Path) -> Path:
    return state_dir / "runtime" / "slugs"


def release_dir(state_dir: Path, app: str, version: int) -> Path:
    return slug_root(state_dir) / app / f"v{version}"


def _mount_point(target: Path) -> Path:
    entries = [p for p in target.iterdir() if p.name != COMPLETE]
    if len(entries) == 1 and entries[0].name == "app" and entries[0].is_dir():
        return entries[0]
    return target


def extract(tarball: Path, target: Path) -> Path:
    """Extract once (idempotent, atomic); returns the directory to mount at /app."""
    if (target / COMPLETE).exists():
        return _mount_point(target)
    if not tarball.is_file():
        raise SlugError(f"slug {tarball} not found")
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        with tarfile.open(tarball) as archive:
            archive.extractall(temporary, filter="tar")
        (temporary / COMPLETE).touch()
        temporary.chmod(0o755)
        if target.exists():
            shutil.rmtree(target)
        temporary.rename(target)
    except (OSError, tarfile.TarError) as exc:
        shutil.rmtree(temporary, ignore_errors=True)
        raise SlugError(f"cannot extract slug {tarball}: {exc}") from exc
    return _mount_point(target)


def remove_app(state_dir: Path, app: str) -> None:
    shutil.rmtree(slug_root(state_dir) / app, ignore_errors=True)


def remove_versions(state_dir: Path, app: str, versions: Iterable[int]) -> list[int]:
    """Remove the extracted slugs of these releases; the versions that had one."""
    removed = []
    for version in versions:
        target = release_dir(state_dir, app, version)
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
            removed.append(version)
    return removed
