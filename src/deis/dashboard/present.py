"""Pure presentation rules: an app's state in one word, process counts, times."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from deis.domain.desired import Pod
from deis.domain.records import Release

# Each state and what the list says about it (the word is shown, never a colour alone).
STATES = {
    "running": "every replica of the current release is up",
    "deploying": "replicas are starting or being replaced",
    "crashed": "a replica crashed",
    "failed": "the current release could not start; the previous one keeps serving",
    "stopped": "scaled to zero",
    "asleep": "no request for a while: its web processes stopped; the next request wakes it",
    "new": "no build yet: push code or deploy an image",
    "released": "released; the runtime's view of its replicas is not available",
}


def record_state(latest: Release | None) -> str:
    """What the records alone say (the list before the runtime is asked)."""
    if latest is None or latest.build is None:
        return "new"
    if latest.failed:
        return "failed"
    return "released"


def live_state(
    latest: Release | None, structure: Mapping[str, int], pods: Sequence[Pod], asleep: bool = False
) -> str:
    """The records and the replicas the runtime reports, in one word."""
    state = record_state(latest)
    if state != "released" or latest is None:
        return state
    if asleep:
        return "asleep"
    if any(pod.state == "crashed" for pod in pods):
        return "crashed"
    wanted = sum(structure.values())
    current = f"v{latest.version}"
    up = sum(1 for pod in pods if pod.state == "up" and pod.release == current)
    if up == wanted == len(pods):
        return "running" if wanted else "stopped"
    return "deploying"


def process_counts(structure: Mapping[str, int]) -> str:
    """`web=2 worker=1`, web first; "none" when nothing is scaled."""
    kinds = sorted(structure, key=lambda kind: (kind != "web", kind))
    return " ".join(f"{kind}={structure[kind]}" for kind in kinds) or "none"


def ago(then: datetime | None, now: datetime) -> str:
    if then is None:
        return "never"
    seconds = int((now - then).total_seconds())
    if seconds < 60:
        return "just now" if seconds < 5 else f"{seconds} s ago"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"  # unreachable: seconds >= 60 matched "min"


def stamp(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else ""


def short_sha(sha: str) -> str:
    return sha[:7]
