"""plan(): every transition of the runtime, as pure decisions."""

from __future__ import annotations

from dataclasses import replace

import pytest

from deis.domain.desired import DesiredApp
from deis.runtime.plan import (
    BACKOFF_CAP,
    CrashLoop,
    Plan,
    Policy,
    Replica,
    Start,
    backoff_delay,
    backoff_detail,
    crash_event,
    crashed,
    exit_reason,
    forgiven,
    plan,
    pod_state,
)


def desired(version: int = 2, **structure: int) -> DesiredApp:
    return DesiredApp(
        app="app",
        version=version,
        image="img",
        kind="image",
        sha="",
        procfile={},
        structure=structure or {"web": 1},
        env={},
    )


def rep(
    name: str,
    version: int = 2,
    type: str = "web",
    state: str = "running",
    ready: bool = True,
    started: float = 100.0,
    terminating: bool = False,
) -> Replica:
    return Replica(name, type, version, state, ready, started, terminating)


NOW = Policy(now=1000.0)


def started(p: Plan) -> dict[str, int]:
    return {s.type: s.count for s in p.start}


# --- steady state and first deploy ------------------------------------------------------


def test_nothing_running_starts_every_replica() -> None:
    p = plan(desired(web=2, worker=1), [], NOW)
    assert started(p) == {"web": 2, "worker": 1}
    assert p.stop == () and p.restart == () and not p.converged


def test_all_ready_is_converged_and_idle() -> None:
    p = plan(desired(web=2), [rep("a"), rep("b")], NOW)
    assert p.idle and p.converged
    assert p.peers == ("a", "b")


def test_started_but_not_ready_is_not_converged() -> None:
    p = plan(desired(web=1), [rep("a", ready=False)], NOW)
    assert p.idle and not p.converged
    assert p.peers == ()


def test_created_container_counts_as_starting_not_crashed() -> None:
    p = plan(desired(web=1), [rep("a", state="created", ready=False)], NOW)
    assert p.idle and not p.converged and p.restart == ()


def test_first_deploy_of_zero_replicas_is_converged() -> None:
    p = plan(desired(web=0), [], NOW)
    assert p.idle and p.converged


# --- scale --------------------------------------------------------------------------------


def test_scale_up_starts_only_the_missing() -> None:
    p = plan(desired(web=3), [rep("a"), rep("b")], NOW)
    assert started(p) == {"web": 1}
    assert p.stop == ()
    assert p.peers == ("a", "b")


def test_scale_down_stops_the_extra_prefers_not_ready_then_newest() -> None:
    replicas = [
        rep("old", started=10),
        rep("new", started=50),
        rep("unready", ready=False, started=5),
    ]
    p = plan(desired(web=1), replicas, NOW)
    assert set(p.stop) == {"new", "unready"}
    assert p.peers == ("old",)
    assert p.start == ()


def test_scale_down_prefers_stopping_crashed_replicas() -> None:
    replicas = [rep("a"), rep("dead", state="exited", ready=False)]
    p = plan(desired(web=1), replicas, NOW)
    assert p.stop == ("dead",)
    assert p.restart == ()


def test_scale_to_zero_stops_all_and_routes_nothing() -> None:
    p = plan(desired(web=0), [rep("a"), rep("b")], NOW)
    assert set(p.stop) == {"a", "b"} and p.peers == ()


def test_type_removed_from_structure_is_stopped() -> None:
    p = plan(desired(web=1), [rep("a"), rep("w", type="worker")], NOW)
    assert p.stop == ("w",)


def test_scale_one_type_leaves_other_types_alone() -> None:
    p = plan(desired(web=1, worker=2), [rep("a"), rep("w", type="worker")], NOW)
    assert started(p) == {"worker": 1}
    assert p.stop == ()


# --- new release (rolling) ---------------------------------------------------------------


