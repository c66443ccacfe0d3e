"""/v2/apps/<id>/cron/ (extension): jobs live in the config, so in every release."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deis.platform.cron import CronLoop
from tests.api.conftest import Api, User

JOB = {"name": "backup", "schedule": "0 3 * * *", "command": "python backup.py"}


def test_add_list_suspend_resume_remove_make_releases(alice: User) -> None:
    alice.create_app("shop")
    added = alice.post("/v2/apps/shop/cron/", {**JOB, "tz": "Europe/Paris", "memory": "256M"})
    assert added.status_code == 201, added.text
    job = added.json()
    assert job["name"] == "backup" and job["tz"] == "Europe/Paris" and job["memory"] == "256M"
    assert job["timeout"] == 3600 and not job["suspended"] and job["source"] == "cli"
    assert job["next_run"].endswith(":00:00Z") and job["last_run"] is None
    listed = alice.get("/v2/apps/shop/cron/").json()
    assert listed["count"] == 1 and listed["results"][0]["name"] == "backup"
    releases = alice.get("/v2/apps/shop/releases/").json()["results"]
    assert releases[0]["summary"] == "alice added cron job backup"

    suspended = alice.post("/v2/apps/shop/cron/backup/suspend")
    assert suspended.status_code == 200 and suspended.json()["suspended"]
    assert suspended.json()["next_run"] is None
    assert alice.post("/v2/apps/shop/cron/backup/suspend").status_code == 409
    assert not alice.post("/v2/apps/shop/cron/backup/resume").json()["suspended"]
    assert alice.delete("/v2/apps/shop/cron/backup").status_code == 204
    assert alice.get("/v2/apps/shop/cron/").json()["count"] == 0
    summaries = [r["summary"] for r in alice.get("/v2/apps/shop/releases/").json()["results"]]
    assert summaries[:4] == [
        "alice removed cron job backup",
        "alice resumed cron job backup",
        "alice suspended cron job backup",
        "alice added cron job backup",
    ]
    # config itself keeps the Deis v2.3 shape: no cron field
    assert "cron" not in alice.get("/v2/apps/shop/config/").json()


def test_a_rollback_brings_back_the_jobs_of_that_release(alice: User) -> None:
    alice.create_app("rb")
    alice.post("/v2/apps/rb/builds/", {"image": "example/app:1"})
    alice.post("/v2/apps/rb/cron/", JOB)  # v3
    alice.delete("/v2/apps/rb/cron/backup")  # v4
    assert alice.get("/v2/apps/rb/cron/").json()["count"] == 0
    assert alice.post("/v2/apps/rb/releases/rollback/", {"version": 3}).status_code == 201
    assert [j["name"] for j in alice.get("/v2/apps/rb/cron/").json()["results"]] == ["backup"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**JOB, "schedule": "61 * * * *"}, "schedule"),
        ({**JOB, "schedule": "* * *"}, "schedule"),
        ({**JOB, "name": "Bad Name"}, "name"),
        ({**JOB, "command": ""}, "command"),
        ({**JOB, "tz": "Nowhere/City"}, "tz"),
        ({**JOB, "timeout": "soon"}, "timeout"),
        ({**JOB, "memory": "a lot"}, "memory"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    alice: User, body: dict[str, object], field: str
) -> None:
    alice.create_app("bad")
    response = alice.post("/v2/apps/bad/cron/", body)
    assert response.status_code == 400, response.text
    assert field in response.json()
    assert len(alice.get("/v2/apps/bad/releases/").json()["results"]) == 1  # nothing made


def test_a_name_taken_an_unknown_job_and_an_unknown_app(alice: User) -> None:
    alice.create_app("dup")
    alice.post("/v2/apps/dup/cron/", JOB)
    taken = alice.post("/v2/apps/dup/cron/", JOB)
    assert taken.status_code == 400 and "name" in taken.json()
    assert alice.delete("/v2/apps/dup/cron/nope").status_code == 404
    assert alice.post("/v2/apps/dup/cron/nope/run").status_code == 404
    assert alice.get("/v2/apps/ghost/cron/").status_code == 404


def test_config_permissions_apply(alice: User, bob: User) -> None:
    alice.create_app("perm")
    assert bob.post("/v2/apps/perm/cron/", JOB).status_code == 404
    assert bob.get("/v2/apps/perm/cron/").status_code == 404
    alice.post("/v2/apps/perm/perms/", {"username": "bob"})
    assert bob.post("/v2/apps/perm/cron/", JOB).status_code == 201  # collaborators may


def test_run_now_needs_a_build(alice: User) -> None:
    alice.create_app("nob")
    alice.post("/v2/apps/nob/cron/", JOB)
    refused = alice.post("/v2/apps/nob/cron/backup/run")
    assert refused.status_code == 409 and "push code first" in refused.text


def test_the_scheduler_runs_what_is_due_once_and_records_it(api: Api, alice: User) -> None:
    """With a clock of the test's: the job's minute comes, it runs (the record runtime
    cannot start it: exit -1, said in the log), and the run is its last run."""
    alice.create_app("sched")
    alice.post("/v2/apps/sched/builds/", {"image": "example/app:1"})
    alice.post("/v2/apps/sched/cron/", {**JOB, "schedule": "*/5 * * * *"})
    context = api.client.app.state.context  # type: ignore[attr-defined]
    now = [datetime(2026, 12, 6, 10, 3, 30, tzinfo=UTC)]
    loop = CronLoop(clock=lambda: now[0])
    loop.context = context
    loop._looked_until = now[0]
    loop.look()
    assert loop.running() == set()  # 10:03:30 -> nothing due
    now[0] += timedelta(minutes=1)  # 10:04:30
    loop.look()
    now[0] += timedelta(minutes=1)  # 10:05:30: due at 10:05
    loop.look()
    loop.wait_idle(10)
    job = alice.get("/v2/apps/sched/cron/backup").json()
    assert job["last_run"]["trigger"] == "schedule" and job["last_run"]["exit_code"] == -1
    now[0] += timedelta(seconds=20)  # same minute: not again
    loop.look()
    assert loop.running() == set()


BUILDER = {"X-Deis-Builder-Auth": "test-builder-key"}


def push(api: Api, app: str, cron: object, sha: str = "a" * 40) -> int:
    build = {
        "receive_user": "alice", "receive_repo": app, "sha": sha,
        "image": f"127.0.0.1:5000/{app}:git-{sha[:7]}", "procfile": {"web": "python app.py"},
        "dockerfile": "", "cron": cron,
    }  # fmt: skip
    return api.client.post("/v2/hooks/build", json=build, headers=BUILDER).status_code


def test_app_json_jobs_come_with_each_push(api: Api, alice: User) -> None:
    alice.create_app("aj")
    alice.post("/v2/apps/aj/cron/", {"name": "mine", "schedule": "@hourly", "command": "true"})
    declared = [{"name": "clean", "schedule": "@daily", "command": "python clean.py"}]
    assert push(api, "aj", declared) == 200
    jobs = {j["name"]: j for j in alice.get("/v2/apps/aj/cron/").json()["results"]}
    assert jobs["clean"]["source"] == "app.json" and jobs["mine"]["source"] == "cli"
    releases = alice.get("/v2/apps/aj/releases/").json()["results"]
    assert releases[0]["summary"] == "alice deployed aaaaaaa"  # one release: the deploy
    assert push(api, "aj", [], sha="b" * 40) == 200  # app.json no longer declares it
    assert [j["name"] for j in alice.get("/v2/apps/aj/cron/").json()["results"]] == ["mine"]
    bad = push(api, "aj", [{"schedule": "nope", "command": "x"}], sha="c" * 40)
    assert bad == 400
