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
    types = set(process_types(build))
    structure = dict(current)
    for proc_type, count in changes.items():
        if proc_type not in types:
            known = ", ".join(sorted(types))
            raise Invalid(
                f"Container type {proc_type} does not exist in application (it has: {known}).",
                field=proc_type,
            )
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
