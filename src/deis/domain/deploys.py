"""What the records say after a deploy failed: what runs, nothing else.

A change (a config change, a push, a rollback, a scale) is recorded first and deployed
after; when the deploy fails the runtime goes back to what it ran before. The records
must follow it: the release that could not run is marked failed (and is not the
current one any more), and process counts that could not be reached are recorded as
they run. Pure decisions; the services carry them out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Deployed:
    """What a runtime runs for an app: a release, and how many replicas of each type."""

    version: int
    structure: dict[str, int]


@dataclass(frozen=True)
class Undo:
    failed: int | None  # the release to mark failed: it never ran; None: no release failed
    structure: dict[str, int] | None  # the counts to record again; None: they stand
    running: Deployed | None  # what runs now

    def explain(self, attempted: Deployed, reason: str) -> str:
        """What failed, what runs instead, and why (last: it may end in the lines a
        replica printed), e.g. "Release v5 could not be deployed, v4 keeps running: ..."
        or "Scaling to clock=1 failed, the formation stays clock=0 and v4 keeps running:
        ..."."""
        undone = sorted(
            t for t in {*(self.structure or {}), *attempted.structure}
            if self.structure is not None
            and self.structure.get(t, 0) != attempted.structure.get(t, 0)
        )  # fmt: skip
        if self.failed is not None:
            what = f"Release v{self.failed} could not be deployed"
        elif undone:
            counts = " ".join(f"{t}={attempted.structure.get(t, 0)}" for t in undone)
            what = f"Scaling to {counts} failed"
        else:
            what = f"Deploying v{attempted.version} failed"
        if self.running is None:
            return f"{what}, nothing runs yet: {reason}"
        stays = ""
        if undone and self.structure is not None:
            stays = " ".join(f"{t}={self.structure.get(t, 0)}" for t in undone)
            stays = f"the formation stays {stays} and "
        return f"{what}, {stays}v{self.running.version} keeps running: {reason}"


def undo_failed_deploy(
    attempted: Deployed, running: Deployed | None, recorded: Mapping[str, int]
) -> Undo:
    """How to record that `attempted` could not be deployed, now that the runtime runs
    `running` again (None: nothing, e.g. after a first push) and the records hold the
    counts `recorded` (which a later change may have touched meanwhile).

    - the attempted release is failed unless it is the one that runs (a failed scale
      fails no release: the release runs as before, with the counts it had);
    - each type whose recorded count is still the attempted one, and is not what runs,
      gets the count that runs (a type that never ran is dropped, so that the next
      build starts it as a new type again); a count changed since the attempt stands.
    """
    failed = None
    if running is None or running.version < attempted.version:
        failed = attempted.version
    ran = running.structure if running is not None else {}
    structure = dict(recorded)
    for proc_type in sorted({*recorded, *attempted.structure, *ran}):
        if recorded.get(proc_type) != attempted.structure.get(proc_type):
            continue  # changed since: a later change decides
        if proc_type in ran:
            structure[proc_type] = ran[proc_type]
        else:
            structure.pop(proc_type, None)
    changed = structure != dict(recorded)
    return Undo(failed=failed, structure=structure if changed else None, running=running)


def agrees(recorded: Deployed, running: Deployed | None) -> bool:
    """Whether the runtime runs what the records say (replicas scaled to 0 or absent
    are the same)."""
    if running is None or running.version != recorded.version:
        return False

    def counts(structure: Mapping[str, int]) -> dict[str, int]:
        return {t: n for t, n in structure.items() if n > 0}

    return counts(recorded.structure) == counts(running.structure)
