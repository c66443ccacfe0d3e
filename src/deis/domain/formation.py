"""Process types and their counts: which types a build offers, and scaling rules."""

from __future__ import annotations

from deis.domain.errors import Invalid
from deis.domain.records import Build

MAX_REPLICAS = 100


def process_types(build: Build) -> list[str]:
    """The types a build can run: its Procfile's, else the image's own command as `cmd`."""
    if build.procfile:
        return sorted(build.procfile)
    return ["cmd"]


def unknown_type(proc_type: str, build: Build | None) -> str | None:
    """Why `proc_type` is not a process type of the app (None when it is one)."""
    if build is None:
        return f"Container type {proc_type} does not exist in application (it has no build yet)."
    types = process_types(build)
    if proc_type in types:
        return None
    return f"Container type {proc_type} does not exist in application (it has: {', '.join(types)})."


def require_types(names: list[str], build: Build) -> None:
    """Refuse (as scale does) the first name that is not one of the build's process types."""
    for proc_type in names:
        reason = unknown_type(proc_type, build)
        if reason is not None:
            raise Invalid(reason, field=proc_type)


def default_structure(current: dict[str, int], build: Build) -> dict[str, int]:
    """Counts after a new build: kept for known types, web (or cmd) at 1 the first time."""
    types = process_types(build)
    structure = {t: current[t] for t in types if t in current}
    if not structure:
        first = "web" if "web" in types else ("cmd" if types == ["cmd"] else None)
        if first is not None:
            structure[first] = 1
    for t in types:
        structure.setdefault(t, 0)
    return structure


def scale(current: dict[str, int], changes: dict[str, object], build: Build) -> dict[str, int]:
    """New counts; every type must exist in the build and every count be 0..MAX_REPLICAS."""
    if not changes:
        raise Invalid("Give at least one process type and count, e.g. web=2.", field="structure")
    structure = dict(current)
    for proc_type, count in changes.items():
        require_types([proc_type], build)
        if isinstance(count, bool) or not isinstance(count, int | str):
            raise Invalid("Must be a whole number.", field=proc_type)
        try:
            value = int(count)
        except ValueError:
            raise Invalid("Must be a whole number.", field=proc_type) from None
        if not 0 <= value <= MAX_REPLICAS:
            raise Invalid(f"Must be between 0 and {MAX_REPLICAS}.", field=proc_type)
        structure[proc_type] = value
    return structure


def formation_hints(before: dict[str, int], after: dict[str, int]) -> list[str]:
    """What a deploy that brought new process types says about them (the first deploy
    brings them all): which types run, and how to start those left at 0."""
    new = [t for t in sorted(after) if t not in before]
    if not new:
        return []
    running = " ".join(f"{t}={n}" for t, n in sorted(after.items()) if n > 0)
    lines = [f"Running: {running}" if running else "Nothing runs: every process type is at 0"]
    lines += [f"{t}=0: `deis scale {t}=1` starts it" for t in new if after[t] == 0]
    return lines
