"""Which of an app's log lines a reader asked for: by process type or by replica.

A line reads `2026-11-27T08:00:00Z APP[TYPE.HASH-ID]: text` for what a replica printed and
`2026-11-27T08:00:00Z deis[SOURCE]: text` for the platform's events; a filter by type or
replica keeps only the replicas' lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from deis.domain.errors import Invalid

TYPE_RE = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
LABEL_RE = re.compile(r"([a-z0-9-]+)\.([0-9]{8,10}-[a-z0-9]{5})")
POD_RE = re.compile(r"([a-z0-9-]+)-([0-9]{8,10})-([a-z0-9]{5})")


def replica_label(app: str, replica: str) -> str:
    """`web.1234567890-abcde` (as lines name a replica) from that or from the pod name
    `APP-web-1234567890-abcde` (as `deis ps` shows it)."""
    if LABEL_RE.fullmatch(replica):
        return replica
    rest = replica[len(app) + 1 :] if replica.startswith(app + "-") else ""
    match = POD_RE.fullmatch(rest)
    if match is None:
        raise Invalid(
            f"{replica} is not a replica of {app}: give its name as deis ps shows it,"
            f" e.g. {app}-web-1234567890-abcde.",
            field="replica",
        )
    return f"{match[1]}.{match[2]}-{match[3]}"


@dataclass(frozen=True)
class LineFilter:
    """Keeps the lines of one app's replicas of a type and/or one replica."""

    app: str
    proc_type: str | None = None
    replica: str | None = None  # as lines name it: TYPE.HASH-ID

    @classmethod
    def of(cls, app: str, proc_type: str | None, replica: str | None) -> LineFilter | None:
        """None when nothing is asked (every line, platform events too)."""
        if not proc_type and not replica:
            return None
        if proc_type and not TYPE_RE.fullmatch(proc_type):
            raise Invalid("Give a process type such as web or worker.", field="type")
        label = replica_label(app, replica) if replica else None
        return cls(app, proc_type or None, label)

    @property
    def prefix(self) -> str:
        if self.replica:
            return f"{self.app}[{self.replica}]: "
        return f"{self.app}[{self.proc_type}."

    def __call__(self, line: str) -> bool:
        _stamp, _, rest = line.partition(" ")
        if not rest.startswith(self.prefix):
            return False
        if self.replica and self.proc_type:
            return self.replica.startswith(self.proc_type + ".")
        return True