def test_new_release_starts_new_keeps_old_serving() -> None:
    p = plan(desired(3, web=2), [rep("o1"), rep("o2")], NOW)
    assert started(p) == {"web": 2}
    assert p.stop == ()
    assert p.peers == ("o1", "o2")
    assert not p.converged


def test_new_release_old_stay_until_new_ready() -> None:
    replicas = [rep("o1"), rep("o2"), rep("n1", 3, ready=False), rep("n2", 3, ready=False)]
    p = plan(desired(3, web=2), replicas, NOW)
    assert p.idle and not p.converged
    assert p.peers == ("o1", "o2")


def test_new_release_switches_when_new_ready() -> None:
    replicas = [rep("o1"), rep("o2"), rep("n1", 3), rep("n2", 3)]
    p = plan(desired(3, web=2), replicas, NOW)
    assert set(p.stop) == {"o1", "o2"}
    assert p.peers == ("n1", "n2")  # the router moves before the old ones stop
    assert not p.converged


def test_new_release_partly_ready_retires_as_many_old() -> None:
    replicas = [rep("o1"), rep("o2"), rep("n1", 3), rep("n2", 3, ready=False)]
    p = plan(desired(3, web=2), replicas, NOW)
    assert len(p.stop) == 1 and p.stop[0] in ("o1", "o2")
    assert "n1" in p.peers and len(p.peers) == 2


def test_old_not_ready_are_retired_first() -> None:
    replicas = [rep("o1"), rep("o2", ready=False), rep("n1", 3), rep("n2", 3, ready=False)]
    p = plan(desired(3, web=2), replicas, NOW)
    assert p.stop == ("o2",)


def test_rollout_done_when_only_new_ready() -> None:
    p = plan(desired(3, web=2), [rep("n1", 3), rep("n2", 3)], NOW)
    assert p.idle and p.converged


def test_batches_limit_new_replicas_in_flight() -> None:
    olds = [rep(f"o{i}") for i in range(4)]
    p = plan(desired(3, web=4), olds, Policy(now=1000, batch=1))
    assert started(p) == {"web": 1}
    p = plan(desired(3, web=4), [*olds, rep("n1", 3, ready=False)], Policy(now=1000, batch=1))
    assert p.start == () and p.stop == ()
    p = plan(desired(3, web=4), [*olds, rep("n1", 3)], Policy(now=1000, batch=1))
    assert started(p) == {"web": 1}
    assert len(p.stop) == 1


def test_batch_of_two() -> None:
    olds = [rep(f"o{i}") for i in range(4)]
    p = plan(desired(3, web=4), olds, Policy(now=1000, batch=2))
    assert started(p) == {"web": 2}


def test_new_release_with_fewer_replicas() -> None:
    replicas = [rep("o1"), rep("o2"), rep("o3"), rep("n1", 3)]
    p = plan(desired(3, web=1), replicas, NOW)
    assert set(p.stop) == {"o1", "o2", "o3"}
    assert p.peers == ("n1",)


def test_new_release_scaled_to_zero_stops_old_at_once() -> None:
    p = plan(desired(3, web=0), [rep("o1")], NOW)
    assert p.stop == ("o1",) and p.start == ()


def test_workers_roll_too_and_get_no_traffic() -> None:
    replicas = [rep("w1", type="worker"), rep("w2", 3, type="worker")]
    p = plan(desired(3, worker=1), replicas, NOW)
    assert p.stop == ("w1",)
    assert p.peers == ()


def test_cmd_type_is_routable() -> None:
    p = plan(desired(web=0, cmd=1), [rep("c", type="cmd")], NOW)
    assert p.peers == ("c",)


# --- a deploy rolling forward: nothing old stops before every new type is ready --------

ROLLING = Policy(now=1000.0, rolling=True)


