"""Release summaries (as Deis words them) and the choice of a rollback target."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from deis.domain.errors import Invalid
from deis.domain.records import Build, Config


@dataclass(frozen=True)
class Released:
    """What a committed release sets off outside the database: its line in the app's
    log (from `source`), the router's view when a routing setting changed, and a deploy
    when the release has a build to run."""

    app_id: str
    summary: str
    publish: bool = False
    deploy: bool = False
    source: str = "controller"


def _join(parts: list[str]) -> str:
    """Join as "a", "a and b" or "a, b and c"."""
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _changed_keys(old: Mapping[str, object], new: Mapping[str, object]) -> list[str]:
    keys = old.keys() | new.keys()
    return sorted(k for k in keys if k not in old or k not in new or old[k] != new[k])


def _value_changes(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    added = sorted(k for k in new if k not in old)
    changed = sorted(k for k in new if k in old and old[k] != new[k])
    removed = sorted(k for k in old if k not in new)
    parts = []
    for verb, keys in (("added", added), ("changed", changed), ("removed", removed)):
        if keys:
            parts.append(f"{verb} {', '.join(keys)}")
    return parts


def config_change_summary(actor: str, old: Config, new: Config) -> str:
    """What changed between two configs, e.g. "alice added FOO and removed BAR"."""
    parts = _value_changes(old.values, new.values)
    limits = sorted(
        set(_changed_keys(old.memory, new.memory)) | set(_changed_keys(old.cpu, new.cpu))
    )
    if limits:
        parts.append(f"changed limits for {', '.join(limits)}")
    tags = _changed_keys(old.tags, new.tags)
    if tags:
        parts.append(f"changed tags {', '.join(tags)}")
    healthchecks = _changed_keys(old.healthcheck, new.healthcheck)
    if healthchecks:
        parts.append(f"changed healthcheck for {', '.join(healthchecks)}")
    if old.registry != new.registry:
        parts.append("changed registry info")
    if not parts:
        return f"{actor} changed nothing"
    return f"{actor} {_join(parts)}"


def deploy_summary(actor: str, build: Build) -> str:
    """Like "alice deployed 060da68" (the short sha), or the image for an image deploy."""
    return f"{actor} deployed {build.sha[:7] if build.sha else build.image}"


def initial_summary(actor: str) -> str:
    return f"{actor} created initial release"


def rollback_summary(actor: str, version: int) -> str:
    return f"{actor} rolled back to v{version}"


def rollback_refusal(version: int, has_build: bool, current_has_build: bool) -> str | None:
    """Why release `version` cannot be rolled back to (None when it can): the initial
    release (Deis refuses it), and a release without a build once the app has one (it
    would record a release with nothing to run while the old build keeps serving)."""
    if version == 1:
        return "Cannot roll back to initial release."
    if not has_build and current_has_build:
        return (
            f"Cannot roll back to v{version}: it has no build (it was made before the first"
            " push or pull)."
        )
    return None


def rollback_target(current: int, requested: int | None, exists: Callable[[int], bool]) -> int:
    """The version to roll back to: `requested`, or the one before `current` by default.

    Refused (field "version"): versions below 1, the current version and later ones, and
    versions that do not exist. v1 (which has no build) is a target only if it exists.
    """
    if requested is None:
        if current <= 1:
            raise Invalid(
                f"v{current} is the first release; there is nothing to roll back to.",
                field="version",
            )
        target = current - 1
    else:
        if isinstance(requested, bool) or not isinstance(requested, int):
            raise Invalid("Version must be a whole number.", field="version")
        target = requested
        if target < 1:
            raise Invalid("Version must be 1 or more.", field="version")
        if target == current:
            raise Invalid(f"v{target} is the current release.", field="version")
        if target > current:
            raise Invalid(
                f"v{target} does not exist; the current release is v{current}.",
                field="version",
            )
    if not exists(target):
        raise Invalid(f"v{target} does not exist.", field="version")
    return target
