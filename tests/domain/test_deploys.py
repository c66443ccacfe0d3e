"""What the records say after a failed deploy: what runs (issue 18, item 3)."""

from __future__ import annotations

from deis.domain.deploys import Deployed, Undo, agrees, undo_failed_deploy

V4 = Deployed(4, {"web": 1, "clock": 0})


def test_a_failed_scale_fails_no_release_and_puts_the_counts_back() -> None:
    attempted = Deployed(4, {"web": 1, "clock": 1})
    undo = undo_failed_deploy(attempted, V4, attempted.structure)
    assert undo == Undo(failed=None, structure={"web": 1, "clock": 0}, running=V4)
    assert undo.explain(attempted, "clock keeps crashing") == (
        "Scaling to clock=1 failed, the formation stays clock=0 and v4 keeps running:"
        " clock keeps crashing"
    )


def test_a_failed_release_is_failed_and_the_counts_stand() -> None:
    attempted = Deployed(5, {"web": 1, "clock": 0})
    undo = undo_failed_deploy(attempted, V4, attempted.structure)
    assert undo == Undo(failed=5, structure=None, running=V4)
    assert undo.explain(attempted, "web did not become ready") == (
        "Release v5 could not be deployed, v4 keeps running: web did not become ready"
    )


def test_a_count_changed_since_the_attempt_stands() -> None:
    """A later scale (web=2) was recorded while the failed one deployed: its count is the
    later change's to deploy; only the failed count (clock) goes back."""
    attempted = Deployed(4, {"web": 1, "clock": 1})
    undo = undo_failed_deploy(attempted, V4, {"web": 2, "clock": 1})
    assert undo.structure == {"web": 2, "clock": 0}


def test_a_first_push_that_fails_leaves_no_counts() -> None:
    """Nothing ran: the types go, so the next push starts web=1 again."""
    attempted = Deployed(2, {"web": 1})
    undo = undo_failed_deploy(attempted, None, {"web": 1})
    assert undo == Undo(failed=2, structure={}, running=None)
    assert undo.explain(attempted, "crashed") == (
        "Release v2 could not be deployed, nothing runs yet: crashed"
    )


def test_a_push_that_drops_a_type_and_fails_gets_the_type_back() -> None:
    running = Deployed(4, {"web": 1, "worker": 2})
    attempted = Deployed(5, {"web": 1})
    undo = undo_failed_deploy(attempted, running, {"web": 1})
    assert undo.failed == 5 and undo.structure == {"web": 1, "worker": 2}


def test_a_push_that_adds_a_type_and_fails_drops_it() -> None:
    attempted = Deployed(5, {"web": 1, "clock": 0})
    undo = undo_failed_deploy(attempted, Deployed(4, {"web": 1}), {"web": 1, "clock": 0})
    assert undo.failed == 5 and undo.structure == {"web": 1}


def test_agrees_ignores_types_at_zero() -> None:
    assert agrees(Deployed(4, {"web": 1, "clock": 0}), Deployed(4, {"web": 1}))
    assert not agrees(Deployed(4, {"web": 1, "clock": 1}), Deployed(4, {"web": 1}))
    assert not agrees(Deployed(5, {"web": 1}), Deployed(4, {"web": 1}))
    assert not agrees(Deployed(5, {"web": 1}), None)