def test_rolling_old_web_keeps_serving_while_another_new_type_is_not_ready() -> None:
    """Issue 18: web=1 and a second type that crashes on start; the old web replica must
    not lose traffic (nor stop) because the new web replica is ready."""
    replicas = [
        rep("o-web", 2), rep("o-clock", 2, type="clock"),
        rep("n-web", 3), rep("n-clock", 3, type="clock", state="exited", ready=False),
    ]  # fmt: skip
    p = plan(desired(3, web=1, clock=1), replicas, ROLLING)
    assert p.stop == ()
    assert p.peers == ("o-web",)  # the new release gets no traffic before it has taken over
    assert p.restart == ("n-clock",) and not p.converged


def test_rolling_switches_once_every_type_is_ready() -> None:
    replicas = [
        rep("o-web", 2), rep("o-clock", 2, type="clock"),
        rep("n-web", 3), rep("n-clock", 3, type="clock"),
    ]  # fmt: skip
    p = plan(desired(3, web=1, clock=1), replicas, ROLLING)
    assert set(p.stop) == {"o-web", "o-clock"}
    assert p.peers == ("n-web",)


def test_rolling_holds_for_a_new_type_the_old_release_did_not_run() -> None:
    replicas = [rep("o-web", 2), rep("n-web", 3), rep("n-clock", 3, type="clock", ready=False)]
    p = plan(desired(3, web=1, clock=1), replicas, ROLLING)
    assert p.stop == () and p.peers == ("o-web",)


def test_rolling_waits_for_every_new_replica_without_batches() -> None:
    replicas = [rep("o1"), rep("o2"), rep("n1", 3), rep("n2", 3, ready=False)]
    p = plan(desired(3, web=2), replicas, ROLLING)
    assert p.stop == () and p.peers == ("o1", "o2")


def test_rolling_with_batches_waits_for_the_first_batch_of_each_type() -> None:
    olds = [rep(f"o{i}") for i in range(4)]
    policy = replace(ROLLING, batch=1)
    p = plan(desired(3, web=4), [*olds, rep("n1", 3)], policy)
    assert len(p.stop) == 1 and "n1" in p.peers


def test_rolling_first_deploy_routes_the_ready_web_replicas() -> None:
    """Nothing old serves: the new web replicas get traffic as soon as they are ready."""
    replicas = [rep("n-web", 3), rep("n-clock", 3, type="clock", ready=False)]
    p = plan(desired(3, web=1, clock=1), replicas, ROLLING)
    assert p.peers == ("n-web",)


def test_rolling_scale_is_not_held() -> None:
    """A scale of the same release has no old replicas to hold."""
    replicas = [rep("w1"), rep("c1", type="clock", state="exited", ready=False)]
    p = plan(desired(2, web=1, clock=1), replicas, ROLLING)
    assert p.peers == ("w1",) and p.restart == ("c1",)


# --- crash and backoff -------------------------------------------------------------------


def test_crashed_replica_is_restarted() -> None:
    p = plan(desired(web=1), [rep("a", state="exited", ready=False)], NOW)
    assert p.restart == ("a",)
    assert p.start == () and not p.converged
    assert p.peers == ()


def test_crashed_replica_waits_for_its_backoff() -> None:
    policy = Policy(now=1000, restart_at={"a": 1005})
    p = plan(desired(web=1), [rep("a", state="exited", ready=False)], policy)
    assert p.restart == () and p.waiting == ("a",)
    assert not p.converged
    later = replace(policy, now=1006)
    assert plan(desired(web=1), [rep("a", state="exited", ready=False)], later).restart == ("a",)


def test_stopped_replica_counts_as_crashed() -> None:
    p = plan(desired(web=1), [rep("a", state="stopped", ready=False)], NOW)
    assert p.restart == ("a",)


def test_crashed_old_replica_is_restarted_while_rolling() -> None:
    replicas = [rep("o1", state="exited", ready=False), rep("n1", 3, ready=False)]
    p = plan(desired(3, web=1), replicas, NOW)
    assert p.restart == ("o1",)


