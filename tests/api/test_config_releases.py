"""Config changes and deploys make releases; rollback makes a release from an old one."""

from __future__ import annotations

import json

from tests.api.conftest import Api, User


def config_values(user: User, app: str) -> dict[str, str]:
    return user.get(f"/v2/apps/{app}/config/").json()["values"]  # type: ignore[no-any-return]


def summaries(user: User, app: str) -> list[str]:
    results = user.get(f"/v2/apps/{app}/releases/").json()["results"]
    return [r["summary"] for r in results]


def test_config_set_merges_and_makes_a_release(alice: User) -> None:
    alice.create_app("cfg")
    response = alice.post("/v2/apps/cfg/config/", {"values": {"FOO": "1", "BAR": "2"}})
    assert response.status_code == 201
    body = response.json()
    assert body["values"] == {"FOO": "1", "BAR": "2"}
    assert set(body) >= {"uuid", "app", "owner", "values", "memory", "cpu", "tags", "registry",
                         "healthcheck", "created", "updated"}  # fmt: skip
    alice.post("/v2/apps/cfg/config/", {"values": {"BAZ": "3"}})
    assert config_values(alice, "cfg") == {"FOO": "1", "BAR": "2", "BAZ": "3"}
    assert summaries(alice, "cfg")[:2] == ["alice added BAZ", "alice added BAR, FOO"]


def test_null_unsets_a_key(alice: User) -> None:
    alice.create_app("unset")
    alice.post("/v2/apps/unset/config/", {"values": {"FOO": "1", "BAR": "2"}})
    alice.post("/v2/apps/unset/config/", {"values": {"FOO": None}})
    assert config_values(alice, "unset") == {"BAR": "2"}
    assert summaries(alice, "unset")[0] == "alice removed FOO"
    missing = alice.post("/v2/apps/unset/config/", {"values": {"NOPE": None}})
    assert missing.status_code == 400 and "values" in missing.json()


def test_values_become_strings_and_names_must_be_env_names(alice: User) -> None:
    alice.create_app("types")
    alice.post("/v2/apps/types/config/", {"values": {"N": 3, "B": True}})
    assert config_values(alice, "types") == {"N": "3", "B": "true"}
    bad = alice.post("/v2/apps/types/config/", {"values": {"NOT-VALID": "x"}})
    assert bad.status_code == 400 and "values" in bad.json()
    assert "NOT-VALID" in json.dumps(bad.json())


def test_a_change_that_changes_nothing_makes_no_release(alice: User) -> None:
    alice.create_app("same")
    alice.post("/v2/apps/same/config/", {"values": {"FOO": "1"}})
    again = alice.post("/v2/apps/same/config/", {"values": {"FOO": "1"}})
    assert again.status_code == 201
    assert alice.get("/v2/apps/same/releases/").json()["count"] == 2


def test_limits_tags_registry_and_healthchecks_make_releases(alice: User) -> None:
    alice.create_app("limits")
    assert alice.post("/v2/apps/limits/config/", {"memory": {"web": "512M"}}).status_code == 201
    assert alice.post("/v2/apps/limits/config/", {"cpu": {"web": "500m"}}).status_code == 201
    assert alice.post("/v2/apps/limits/config/", {"tags": {"disk": "ssd"}}).status_code == 201
    registry = {"registry": {"username": "u", "password": "p"}}
    assert alice.post("/v2/apps/limits/config/", registry).status_code == 201
    probe = {"httpGet": {"path": "/health", "port": 5000}}
    health = {"healthcheck": {"web": {"readinessProbe": probe}}}
    assert alice.post("/v2/apps/limits/config/", health).status_code == 201
    config = alice.get("/v2/apps/limits/config/").json()
    assert config["memory"] == {"web": "512M"}
    assert config["cpu"] == {"web": "500m"}
    assert config["tags"] == {"disk": "ssd"}
    assert config["registry"]["username"] == "u"
    assert config["healthcheck"]["web"]["readinessProbe"]["httpGet"]["path"] == "/health"
    assert alice.get("/v2/apps/limits/releases/").json()["count"] == 6


