"""/v2/apps/<id>/addons/ and /v2/addons/ (extension): add-ons attached by config vars,
with config's permissions. The servers here are the recording adapter's."""

from __future__ import annotations

from typing import Any

import pytest

from deis.domain.errors import Unavailable
from tests.api.conftest import Api, User


def servers(api: Api) -> Any:
    return api.client.app.state.context.addons  # type: ignore[attr-defined]


def create(user: User, app: str, service: str = "postgres", **extra: object) -> dict[str, Any]:
    made = user.post(f"/v2/apps/{app}/addons/", {"service": service, **extra})
    assert made.status_code == 201, made.text
    return made.json()  # type: ignore[no-any-return]


def config(user: User, app: str) -> dict[str, str]:
    return user.get(f"/v2/apps/{app}/config/").json()["values"]  # type: ignore[no-any-return]


def summaries(user: User, app: str) -> list[str]:
    return [r["summary"] for r in user.get(f"/v2/apps/{app}/releases/").json()["results"]]


def test_services_and_plans(alice: User) -> None:
    listed = alice.get("/v2/addons/services/").json()
    names = [s["name"] for s in listed["results"]]
    assert names == ["postgres", "redis"]
    postgres = listed["results"][0]
    assert postgres["title"] == "PostgreSQL 15" and postgres["var"] == "DATABASE_URL"
    assert [p["name"] for p in postgres["plans"]] == ["mini", "standard", "large"]
    assert postgres["plans"][0]["default"] and postgres["plans"][0]["memory"] == "128M"
    assert [p["disk"] for p in postgres["plans"]] == ["1G", "10G", "50G"]


def test_create_attach_detach_destroy(api: Api, alice: User) -> None:
    alice.create_app("shop")
    made = create(alice, "shop")
    name = made["name"]
    assert name.startswith("postgres-") and made["plan"] == "mini" and made["app"] == "shop"
    assert made["state"] == "available"
    assert made["attachments"] == [{"app": "shop", "var": "DATABASE_URL"}]
    assert made["disk"] == "1G" and made["disk_used"] is None  # the record adapter cannot tell
    url = config(alice, "shop")["DATABASE_URL"]
    assert (
        url.startswith("postgres://app:")
        and f"@deis-addons:{servers(api).servers[name].port}/app" in url
    )
    assert summaries(alice, "shop")[0] == f"alice attached {name}"
    assert servers(api).reached[name] == ["shop"]

    cache = create(alice, "shop", "redis:standard", **{"as": "cache"})
    assert cache["plan"] == "standard"
    assert config(alice, "shop")["CACHE_URL"].startswith("redis://default:")
    assert summaries(alice, "shop")[0] == f"alice attached {cache['name']} as CACHE_URL"
    listed = alice.get("/v2/apps/shop/addons/").json()
    assert sorted(a["name"] for a in listed["results"]) == sorted([name, cache["name"]])

    alice.create_app("admin-site")
    attached = alice.client.put(
        f"/v2/apps/admin-site/addons/{name}", json={}, headers=alice.headers
    )
    assert attached.status_code == 201, attached.text
    assert config(alice, "admin-site")["DATABASE_URL"] == url  # one database, two apps
    assert servers(api).reached[name] == ["admin-site", "shop"]
    info = alice.get(f"/v2/addons/{name}").json()
    assert {a["app"] for a in info["attachments"]} == {"shop", "admin-site"}

    refused = alice.delete(f"/v2/addons/{name}?confirm={name}")
    assert refused.status_code == 409 and "attached to" in refused.json()["detail"]
    assert alice.delete(f"/v2/apps/admin-site/addons/{name}").status_code == 204
    assert "DATABASE_URL" not in config(alice, "admin-site")
    assert summaries(alice, "admin-site")[0] == f"alice detached {name}"
    assert name in servers(api).servers  # the data stays
    assert alice.delete(f"/v2/apps/admin-site/addons/{name}").status_code == 404

    assert alice.delete(f"/v2/addons/{name}").status_code == 400  # no confirmation
    assert alice.delete(f"/v2/addons/{name}?confirm={name}&force=true").status_code == 204
    assert "DATABASE_URL" not in config(alice, "shop")
    assert name not in servers(api).servers
    assert alice.get(f"/v2/addons/{name}").status_code == 404