def test_crashed_new_replica_is_restarted_during_rollout() -> None:
    replicas = [rep("o1"), rep("n1", 3, state="exited", ready=False)]
    p = plan(desired(3, web=1), replicas, NOW)
    assert p.restart == ("n1",)
    assert p.peers == ("o1",)


def test_missing_replica_is_replaced() -> None:
    p = plan(desired(web=2), [rep("a")], NOW)
    assert started(p) == {"web": 1}


def test_running_but_not_ready_gets_no_traffic() -> None:
    p = plan(desired(web=2), [rep("a"), rep("b", ready=False)], NOW)
    assert p.peers == ("a",)


# --- failed rollout ----------------------------------------------------------------------


def test_failed_rollout_previous_state_keeps_old_and_stops_new() -> None:
    """After a failed deploy the loop plans the previous desired state again."""
    replicas = [rep("o1"), rep("n1", 3, ready=False)]
    p = plan(desired(2, web=1), replicas, NOW)
    assert p.stop == ("n1",)
    assert p.peers == ("o1",)


def test_failed_rollout_refills_old_replicas_stopped_by_earlier_batches() -> None:
    p = plan(desired(2, web=3), [rep("o1")], NOW)
    assert started(p) == {"web": 2}


def test_failed_scale_returns_to_previous_structure() -> None:
    replicas = [rep("a"), rep("b", ready=False)]
    p = plan(desired(2, web=1), replicas, NOW)
    assert p.stop == ("b",)


# --- destroy -----------------------------------------------------------------------------


def test_destroy_stops_everything() -> None:
    replicas = [rep("a"), rep("b", 1), rep("w", type="worker", state="exited")]
    p = plan(None, replicas, NOW)
    assert set(p.stop) == {"a", "b", "w"}
    assert p.start == () and p.restart == () and p.peers == ()


def test_destroy_of_nothing_is_converged() -> None:
    assert plan(None, [], NOW).converged


# --- terminating replicas ------------------------------------------------------------------


def test_terminating_replicas_count_for_nothing() -> None:
    p = plan(desired(web=1), [rep("a", terminating=True)], NOW)
    assert started(p) == {"web": 1}
    assert p.stop == () and p.peers == ()


def test_terminating_replicas_are_not_stopped_twice() -> None:
    p = plan(None, [rep("a", terminating=True)], NOW)
    assert p.stop == () and p.converged


# --- pods and backoff ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("replica", "state"),
    [
        (rep("a"), "up"),
        (rep("a", ready=False), "starting"),
        (rep("a", state="created", ready=False), "starting"),
        (rep("a", state="exited", ready=False), "crashed"),
        (rep("a", terminating=True), "down"),
    ],
)
def test_pod_state(replica: Replica, state: str) -> None:
    assert pod_state(replica) == state


def test_backoff_grows_exponentially_up_to_a_cap() -> None:
    delays = [backoff_delay(n, base=1, cap=10) for n in range(7)]
    assert delays == [0, 1, 2, 4, 8, 10, 10]


def test_backoff_is_capped_at_five_minutes_as_kubernetes_does() -> None:
    assert BACKOFF_CAP == 300
    assert [backoff_delay(n) for n in (1, 2, 6, 9, 10, 50)] == [1, 2, 32, 256, 300, 300]


# --- crash loops: a type whose replicas keep crashing backs off as a whole ---------------


def test_a_type_in_back_off_starts_no_new_replica_until_it_ends() -> None:
    """A deploy retried (by a user, the autoscaler, the start of the platform) or a replica
    replaced while its release keeps crashing starts nothing before the back-off ends."""
    policy = Policy(now=1000, start_at={("web", 2): 1032})
    p = plan(desired(web=3, worker=1), [], policy)
    assert started(p) == {"worker": 1}  # another type is not held
    assert p.held == ("web",) and not p.converged
    later = replace(policy, now=1032)
    assert started(plan(desired(web=3, worker=1), [], later)) == {"web": 3, "worker": 1}


