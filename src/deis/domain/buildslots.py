"""Build slots: how many builds run at once on the platform (DEIS_MAX_BUILDS) and how
many of them one user may hold (DEIS_BUILDS_PER_USER), so that one user's pushes never
hold every slot while other users wait. Pure rules; the builder's locks carry them out.
"""

from __future__ import annotations

from dataclasses import dataclass

PER_USER_SETTING = "DEIS_BUILDS_PER_USER"


def per_user_limit(max_builds: int, configured: int | None = None) -> int:
    """The builds one user may run at once: `configured` (DEIS_BUILDS_PER_USER) if given,
    else a fair share, half the platform's slots; at least 1, at most every slot."""
    total = max(1, max_builds)
    if configured is None or configured <= 0:
        return max(1, total // 2)
    return min(total, configured)


@dataclass(frozen=True)
class Admission:
    """Whether a push may take a slot now; if not, what it waits for and what to say."""

    start: bool
    waits_for: str = ""  # "user": one of the pusher's own builds; "platform": any build
    message: str = ""


def admit(mine: int, running: int, max_builds: int, per_user: int) -> Admission:
    """A push of a user who runs `mine` builds, while `running` run on the platform."""
    if mine >= per_user:
        builds = "build" if mine == 1 else "builds"
        return Admission(
            start=False,
            waits_for="user",
            message=(
                f"-----> Queued: you have {mine} {builds} running (at most {per_user} per"
                f" user, {PER_USER_SETTING}); this one starts when one of yours ends"
            ),
        )
    if running >= max_builds:
        return Admission(
            start=False,
            waits_for="platform",
            message=(
                f"-----> Queued: {max_builds} builds are running on this platform;"
                " this one starts when one ends"
            ),
        )
    return Admission(start=True)
