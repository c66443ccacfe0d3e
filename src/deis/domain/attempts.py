"""Build attempts: every push the builder handled, built or not, with an id shown at the
start of its output. Their output is kept in files (never in the database); a successful
attempt's id is the uuid of the Build it made."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from deis.domain.errors import Invalid

BUILDING = "building"
SUCCEEDED = "succeeded"
FAILED = "failed"
SHORT = 8  # characters of the id shown by `git push` (`-----> Build 1a2b3c4d started`)


@dataclass(frozen=True)
class BuildAttempt:
    uuid: str
    app: str
    owner: str
    started: datetime
    sha: str = ""
    status: str = BUILDING
    finished: datetime | None = None
    reason: str = ""  # why it failed, as the push said
    version: int | None = None  # the release it made

    @property
    def short(self) -> str:
        return self.uuid[:SHORT]

    def succeeded(self, when: datetime, version: int) -> BuildAttempt:
        return replace(self, status=SUCCEEDED, finished=when, version=version)

    def failed(self, when: datetime, reason: str) -> BuildAttempt:
        return replace(self, status=FAILED, finished=when, reason=reason)


def id_prefix(text: str) -> str:
    """A build id as a user gives it: the whole uuid, or at least its first 8 characters."""
    text = text.strip().lower()
    if len(text) < SHORT or len(text) > 36 or any(c not in "0123456789abcdef-" for c in text):
        raise Invalid(
            "Give the build's id: its uuid, or the 8 characters git push showed"
            " (-----> Build 1a2b3c4d started).",
            field="uuid",
        )
    return text


def matching(attempts: list[BuildAttempt], prefix: str) -> BuildAttempt | None:
    """The one attempt whose id starts with the prefix (None when none or several do)."""
    found = [a for a in attempts if a.uuid.startswith(prefix)]
    return found[0] if len(found) == 1 else None
