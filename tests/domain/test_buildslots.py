"""Build slots: one user's pushes never hold every slot (issue 17 item 5)."""

from __future__ import annotations

import pytest

from deis.domain.buildslots import Admission, admit, per_user_limit


@pytest.mark.parametrize(
    ("max_builds", "configured", "limit"),
    [
        (2, None, 1),  # the default: half the slots
        (5, None, 2),
        (1, None, 1),  # at least one
        (4, 3, 3),
        (4, 9, 4),  # never more than every slot
        (4, 0, 2),  # nonsense: the default
    ],
)
def test_per_user_limit(max_builds: int, configured: int | None, limit: int) -> None:
    assert per_user_limit(max_builds, configured) == limit


def test_a_user_under_both_limits_starts() -> None:
    assert admit(mine=0, running=1, max_builds=2, per_user=1) == Admission(start=True)


def test_a_user_at_the_limit_waits_for_one_of_their_own_builds() -> None:
    """Even with platform slots free: those are for the other users."""
    decision = admit(mine=1, running=1, max_builds=4, per_user=1)
    assert not decision.start and decision.waits_for == "user"
    assert decision.message == (
        "-----> Queued: you have 1 build running (at most 1 per user, DEIS_BUILDS_PER_USER);"
        " this one starts when one of yours ends"
    )
    assert "you have 2 builds running" in admit(2, 2, 4, 2).message


def test_another_user_waits_only_for_the_platform() -> None:
    decision = admit(mine=0, running=2, max_builds=2, per_user=1)
    assert not decision.start and decision.waits_for == "platform"
    assert decision.message == (
        "-----> Queued: 2 builds are running on this platform; this one starts when one ends"
    )
