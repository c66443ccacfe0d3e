"""Autoscaling through the service layer: the rules from `deis autoscale:set`, a measured
CPU, and the scale the autoscaler makes shows in the app's structure and desired state.

The measurement is scripted here (the record runtime runs nothing); the podman runtime
measures real containers in tests/e2e/test_autoscale.py.
"""

from __future__ import annotations

from typing import Any

from deis.runtime.record import RecordingRuntime
from deis.services.autoscaler import Autoscaler

from .conftest import Api, User


class Meter:
    """CPU per replica as the runtime would measure it, in millicores."""

    def __init__(self) -> None:
        self.usage: dict[tuple[str, str], list[float]] = {}
        self.asked: list[tuple[str, str, float]] = []

    def cpu_usage(self, app_id: str, proc_type: str, window: float) -> list[float]:
        self.asked.append((app_id, proc_type, window))
        return list(self.usage.get((app_id, proc_type), []))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def structure(alice: User, app: str) -> dict[str, Any]:
    return dict(alice.get(f"/v2/apps/{app}/").json()["structure"])


def setup_app(alice: User, app: str, rule: dict[str, int]) -> None:
    alice.create_app(app)
    body = {"image": "x/y:1", "procfile": {"web": "serve", "worker": "work"}}
    assert alice.post(f"/v2/apps/{app}/builds/", body).status_code == 201
    response = alice.post(f"/v2/apps/{app}/settings/", {"autoscale": {"web": rule}})
    assert response.status_code == 201, response.text


def test_measured_cpu_scales_up_then_down_after_the_window(api: Api, alice: User) -> None:
    setup_app(alice, "busy", {"min": 1, "max": 5, "cpu_percent": 70})
    meter, clock = Meter(), Clock()
    context = api.client.app.state.context  # type: ignore[attr-defined]
    autoscaler = Autoscaler(context, meter, window=60, sample_seconds=5, clock=clock)

    meter.usage[("busy", "web")] = [1400.0]  # one core and a half: 200% of the 70% target
    [scaled] = autoscaler.run_once()
    assert (scaled.old, scaled.new, scaled.reason) == (1, 2, "cpu 140% of 70%")
    assert structure(alice, "busy") == {"web": 2, "worker": 0}
    desired = RecordingRuntime(api.state_dir).desired("busy")
    assert desired is not None and desired.structure["web"] == 2
    assert desired.autoscale == {"web": {"min": 1, "max": 5, "cpu_percent": 70}}
    assert meter.asked == [("busy", "web", 5)]  # only autoscaled types are measured

    meter.usage[("busy", "web")] = [700.0, 720.0]  # at the target: nothing to do
    clock.now += 15
    assert autoscaler.run_once() == []

    meter.usage[("busy", "web")] = [0.0, 0.0]  # idle, but within the window
    clock.now += 15
    assert autoscaler.run_once() == []
    clock.now += 61  # the window has passed
    [scaled] = autoscaler.run_once()
    assert (scaled.old, scaled.new) == (2, 1)
    assert structure(alice, "busy")["web"] == 1


def test_min_is_applied_without_measurement_and_rules_can_go(api: Api, alice: User) -> None:
    setup_app(alice, "floor", {"min": 3, "max": 4, "cpu_percent": 50})
    context = api.client.app.state.context  # type: ignore[attr-defined]
    autoscaler = Autoscaler(context, Meter(), window=60, sample_seconds=5, clock=Clock())
    [scaled] = autoscaler.run_once()
    assert (scaled.old, scaled.new, scaled.reason) == (1, 3, "min 3")
    assert structure(alice, "floor")["web"] == 3
    assert alice.post("/v2/apps/floor/settings/", {"autoscale": {"web": None}}).status_code == 201
    desired = RecordingRuntime(api.state_dir).desired("floor")
    assert desired is not None and desired.autoscale == {}
    assert autoscaler.run_once() == []  # no rule, no autoscaling


def test_a_users_scale_meanwhile_wins(api: Api, alice: User) -> None:
    setup_app(alice, "race", {"min": 1, "max": 5, "cpu_percent": 50})
    context = api.client.app.state.context  # type: ignore[attr-defined]
    from deis.services import formation

    assert alice.post("/v2/apps/race/scale/", {"web": 4}).status_code == 204
    # the autoscaler decided from web=1, but the user scaled to 4 since: nothing is done
    assert not formation.autoscale(context, "race", "web", 1, 2, "cpu 100% of 50%")
    assert structure(alice, "race")["web"] == 4


def test_a_scale_that_keeps_failing_is_tried_again_less_and_less_often(
    api: Api, alice: User, monkeypatch: Any
) -> None:
    """Issue 17 item 5: a type below its min whose new replicas crash was scaled again at
    every pass (each try a deploy, its containers started and crashing): now the
    autoscaler waits one pass, then 2, 4 ... up to 5 minutes."""
    from deis.domain.autoscale import retry_delay
    from deis.domain.errors import DeployFailed

    setup_app(alice, "crashy", {"min": 3, "max": 4, "cpu_percent": 50})
    context = api.client.app.state.context  # type: ignore[attr-defined]
    clock = Clock()
    autoscaler = Autoscaler(context, Meter(), window=60, sample_seconds=5, clock=clock)
    tries: list[float] = []

    def failing(desired: Any) -> None:
        tries.append(clock.now)
        raise DeployFailed("web keeps crashing")

    monkeypatch.setattr(context.runtime, "deploy", failing)
    for _ in range(12):  # a pass every 15 s for 3 minutes
        assert autoscaler.run_once() == []
        clock.now += 15
    assert tries == [1000, 1015, 1045, 1105], tries  # waits of 15, 30, 60 s
    assert structure(alice, "crashy")["web"] == 1
    monkeypatch.undo()
    clock.now = 1105 + 120
    [scaled] = autoscaler.run_once()  # fixed: the next try scales
    assert (scaled.old, scaled.new) == (1, 3)
    assert [retry_delay(n, 15) for n in (0, 1, 2, 5, 6, 9)] == [0, 15, 30, 240, 300, 300]
