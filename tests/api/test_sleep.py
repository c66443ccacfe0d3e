"""Idle apps sleep, through the API and the service layer: the setting (`deis ps:sleep`),
the sleep loop's decision from the router's request count, and what a sleeping app's
desired state and route say. The record runtime runs nothing; the podman runtime and
nginx do it for real in tests/e2e/test_sleep.py."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from deis.runtime.record import RecordingRuntime
from deis.services import sleep
from deis.services.sleeper import Sleeper

from .conftest import Api, User


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def deployed_app(alice: User, app: str, procfile: dict[str, str] | None = None) -> None:
    alice.create_app(app)
    body = {"image": "x/y:1", "procfile": procfile or {"web": "serve", "worker": "work"}}
    assert alice.post(f"/v2/apps/{app}/builds/", body).status_code == 201


def context(api: Api) -> Any:
    return api.client.app.state.context  # type: ignore[attr-defined]


def desired(api: Api, app: str) -> Any:
    found = RecordingRuntime(api.state_dir).desired(app)
    assert found is not None
    return found


def counting_router(api: Api, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    counts: dict[str, int] = {}
    router = context(api).router
    monkeypatch.setattr(router, "metrics", lambda app: {"requests": counts.get(app, 0)})
    return counts


def test_the_setting_is_read_and_changed(api: Api, alice: User, bob: User) -> None:
    deployed_app(alice, "nap")
    got = alice.get("/v2/apps/nap/sleep").json()
    assert got == {
        "app": "nap", "after": 0, "default": True, "all_types": False, "asleep": False,
        "since": None,
    }  # fmt: skip
    changed = alice.post("/v2/apps/nap/sleep/", {"after": "30m"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["after"] == 1800 and changed.json()["default"] is False
    assert context(api).router.routes["nap"].wakes is True  # held requests wake it
    never = alice.post("/v2/apps/nap/sleep", {"after": "never", "all_types": True}).json()
    assert (never["after"], never["all_types"]) == (0, True)
    assert context(api).router.routes["nap"].wakes is False
    back = alice.post("/v2/apps/nap/sleep", {"default": True}).json()
    assert (back["after"], back["default"]) == (0, True)
    bad = alice.post("/v2/apps/nap/sleep", {"after": "5x"})
    assert bad.status_code == 400 and "after" in bad.json()
    short = alice.post("/v2/apps/nap/sleep", {"after": 3})
    assert short.status_code == 400
    assert bob.get("/v2/apps/nap/sleep").status_code == 404  # not his


def test_an_idle_app_sleeps_keeps_its_structure_and_wakes(
    api: Api, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed_app(alice, "idle")
    assert alice.post("/v2/apps/idle/scale", {"web": 2, "worker": 1}).status_code == 204
    assert alice.post("/v2/apps/idle/sleep", {"after": "1m"}).status_code == 200
    counts, clock = counting_router(api, monkeypatch), Clock()
    sleeper = Sleeper(context(api), clock=clock)

    assert sleeper.run_once() == []  # the first look counts as activity
    clock.now += 50
    counts["idle"] = 3  # requests came
    assert sleeper.run_once() == []
    clock.now += 59
    assert sleeper.run_once() == []
    clock.now += 2  # 61 s without a request
    assert sleeper.run_once() == ["idle"]

    state = alice.get("/v2/apps/idle/sleep").json()
    assert state["asleep"] is True and state["since"]
    assert alice.get("/v2/apps/idle").json()["structure"] == {"web": 2, "worker": 1}
    assert desired(api, "idle").asleep == ("web",)
    assert desired(api, "idle").structure == {"web": 2, "worker": 1}
    clock.now += 1000
    assert sleeper.run_once() == []  # asleep: nothing more to do

    took = sleep.wake(context(api), "idle")
    assert took is not None and took >= 0
    assert desired(api, "idle").asleep == ()
    assert sleep.wake(context(api), "idle") is None  # awake already


def test_a_deploy_to_a_sleeping_app_leaves_it_asleep(api: Api, alice: User) -> None:
    deployed_app(alice, "dozy")
    slept = alice.post("/v2/apps/dozy/sleep/now")
    assert slept.status_code == 200 and slept.json()["asleep"] is True
    assert desired(api, "dozy").asleep == ("web",)
    assert alice.post("/v2/apps/dozy/config", {"values": {"A": "1"}}).status_code == 201
    after = desired(api, "dozy")
    assert after.asleep == ("web",) and after.env["A"] == "1"
    assert context(api).router.routes["dozy"].wakes is True  # asleep: requests wake it
    woke = alice.post("/v2/apps/dozy/sleep/wake")
    assert woke.status_code == 200 and woke.json()["asleep"] is False
    assert desired(api, "dozy").asleep == ()
    assert context(api).router.routes["dozy"].wakes is False  # the default is never


def test_every_type_sleeps_when_asked(api: Api, alice: User) -> None:
    deployed_app(alice, "all")
    assert alice.post("/v2/apps/all/scale", {"web": 1, "worker": 2}).status_code == 204
    alice.post("/v2/apps/all/sleep", {"all_types": True})
    alice.post("/v2/apps/all/sleep/now")
    assert desired(api, "all").asleep == ("web", "worker")


def test_an_app_without_web_never_sleeps(
    api: Api, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed_app(alice, "worker", {"worker": "work"})
    assert alice.post("/v2/apps/worker/scale", {"worker": 1}).status_code == 204
    alice.post("/v2/apps/worker/sleep", {"after": "10s"})
    counting_router(api, monkeypatch)
    clock = Clock()
    sleeper = Sleeper(context(api), clock=clock)
    sleeper.run_once()
    clock.now += 100
    assert sleeper.run_once() == []
    refused = alice.post("/v2/apps/worker/sleep/now")
    assert refused.status_code == 409


def test_the_platform_default_applies_unless_the_app_says(
    api: Api, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed_app(alice, "a")
    deployed_app(alice, "b")
    alice.post("/v2/apps/b/sleep", {"after": "never"})
    counting_router(api, monkeypatch)
    clock = Clock()
    sleeper = Sleeper(replace(context(api), sleep_after=30), clock=clock)
    sleeper.run_once()
    clock.now += 31
    assert sleeper.run_once() == ["a"]


def test_where_apps_cannot_sleep_they_are_not_put_to_sleep(api: Api, alice: User) -> None:
    from deis.domain.errors import Unavailable

    deployed_app(alice, "k8s")
    ctx = replace(context(api), sleeps=False)  # as on the Kubernetes runtime
    user = _user(api, "alice")
    with pytest.raises(Unavailable):
        sleep.configure(ctx, user, "k8s", after="30m")
    with pytest.raises(Unavailable):
        sleep.sleep_now(ctx, user, "k8s")
    assert sleep.configure(ctx, user, "k8s", after="never").after == 0  # turning it off is fine


def _user(api: Api, username: str) -> Any:
    with context(api).store.transaction() as uow:
        return uow.users.get(username)


def test_a_wake_that_fails_leaves_the_app_asleep(
    api: Api, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deis.domain.errors import DeployFailed

    deployed_app(alice, "broken")
    alice.post("/v2/apps/broken/sleep/now")
    runtime = context(api).runtime
    real_deploy = runtime.deploy

    def failing(desired: Any) -> None:
        if not desired.asleep:
            raise DeployFailed("web keeps crashing")
        real_deploy(desired)

    monkeypatch.setattr(runtime, "deploy", failing)
    with pytest.raises(DeployFailed):
        sleep.wake(context(api), "broken")
    assert alice.get("/v2/apps/broken/sleep").json()["asleep"] is True
    assert desired(api, "broken").asleep == ("web",)
    releases = alice.get("/v2/apps/broken/releases").json()["results"]
    assert not any(r["failed"] for r in releases)  # a failed wake fails no release
