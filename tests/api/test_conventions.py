"""The wire conventions of the Deis v2.3 API: headers, slashes, 401s, pages, error shapes."""

from __future__ import annotations

import re

from tests.api.conftest import Api, User


def test_root_without_token_is_401_so_clients_recognise_a_controller(api: Api) -> None:
    response = api.client.get("/v2/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_every_response_carries_the_version_headers(api: Api, alice: User) -> None:
    for response in (api.client.get("/v2/"), alice.get("/v2/apps/"), api.client.get("/healthz")):
        assert response.headers["DEIS_API_VERSION"] == "2.3"
        assert re.fullmatch(r"\d+\.\d+\.\d+", response.headers["DEIS_PLATFORM_VERSION"])


def test_routes_answer_with_and_without_trailing_slash_without_redirect(
    api: Api, alice: User
) -> None:
    for path in ("/v2/apps", "/v2/apps/"):
        response = alice.post(path, {}, follow_redirects=False)
        assert response.status_code == 201, response.text
    assert alice.get("/v2/apps", follow_redirects=False).status_code == 200
    assert alice.get("/v2/apps/", follow_redirects=False).status_code == 200


def test_health_and_readiness(api: Api) -> None:
    assert api.client.get("/healthz").text == "OK"
    assert api.client.get("/readiness").status_code == 200


def test_a_bad_token_is_401(api: Api, alice: User) -> None:
    response = api.client.get("/v2/apps/", headers={"Authorization": "token nope"})
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}
    bad_scheme = api.client.get("/v2/apps/", headers={"Authorization": "Basic abc"})
    assert bad_scheme.status_code == 401


def test_a_bad_token_is_401_before_a_bad_parameter_or_body(api: Api, alice: User) -> None:
    bad = {"Authorization": "token nope"}
    for response in (
        api.client.get("/v2/apps/?limit=abc", headers=bad),
        api.client.post("/v2/apps/", json={"id": 12}, headers=bad),
        api.client.get("/v2/apps/x/releases/vnot-a-number", headers=bad),
    ):
        assert response.status_code == 401, response.text
        assert response.json() == {"detail": "Invalid token."}
        assert response.headers["WWW-Authenticate"] == "Token"
    assert api.client.get("/v2/apps/?limit=abc").status_code == 401
    assert alice.get("/v2/apps/x/releases/vnot-a-number").status_code == 400


def test_lists_are_paged_with_next_and_previous(api: Api, alice: User) -> None:
    for n in range(5):
        alice.create_app(f"app-{n}")
    first = alice.get("/v2/apps/?limit=2").json()
    assert first["count"] == 5
    assert [a["id"] for a in first["results"]] == ["app-0", "app-1"]
    assert first["previous"] is None
    assert "offset=2" in first["next"] and "limit=2" in first["next"]
    second = alice.get(first["next"].replace("http://testserver", "")).json()
    assert [a["id"] for a in second["results"]] == ["app-2", "app-3"]
    assert "offset=0" in second["previous"]
    last = alice.get("/v2/apps/?limit=2&offset=4").json()
    assert last["next"] is None


def test_bad_paging_parameters_are_400_with_the_field(alice: User) -> None:
    response = alice.get("/v2/apps/?limit=abc")
    assert response.status_code == 400
    assert "limit" in response.json()


def test_timestamps_are_utc_seconds_with_z(alice: User) -> None:
    app = alice.create_app("stamped")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", str(app["created"]))


def test_body_validation_errors_are_400_in_drf_shape_never_422(alice: User) -> None:
    response = alice.post("/v2/apps/", {"id": 12})
    assert response.status_code == 400
    assert list(response.json()) == ["id"]
    missing = alice.post("/v2/keys/", {"id": "laptop"})
    assert missing.status_code == 400
    assert missing.json() == {"public": ["This field is required."]}


def test_invalid_json_is_400(api: Api, alice: User) -> None:
    response = api.client.post(
        "/v2/apps/",
        content=b"{not json",
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "detail" in response.json()


def test_bodies_over_one_mebibyte_are_413(api: Api, alice: User) -> None:
    big = {"values": {"BIG": "x" * (1024 * 1024 + 10)}}
    response = alice.post("/v2/apps/", big)
    assert response.status_code == 413

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(300):
            yield b"x" * 4096

    chunked = api.client.post(
        "/v2/apps/", content=chunks(), headers={**alice.headers, "Content-Type": "application/json"}
    )
    assert chunked.status_code == 413


def test_openapi_schema_is_served_and_promises_400_not_422(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    assert "/v2/apps" in schema["paths"]
    for path in schema["paths"].values():
        for operation in path.values():
            assert "422" not in operation["responses"]


def test_platform_extension_tells_clients_the_addresses(alice: User) -> None:
    facts = alice.get("/v2/platform").json()
    assert facts["builder"].startswith("ssh://git@")
    assert facts["domain"] == "localhost"
    assert facts["runtime"] == "record"
    assert facts["version"]