def test_invalid_limits_and_probes_are_400_with_the_field(alice: User) -> None:
    alice.create_app("badlimits")
    for body, field in (
        ({"memory": {"web": "lots"}}, "memory"),
        ({"cpu": {"web": "fast"}}, "cpu"),
        ({"healthcheck": {"web": {"readinessProbe": {"httpGet": {"port": 0}}}}}, "healthcheck"),
        ({"healthcheck": {"web": {"livenessProbe": {"bogus": 1}}}}, "healthcheck"),
    ):
        response = alice.post("/v2/apps/badlimits/config/", body)
        assert response.status_code == 400, body
        assert field in response.json(), response.json()
    assert alice.get("/v2/apps/badlimits/releases/").json()["count"] == 1


def test_deploying_an_image_makes_a_build_and_a_release(api: Api, alice: User) -> None:
    alice.create_app("img")
    alice.post("/v2/apps/img/config/", {"values": {"FOO": "bar"}})
    response = alice.post("/v2/apps/img/builds/", {"image": "127.0.0.1:5000/team/api:1.4"})
    assert response.status_code == 201
    build = response.json()
    assert build["image"] == "127.0.0.1:5000/team/api:1.4" and build["sha"] == ""
    assert alice.get(f"/v2/apps/img/builds/{build['uuid']}/").json() == build
    releases = alice.get("/v2/apps/img/releases/").json()["results"]
    assert releases[0]["version"] == 3 and releases[0]["build"] == build["uuid"]
    assert releases[0]["summary"] == "alice deployed 127.0.0.1:5000/team/api:1.4"
    assert alice.get("/v2/apps/img/").json()["structure"] == {"cmd": 1}
    desired = json.loads((api.state_dir / "runtime" / "desired" / "img.json").read_text())
    assert desired["version"] == 3 and desired["env"] == {"FOO": "bar"}


def test_image_with_a_procfile(alice: User) -> None:
    alice.create_app("procs")
    body = {"image": "example/app:2", "procfile": {"web": "./server", "worker": "./work"}}
    assert alice.post("/v2/apps/procs/builds/", body).status_code == 201
    assert alice.get("/v2/apps/procs/").json()["structure"] == {"web": 1, "worker": 0}


def test_rollback_defaults_to_the_previous_release(alice: User) -> None:
    alice.create_app("rb")
    alice.post("/v2/apps/rb/config/", {"values": {"A": "1"}})  # v2
    alice.post("/v2/apps/rb/config/", {"values": {"A": "2"}})  # v3
    response = alice.post("/v2/apps/rb/releases/rollback/", {})
    assert response.status_code == 201
    assert response.json() == {"version": 4}
    assert config_values(alice, "rb") == {"A": "1"}
    assert summaries(alice, "rb")[0] == "alice rolled back to v2"


def test_rollback_to_a_given_version_and_refusals(alice: User) -> None:
    alice.create_app("rb2")
    alice.post("/v2/apps/rb2/config/", {"values": {"A": "1"}})  # v2
    alice.post("/v2/apps/rb2/config/", {"values": {"A": "2"}})  # v3
    assert alice.post("/v2/apps/rb2/releases/rollback/", {"version": 2}).status_code == 201
    assert config_values(alice, "rb2") == {"A": "1"}
    missing = alice.post("/v2/apps/rb2/releases/rollback/", {"version": 99})
    assert missing.status_code == 400 and "version" in missing.json()
    assert alice.get("/v2/apps/rb2/releases/").json()["count"] == 4


