"""What a deploy says about the process types it brought: which run, how to start the others."""

from __future__ import annotations

from deis.domain.formation import formation_hints


def test_the_first_deploy_says_which_types_run_and_how_to_start_the_others() -> None:
    assert formation_hints({}, {"web": 1, "worker": 0, "clock": 0}) == [
        "Running: web=1",
        "clock=0: `deis scale clock=1` starts it",
        "worker=0: `deis scale worker=1` starts it",
    ]


def test_a_later_deploy_speaks_only_of_new_types() -> None:
    assert formation_hints({"web": 2, "worker": 1}, {"web": 2, "worker": 1}) == []
    assert formation_hints({"web": 2}, {"web": 2, "mailer": 0}) == [
        "Running: web=2",
        "mailer=0: `deis scale mailer=1` starts it",
    ]


def test_nothing_running() -> None:
    assert formation_hints({}, {"worker": 0}) == [
        "Nothing runs: every process type is at 0",
        "worker=0: `deis scale worker=1` starts it",
    ]