def test_bad_input_is_refused_and_nothing_is_made(api: Api, alice: User) -> None:
    alice.create_app("shop")
    for body, field in (
        ({"service": "mysql"}, "service"),
        ({"service": "postgres:huge"}, "service"),
        ({}, "service"),
        ({"service": "redis", "as": "9lives"}, "as"),
    ):
        answer = alice.post("/v2/apps/shop/addons/", body)
        assert answer.status_code == 400, answer.text
        assert field in answer.json(), answer.json()
    taken = alice.post("/v2/apps/shop/config/", {"values": {"DATABASE_URL": "postgres://mine"}})
    assert taken.status_code == 201
    clash = alice.post("/v2/apps/shop/addons/", {"service": "postgres"})
    assert clash.status_code == 409 and "--as" in clash.json()["detail"]
    assert alice.get("/v2/addons/").json()["count"] == 0
    assert servers(api).servers == {}
    assert alice.post("/v2/apps/nope/addons/", {"service": "redis"}).status_code == 404


def test_a_create_that_fails_leaves_nothing(
    api: Api, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice.create_app("shop")

    def broken(addon: Any) -> None:
        raise Unavailable(f"{addon.name} did not accept connections within 90s")

    monkeypatch.setattr(servers(api), "provision", broken)
    failed = alice.post("/v2/apps/shop/addons/", {"service": "postgres"})
    assert failed.status_code == 503 and "did not accept" in failed.json()["detail"]
    assert alice.get("/v2/addons/").json()["count"] == 0
    assert "DATABASE_URL" not in config(alice, "shop")
    assert len(summaries(alice, "shop")) == 1


def test_permissions_are_configs(api: Api, alice: User, bob: User, admin: User) -> None:
    alice.create_app("shop")
    name = create(alice, "shop")["name"]
    # bob sees nothing of it
    assert bob.get(f"/v2/addons/{name}").status_code == 404
    assert bob.get("/v2/addons/").json()["count"] == 0
    bob.create_app("bobs")
    put = bob.client.put(f"/v2/apps/bobs/addons/{name}", json={}, headers=bob.headers)
    assert put.status_code == 404
    assert bob.delete(f"/v2/addons/{name}?confirm={name}&force=true").status_code == 404
    # a collaborator attaches and detaches, but does not destroy
    assert alice.post("/v2/apps/shop/perms/", {"username": "bob"}).status_code == 201
    put = bob.client.put(f"/v2/apps/bobs/addons/{name}", json={"as": "shop"}, headers=bob.headers)
    assert put.status_code == 201, put.text
    assert "SHOP_URL" in config(bob, "bobs")
    assert bob.delete(f"/v2/apps/bobs/addons/{name}").status_code == 204
    denied = bob.delete(f"/v2/addons/{name}?confirm={name}&force=true")
    assert denied.status_code == 403
    assert admin.get("/v2/addons/").json()["count"] == 1
    assert admin.delete(f"/v2/addons/{name}?confirm={name}&force=true").status_code == 204


def test_deleting_the_app_destroys_its_addons_unless_another_app_uses_them(
    api: Api, alice: User
) -> None:
    alice.create_app("shop")
    alice.create_app("blog")
    alone = create(alice, "shop", "redis")["name"]
    shared = create(alice, "shop")["name"]
    put = alice.client.put(f"/v2/apps/blog/addons/{shared}", json={}, headers=alice.headers)
    assert put.status_code == 201
    assert alice.delete("/v2/apps/shop").status_code == 204
    assert alone not in servers(api).servers
    kept = alice.get(f"/v2/addons/{shared}").json()
    assert kept["app"] == "blog" and kept["attachments"] == [{"app": "blog", "var": "DATABASE_URL"}]
    assert servers(api).reached[shared] == ["blog"]


def test_backups_are_listed_restored_and_go_with_the_addon(api: Api, alice: User) -> None:
    alice.create_app("shop")
    name = create(alice, "shop")["name"]
    assert alice.get(f"/v2/addons/{name}/backups").json()["count"] == 0
    made = alice.post(f"/v2/addons/{name}/backups")
    assert made.status_code == 201, made.text
    backup = made.json()
    assert backup["id"].startswith("b") and backup["addon"] == name and backup["owner"] == "alice"
    second = alice.post(f"/v2/addons/{name}/backups").json()
    assert second["id"] != backup["id"]
    listed = alice.get(f"/v2/addons/{name}/backups").json()["results"]
    assert [b["id"] for b in listed] == sorted([backup["id"], second["id"]], reverse=True)
    restored = alice.post(f"/v2/addons/{name}/backups/{backup['id']}/restore")
    assert restored.status_code == 200 and restored.json()["id"] == backup["id"]
    assert servers(api).restored == [(name, f"addons/{name}/{backup['id']}.dump")]
    missing = alice.post(f"/v2/addons/{name}/backups/b20000101000000/restore")
    assert missing.status_code == 404
    assert alice.post(f"/v2/addons/{name}/backups/nope/restore").status_code == 400
    assert alice.delete(f"/v2/addons/{name}?confirm={name}&force=true").status_code == 204
    objects = api.client.app.state.context.objects  # type: ignore[attr-defined]
    assert objects.keys(f"addons/{name}") == []


def test_an_addon_is_never_named_as_an_app(api: Api, alice: User) -> None:
    """On a cluster each add-on is a namespace of its name, as each app is of its own."""
    import random

    from deis.domain import addons as rules

    context = api.client.app.state.context  # type: ignore[attr-defined]
    context.rng.seed(19)
    first = rules.new_name(rules.SERVICES["postgres"], random.Random(19), set())
    alice.create_app(first)
    made = create(alice, first)
    assert made["name"] != first and made["name"].startswith("postgres-")


def put_schedule(user: User, name: str, body: dict[str, Any]) -> Any:
    path = f"/v2/addons/{name}/backups/schedule"
    return user.client.put(path, json=body, headers=user.headers)


def context(api: Api) -> Any:
    return api.client.app.state.context  # type: ignore[attr-defined]


def test_a_backup_schedule_is_set_shown_and_removed(api: Api, alice: User, bob: User) -> None:
    alice.create_app("shop")
    name = create(alice, "shop")["name"]
    path = f"/v2/addons/{name}/backups/schedule"
    assert alice.get(path).status_code == 404
    assert alice.get(f"/v2/addons/{name}").json()["backup_schedule"] is None
    for body, field in (
        ({"at": "24:00"}, "at"),
        ({}, "at"),
        ({"at": "02:00", "tz": "Mars/Olympus"}, "tz"),
        ({"at": "02:00", "keep": 0}, "keep"),
        ({"at": "02:00", "keep": 91}, "keep"),
    ):
        answer = put_schedule(alice, name, body)
        assert answer.status_code == 400 and field in answer.json(), answer.text
    made = put_schedule(alice, name, {"at": "2:00", "tz": "Europe/Paris", "keep": 3})
    assert made.status_code == 200, made.text
    shown = made.json()
    assert {k: shown[k] for k in ("addon", "at", "tz", "keep", "last_run")} == {
        "addon": name, "at": "02:00", "tz": "Europe/Paris", "keep": 3, "last_run": None
    }  # fmt: skip
    assert shown["next_run"].endswith(("T01:00:00Z", "T00:00:00Z"))  # 02:00 in Paris
    assert alice.get(path).json() == shown
    assert alice.get(f"/v2/addons/{name}").json()["backup_schedule"] == shown
    defaults = put_schedule(alice, name, {"at": "03:15"}).json()
    assert (defaults["tz"], defaults["keep"]) == ("UTC", 7)
    # bob may not see it, nor set it
    assert bob.get(path).status_code == 404
    assert put_schedule(bob, name, {"at": "02:00"}).status_code == 404
    assert bob.delete(path).status_code == 404
    assert alice.delete(path).status_code == 204
    assert alice.get(path).status_code == 404
    assert alice.delete(path).status_code == 404
    # gone with the add-on
    assert put_schedule(alice, name, {"at": "02:00"}).status_code == 200
    assert alice.delete(f"/v2/addons/{name}?confirm={name}&force=true").status_code == 204
    with context(api).store.transaction() as uow:
        assert uow.addon_schedules.all() == []


def test_a_due_schedule_takes_a_backup_and_prunes_only_scheduled_ones(
    api: Api, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import datetime, timedelta

    from deis.services.backup_schedules import take_scheduled_backups

    ctx = context(api)
    logged: list[tuple[str, str]] = []
    monkeypatch.setattr(ctx.logs, "write", lambda app, _source, line: logged.append((app, line)))
    real_backup = servers(api).backup

    def backup(addon: Any, key: str) -> int:
        ctx.objects.put(key, b"snapshot")  # the recording servers store none
        return int(real_backup(addon, key))

    monkeypatch.setattr(servers(api), "backup", backup)
    alice.create_app("shop")
    name = create(alice, "shop")["name"]
    on_demand = alice.post(f"/v2/addons/{name}/backups").json()
    shown = put_schedule(alice, name, {"at": "02:00", "keep": 2}).json()
    first = datetime.fromisoformat(shown["next_run"].replace("Z", "+00:00"))
    assert take_scheduled_backups(ctx, first - timedelta(seconds=1)) == []  # not yet due
    taken = []
    for day in range(3):
        now = first + timedelta(days=day, seconds=30)
        assert take_scheduled_backups(ctx, now) == [name]
        assert take_scheduled_backups(ctx, now + timedelta(hours=23)) == []  # once a day
        taken.append(now.strftime("b%Y%m%d%H%M%S"))
    listed = alice.get(f"/v2/addons/{name}/backups").json()["results"]
    assert [b["id"] for b in listed] == [taken[2], taken[1], on_demand["id"]]
    assert [b["owner"] for b in listed] == ["scheduled", "scheduled", "alice"]
    assert [b.get("scheduled", False) for b in listed] == [True, True, False]
    kept = [taken[1], taken[2], on_demand["id"]]
    assert sorted(ctx.objects.keys(f"addons/{name}")) == sorted(
        f"addons/{name}/{made}.{ext}" for made in kept for ext in ("dump", "json")
    )  # the snapshot of the pruned one too
    assert ("shop", f"scheduled backed up {name} ({taken[2]})") in logged
    ran = alice.get(f"/v2/addons/{name}/backups/schedule").json()
    assert ran["last_run"] == (first + timedelta(days=2, seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ran["next_run"] == (first + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # down for a week: one backup when back, not seven
    back = first + timedelta(days=10, hours=5)
    assert take_scheduled_backups(ctx, back) == [name]
    assert take_scheduled_backups(ctx, back + timedelta(minutes=1)) == []


def test_a_failed_scheduled_backup_is_logged_and_the_others_go_on(
    api: Api, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import datetime, timedelta

    from deis.services.backup_schedules import take_scheduled_backups

    ctx = context(api)
    logged: list[tuple[str, str]] = []
    monkeypatch.setattr(ctx.logs, "write", lambda app, _source, line: logged.append((app, line)))
    alice.create_app("shop")
    broken = create(alice, "shop")["name"]
    working = create(alice, "shop", "redis")["name"]
    for name in (broken, working):
        assert put_schedule(alice, name, {"at": "02:00"}).status_code == 200
    real_backup = servers(api).backup

    def backup(addon: Any, key: str) -> int:
        if addon.name == broken:
            raise Unavailable("the server is not running")
        return int(real_backup(addon, key))

    monkeypatch.setattr(servers(api), "backup", backup)
    shown = alice.get(f"/v2/addons/{broken}/backups/schedule").json()
    now = datetime.fromisoformat(shown["next_run"].replace("Z", "+00:00")) + timedelta(minutes=1)
    assert take_scheduled_backups(ctx, now) == [working]
    failed = f"the scheduled backup of {broken} failed: the server is not running"
    assert ("shop", failed) in logged
    assert alice.get(f"/v2/addons/{broken}/backups").json()["count"] == 0
    assert alice.get(f"/v2/addons/{working}/backups").json()["count"] == 1
    assert take_scheduled_backups(ctx, now + timedelta(minutes=1)) == []  # tomorrow again


def test_the_platforms_loop_takes_what_is_due_by_its_clock(api: Api, alice: User) -> None:
    from dataclasses import replace
    from datetime import datetime, timedelta

    from deis.platform.addon_backups import AddonBackupLoop

    alice.create_app("shop")
    name = create(alice, "shop")["name"]
    shown = put_schedule(alice, name, {"at": "04:30"}).json()
    due = datetime.fromisoformat(shown["next_run"].replace("Z", "+00:00")) + timedelta(seconds=5)
    loop = AddonBackupLoop(replace(context(api), clock=lambda: due), interval=60)
    loop.run_pass()  # at start: the servers may still be starting
    assert alice.get(f"/v2/addons/{name}/backups").json()["count"] == 0
    loop.run_pass()
    assert [b["owner"] for b in alice.get(f"/v2/addons/{name}/backups").json()["results"]] == [
        "scheduled"
    ]
    loop.run_pass()
    assert alice.get(f"/v2/addons/{name}/backups").json()["count"] == 1


def test_the_loops_interval_is_a_positive_setting() -> None:
    from deis.settings import SettingsError, from_env

    assert from_env({}).addon_backup_interval == 60.0
    assert from_env({"DEIS_ADDON_BACKUP_INTERVAL": "5"}).addon_backup_interval == 5.0
    with pytest.raises(SettingsError, match="DEIS_ADDON_BACKUP_INTERVAL"):
        from_env({"DEIS_ADDON_BACKUP_INTERVAL": "0"})


def test_a_plan_changes_in_place(api: Api, alice: User, bob: User) -> None:
    alice.create_app("shop")
    made = create(alice, "shop")
    name = made["name"]
    changed = alice.patch(f"/v2/addons/{name}/", {"plan": "standard"})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["plan"] == "standard" and body["memory"] == "512M" and body["disk"] == "10G"
    assert servers(api).servers[name].plan == "standard"  # the servers were given it
    assert alice.get(f"/v2/addons/{name}/").json()["plan"] == "standard"
    # the URL (its password, host and port) is the same: no new release
    assert len(summaries(alice, "shop")) == 2
    for plan, status in (("mini", 400), ("standard", 400), ("huge", 400), (None, 400)):
        refused = alice.patch(f"/v2/addons/{name}/", {"plan": plan})
        assert refused.status_code == status and "plan" in refused.json(), refused.text
    assert bob.patch(f"/v2/addons/{name}/", {"plan": "large"}).status_code == 404
    assert alice.get(f"/v2/addons/{name}/").json()["plan"] == "standard"


def test_a_plan_the_server_cannot_start_with_is_not_recorded(
    api: Api, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice.create_app("shop")
    name = create(alice, "shop")["name"]

    def broken(old: Any, new: Any) -> None:
        raise Unavailable(f"{new.name} did not start with the plan {new.plan}")

    monkeypatch.setattr(servers(api), "change_plan", broken)
    failed = alice.patch(f"/v2/addons/{name}/", {"plan": "large"})
    assert failed.status_code == 503 and "did not start" in failed.json()["detail"]
    assert alice.get(f"/v2/addons/{name}/").json()["plan"] == "mini"