def test_rollback_to_the_initial_release_is_refused(alice: User) -> None:
    alice.create_app("rb1")
    alice.post("/v2/apps/rb1/builds/", {"image": "example/app:1", "procfile": {"web": "serve"}})
    for body in ({"version": 1}, {}):  # v2 is the first build: the default target is v1
        refused = alice.post("/v2/apps/rb1/releases/rollback/", body)
        assert refused.status_code == 400
        assert refused.json() == {"detail": "Cannot roll back to initial release."}
    assert alice.get("/v2/apps/rb1/releases/").json()["count"] == 2


def test_rollback_to_a_release_without_a_build_is_refused_once_there_is_one(alice: User) -> None:
    alice.create_app("rbnb")
    alice.post("/v2/apps/rbnb/config/", {"values": {"A": "1"}})  # v2, before any build
    alice.post("/v2/apps/rbnb/builds/", {"image": "example/app:1", "procfile": {"web": "serve"}})
    refused = alice.post("/v2/apps/rbnb/releases/rollback/", {"version": 2})
    assert refused.status_code == 400
    assert refused.json()["detail"].startswith("Cannot roll back to v2: it has no build")


def test_release_detail_by_version(alice: User) -> None:
    alice.create_app("detail")
    v1 = alice.get("/v2/apps/detail/releases/v1/")
    assert v1.status_code == 200 and v1.json()["version"] == 1
    assert alice.get("/v2/apps/detail/releases/v9/").status_code == 404


def test_scale_needs_a_build_and_known_types(api: Api, alice: User) -> None:
    alice.create_app("sc")
    before = alice.post("/v2/apps/sc/scale/", {"web": 2})
    assert before.status_code == 409
    alice.post("/v2/apps/sc/builds/", {"image": "x/y:1", "procfile": {"web": "a", "worker": "b"}})
    assert alice.post("/v2/apps/sc/scale/", {"web": 3, "worker": 2}).status_code == 204
    assert alice.get("/v2/apps/sc/").json()["structure"] == {"web": 3, "worker": 2}
    desired = json.loads((api.state_dir / "runtime" / "desired" / "sc.json").read_text())
    assert desired["structure"] == {"web": 3, "worker": 2}
    unknown = alice.post("/v2/apps/sc/scale/", {"clock": 1})
    assert unknown.status_code == 400 and "clock" in unknown.json()
    negative = alice.post("/v2/apps/sc/scale/", {"web": -1})
    assert negative.status_code == 400


def test_routes_that_need_running_processes_answer_503_with_a_reason(alice: User) -> None:
    alice.create_app("norun")
    alice.post("/v2/apps/norun/builds/", {"image": "x/y:1"})
    for response in (
        alice.get("/v2/apps/norun/pods/"),
        alice.post("/v2/apps/norun/pods/restart/"),
        alice.post("/v2/apps/norun/run/", {"command": "ls"}),
        alice.get("/v2/apps/norun/logs/"),
    ):
        assert response.status_code == 503, response.text
        assert "runs no processes" in response.json()["detail"]


def test_versions_beyond_32_bits_are_simply_not_found(alice: User) -> None:
    alice.create_app("huge")
    assert alice.get("/v2/apps/huge/releases/v2147483648/").status_code == 404
    too_big = alice.post("/v2/apps/huge/releases/rollback/", {"version": 2**31})
    assert too_big.status_code == 400 and "version" in too_big.json()


def test_restarting_a_type_the_app_does_not_have_is_not_found(alice: User) -> None:
    alice.create_app("rs")
    alice.post("/v2/apps/rs/builds/", {"image": "example/app:1", "procfile": {"web": "serve"}})
    for path in (
        "/v2/apps/rs/pods/foo/restart/",
        "/v2/apps/rs/pods/foo/rs-foo-1234567890-abcde/restart/",
    ):
        refused = alice.post(path)
        assert refused.status_code == 404, refused.text
        assert refused.json() == {
            "detail": "Container type foo does not exist in application (it has: web)."
        }
    known = alice.post("/v2/apps/rs/pods/web/restart/")
    assert known.status_code == 503  # a known type reaches the runtime (this one runs nothing)