def test_the_back_off_is_per_release() -> None:
    """A new release (a fix pushed) starts at once, whatever the last one did."""
    policy = Policy(now=1000, start_at={("web", 2): 1300})
    p = plan(desired(3, web=1), [rep("a", version=2, ready=True)], policy)
    assert started(p) == {"web": 1} and p.held == ()


def test_a_held_type_keeps_its_running_replicas_and_restarts_by_their_own_back_off() -> None:
    policy = Policy(now=1000, start_at={("web", 2): 1300}, restart_at={"b": 990})
    running = rep("a")
    dead = rep("b", state="exited", ready=False)
    p = plan(desired(web=3), [running, dead], policy)
    assert p.restart == ("b",) and p.stop == () and p.held == ("web",)
    assert p.peers == ("a",)


def test_a_crash_loop_counts_the_worst_replica_and_waits_for_the_latest_restart() -> None:
    loop = crashed(CrashLoop(), restarts=1, now=100, restart_at=101)
    assert loop == CrashLoop(crashes=1, next_start=101, last_crash=100)
    loop = crashed(loop, restarts=3, now=105, restart_at=109)
    loop = crashed(loop, restarts=2, now=106, restart_at=108)  # another replica, fewer crashes
    assert loop == CrashLoop(crashes=3, next_start=109, last_crash=106)


def test_a_crash_loop_is_forgiven_after_the_reset_without_a_crash() -> None:
    loop = CrashLoop(crashes=9, next_start=400, last_crash=100)
    assert not forgiven(loop, now=700, reset=600)
    assert forgiven(loop, now=701, reset=600)
    # a crash long after the last one starts the count afresh
    assert crashed(loop, restarts=1, now=800, restart_at=801, reset=600).crashes == 1


def test_back_off_reads_as_kubernetes_crash_loop_back_off() -> None:
    assert backoff_detail(5, 31.6) == "crashed 5 times; next start in 32 s"
    assert backoff_detail(1, 0.4) == "crashed once; next start in 0 s"
    assert backoff_detail(2, -1) == "crashed 2 times; starting again"


def test_plan_is_deterministic_for_types() -> None:
    p = plan(desired(web=1, worker=1, clock=1), [], NOW)
    assert p.start == (Start("clock", 1), Start("web", 1), Start("worker", 1))


def test_crash_events_say_why_and_what_next() -> None:
    assert crash_event("web.0003123456-abcde", 137, 1, 1.0) == (
        "web.0003123456-abcde crashed (exit 137: killed, by SIGKILL or for going over its"
        " memory limit); restart 1, if it crashes again it waits 1 s"
    )
    assert crash_event("worker.0003123456-abcde", 3, 4, 8.0).endswith(
        "crashed (exit 3); restart 4, if it crashes again it waits 8 s"
    )
    assert exit_reason(139) == "exit 139: segmentation fault"
    assert exit_reason(143) == "exit 143: signal 15"
    assert exit_reason(0) == "exit 0"


def test_a_deploy_waits_out_a_first_crash_and_fails_on_a_crash_loop() -> None:
    """One crash of a new release (a transient failure under load) is waited out; a type
    that crashed as often as a deploy allows fails the deploy at once."""
    import time
    from types import SimpleNamespace

    from deis.runtime.plan import CrashLoop
    from deis.runtime.podman.converge import CRASHES_ALLOWED, _held

    desired = SimpleNamespace(app="shop", version=2)
    decided = SimpleNamespace(held=["web"])

    def engine(crashes: int) -> object:
        loop = CrashLoop(crashes=crashes, next_start=time.time() + 4, last_crash=time.time())
        return SimpleNamespace(crash_loop=lambda app, proc_type, version: loop)

    assert _held(engine(1), desired, decided) is None  # type: ignore[arg-type]
    said = _held(engine(CRASHES_ALLOWED), desired, decided)  # type: ignore[arg-type]
    assert said is not None and said.startswith("web of v2 keeps crashing and is in back-off")
