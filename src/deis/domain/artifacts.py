"""Which build artefacts of an app may go: a pure decision over its releases and builds.

Releases never change, and a rollback makes a new release that points at an old build.
So what a release needs is the artefact of its build: a slug (buildpack builds, an
object-store key), or an image (Dockerfile builds, pushed to the platform's registry;
or an image deployed with `deis pull`, of which only the local copy is the platform's).

Kept: the artefacts of the builds the last `keep` releases point at, and that of the
latest release that did not fail (it may be the one serving, however old). Everything
else of the app's builds goes, unless a kept build uses the very same artefact (two
pushes of one commit make one slug key and one image tag).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from deis.domain.desired import build_kind
from deis.domain.records import Build, Release

DEFAULT_KEEP = 10


@dataclass(frozen=True)
class Garbage:
    app: str
    slugs: tuple[str, ...] = ()  # object-store keys of slugs
    images: tuple[str, ...] = ()  # Dockerfile builds: the registry's copy and the local one
    pulled: tuple[str, ...] = ()  # images from `deis pull`: the local copy only
    kept_images: tuple[str, ...] = ()  # images still needed (never delete what they share)
    # releases outside the window that do not serve: the runtime's copies of their slugs
    versions: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.slugs or self.images or self.pulled or self.versions)


def kept_releases(releases: Iterable[Release], keep: int) -> list[Release]:
    """The window: the last `keep` releases, and the latest that did not fail."""
    newest_first = sorted(releases, key=lambda r: r.version, reverse=True)
    kept = newest_first[: max(keep, 1)]
    serving = next((r for r in newest_first if r.build and not r.failed), None)
    if serving is not None and serving not in kept:
        kept.append(serving)
    return kept


def needed_builds(releases: Iterable[Release], keep: int) -> set[str]:
    """The uuids of the builds that the releases in the window need."""
    return {r.build for r in kept_releases(releases, keep) if r.build}


def collectable(
    app: str, releases: Iterable[Release], builds: Iterable[Build], keep: int = DEFAULT_KEEP
) -> Garbage:
    """What may be deleted now: the artefacts no release in the window needs."""
    all_builds = list(builds)
    all_releases = list(releases)
    window = kept_releases(all_releases, keep)
    needed = {r.build for r in window if r.build}
    kept_versions = {r.version for r in window}
    versions = sorted(r.version for r in all_releases if r.version not in kept_versions)
    kept_refs = {b.image for b in all_builds if b.uuid in needed}
    slugs: list[str] = []
    images: list[str] = []
    pulled: list[str] = []
    for build in sorted(all_builds, key=lambda b: b.created):
        if build.uuid in needed or build.image in kept_refs or not build.image:
            continue
        kind = build_kind(build)
        target = slugs if kind == "buildpack" else images if kind == "dockerfile" else pulled
        if build.image not in target:
            target.append(build.image)
    kept_images = sorted(
        b.image for b in all_builds if b.uuid in needed and build_kind(b) != "buildpack"
    )
    return Garbage(
        app=app,
        slugs=tuple(slugs),
        images=tuple(images),
        pulled=tuple(pulled),
        kept_images=tuple(dict.fromkeys(kept_images)),
        versions=tuple(versions),
    )
