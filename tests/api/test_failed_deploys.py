"""A change whose deploy fails leaves the records as they were (issue 18, item 3): the
release that could not run is failed and not current, counts go back to what runs, the
answer says what failed, and the next change works. The record runtime is made to fail
the deploys these tests choose, as a runtime that cannot start a type would."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from deis.domain.desired import DesiredApp
from deis.domain.errors import DeployFailed

from .conftest import Api, User

Breaks = Callable[[DesiredApp], bool]


@pytest.fixture
def breaking(api: Api, monkeypatch: pytest.MonkeyPatch) -> Callable[[Breaks], None]:
    """Make the runtime fail every deploy the predicate picks (and keep what it ran)."""
    runtime = api.client.app.state.context.runtime  # type: ignore[attr-defined]
    deploy = runtime.deploy

    def use(breaks: Breaks) -> None:
        def failing(desired: DesiredApp) -> None:
            if breaks(desired):
                raise DeployFailed("app-clock-0004 keeps crashing (exit code 1)")
            deploy(desired)

        monkeypatch.setattr(runtime, "deploy", failing)

    return use


def clock_scaled(desired: DesiredApp) -> bool:
    return desired.structure.get("clock", 0) > 0


def pulled(alice: User, app: str) -> None:
    alice.create_app(app)
    body = {"image": "x/y:1", "procfile": {"web": "./web", "clock": "./clock"}}
    assert alice.post(f"/v2/apps/{app}/builds/", body).status_code == 201  # v2


def releases(alice: User, app: str) -> list[tuple[int, bool]]:
    found = alice.get(f"/v2/apps/{app}/releases/").json()["results"]
    return [(r["version"], r["failed"]) for r in found]


def test_a_failed_scale_leaves_the_formation_and_the_release_as_they_were(
    api: Api, alice: User, breaking: Callable[[Breaks], None]
) -> None:
    pulled(alice, "fs")
    breaking(clock_scaled)
    failed = alice.post("/v2/apps/fs/scale/", {"clock": 1})
    assert failed.status_code == 409
    assert failed.json()["detail"] == (
        "Scaling to clock=1 failed, the formation stays clock=0 and v2 keeps running:"
        " app-clock-0004 keeps crashing (exit code 1)"
    )
    assert alice.get("/v2/apps/fs/").json()["structure"] == {"web": 1, "clock": 0}
    assert releases(alice, "fs") == [(2, False), (1, False)]  # the serving one is not failed
    # the next change works (it used to fail until `deis scale clock=0`)
    assert alice.post("/v2/apps/fs/config/", {"values": {"A": "1"}}).status_code == 201
    assert releases(alice, "fs")[0] == (3, False)
    logs = alice.get("/v2/apps/fs/logs/")
    assert logs.status_code in (200, 503)


def test_a_failed_config_change_is_not_recorded_as_current(
    api: Api, alice: User, breaking: Callable[[Breaks], None]
) -> None:
    pulled(alice, "fc")
    breaking(lambda d: d.env.get("BREAK") == "1")
    failed = alice.post("/v2/apps/fc/config/", {"values": {"BREAK": "1", "KEEP": "x"}})
    assert failed.status_code == 409
    assert failed.json()["detail"] == (
        "Release v3 could not be deployed, v2 keeps running:"
        " app-clock-0004 keeps crashing (exit code 1)"
    )
    assert releases(alice, "fc") == [(3, True), (2, False), (1, False)]
    v3 = alice.get("/v2/apps/fc/releases/v3/").json()
    assert v3["failure"] == "app-clock-0004 keeps crashing (exit code 1)"
    assert alice.get("/v2/apps/fc/releases/v2/").json()["failure"] == ""
    assert alice.get("/v2/apps/fc/config/").json()["values"] == {}  # v2's
    # the next change is made from what runs (v2), not from the failed v3
    assert alice.post("/v2/apps/fc/config/", {"values": {"OTHER": "2"}}).status_code == 201
    assert alice.get("/v2/apps/fc/config/").json()["values"] == {"OTHER": "2"}
    assert releases(alice, "fc")[0] == (4, False)
    desired = api.client.app.state.context.runtime.desired("fc")  # type: ignore[attr-defined]
    assert desired.version == 4 and desired.env == {"OTHER": "2"}


def test_a_failed_rollback_and_a_failed_push(
    api: Api, alice: User, breaking: Callable[[Breaks], None]
) -> None:
    pulled(alice, "fr")
    alice.post("/v2/apps/fr/config/", {"values": {"A": "1"}})  # v3
    breaking(lambda d: "A" not in d.env or d.procfile.get("web") == "./broken")
    rolled = alice.post("/v2/apps/fr/releases/rollback/", {})  # to v2, which has no A
    assert (
        rolled.status_code == 409 and "Release v4 could not be deployed" in rolled.json()["detail"]
    )
    assert alice.get("/v2/apps/fr/config/").json()["values"] == {"A": "1"}
    body = {"image": "x/y:2", "procfile": {"web": "./broken", "clock": "./clock", "w": "./w"}}
    pushed = alice.post("/v2/apps/fr/builds/", body)
    assert (
        pushed.status_code == 409 and "Release v5 could not be deployed" in pushed.json()["detail"]
    )
    assert alice.get("/v2/apps/fr/").json()["structure"] == {"web": 1, "clock": 0}
    assert releases(alice, "fr")[:3] == [(5, True), (4, True), (3, False)]


def test_a_failed_first_deploy_leaves_no_counts(
    api: Api, alice: User, breaking: Callable[[Breaks], None]
) -> None:
    alice.create_app("ff")
    breaking(lambda d: True)
    body = {"image": "x/y:1", "procfile": {"web": "./web"}}
    failed = alice.post("/v2/apps/ff/builds/", body)
    assert failed.status_code == 409
    assert "could not be deployed, nothing runs yet: " in failed.json()["detail"]
    assert alice.get("/v2/apps/ff/").json()["structure"] == {}
    breaking(lambda d: False)
    assert alice.post("/v2/apps/ff/builds/", body).status_code == 201
    assert alice.get("/v2/apps/ff/").json()["structure"] == {"web": 1}


def test_at_start_apps_whose_records_say_other_than_what_runs_are_deployed(
    api: Api, alice: User, breaking: Callable[[Breaks], None]
) -> None:
    """A platform stopped in the middle of a deploy (or a release whose follow-up never
    reached the primary): the records went ahead, the runtime did not."""
    from deis.domain.deploys import Deployed
    from deis.services import deploys

    ctx = api.client.app.state.context  # type: ignore[attr-defined]
    pulled(alice, "rs")
    v2 = deploys.desired_for(ctx, "rs")
    alice.post("/v2/apps/rs/config/", {"values": {"A": "1"}})  # v3
    alice.post("/v2/apps/rs/config/", {"values": {"BREAK": "1"}})  # v4
    ctx.runtime.deploy(v2)  # as if neither v3 nor v4 had been deployed
    breaking(lambda d: d.env.get("BREAK") == "1")
    assert deploys.converge_all(ctx) == ["rs"]
    # v4 could not run: failed; the records are back to v3, which now runs
    assert releases(alice, "rs")[:2] == [(4, True), (3, False)]
    assert ctx.runtime.deployed("rs") == Deployed(3, {"web": 1, "clock": 0})
    assert deploys.converge_all(ctx) == []  # they agree now


def test_at_start_the_release_that_runs_is_never_left_failed(
    api: Api, alice: User, breaking: Callable[[Breaks], None]
) -> None:
    """Records left by the earlier bug: a failed `scale clock=1` marked the serving v2
    failed and left clock=1; a later config change (v3) failed too. The platform must not
    roll the app back to v1 (the latest release not failed): v2 runs, so v2 it is."""
    from deis.domain.deploys import Deployed
    from deis.services import deploys

    ctx = api.client.app.state.context  # type: ignore[attr-defined]
    pulled(alice, "old")
    breaking(clock_scaled)
    with ctx.store.transaction(write=True) as uow:
        app = uow.apps.get("old")
        uow.apps.update(replace(app, structure={"web": 1, "clock": 1}))
        uow.releases.set_failed("old", 2, True, ctx.clock())
    assert deploys.converge_all(ctx) == ["old"]  # clock=1 fails again, then is undone
    assert releases(alice, "old") == [(2, False), (1, False)]
    assert alice.get("/v2/apps/old/").json()["structure"] == {"web": 1, "clock": 0}
    assert ctx.runtime.deployed("old") == Deployed(2, {"web": 1, "clock": 0})
