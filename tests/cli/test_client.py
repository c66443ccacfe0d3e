"""The profile file and the HTTP client: paths, permissions, errors, headers."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx
import pytest

from deis.cli import client
from deis.cli.client import Api, Settings
from deis.cli.errors import CLIError


def test_profile_path_default_env_and_flag(home: Path) -> None:
    assert client.profile_path(None, {}) == home / ".deis" / "client.json"
    assert client.profile_path(None, {"DEIS_PROFILE": "staging"}) == home / ".deis" / "staging.json"
    assert client.profile_path("prod", {"DEIS_PROFILE": "staging"}) == home / ".deis" / "prod.json"
    assert client.profile_path("/tmp/x/mine.json", {}) == Path("/tmp/x/mine.json")
    assert client.profile_path("other.json", {}) == Path("other.json")


def test_save_makes_a_private_directory_and_file(home: Path) -> None:
    settings = Settings("http://deis.example.com", "alice", "t0ken", True, 100)
    path = client.save_settings(settings)
    assert path == home / ".deis" / "client.json"
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {
        "username": "alice",
        "ssl_verify": True,
        "controller": "http://deis.example.com",
        "token": "t0ken",
        "response_limit": 100,
    }
    assert client.load_settings() == settings


def test_save_tightens_an_existing_directory(home: Path) -> None:
    (home / ".deis").mkdir(mode=0o755)
    client.save_settings(Settings("http://x"))
    assert stat.S_IMODE((home / ".deis").stat().st_mode) == 0o700


def test_the_go_clients_file_loads(home: Path) -> None:
    (home / ".deis").mkdir()
    (home / ".deis" / "client.json").write_text(
        '{"username":"bob","ssl_verify":false,"controller":"https://d.example.com","token":"abc","response_limit":0}'
    )
    settings = client.load_settings()
    assert settings.username == "bob"
    assert settings.ssl_verify is False
    assert settings.limit == client.DEFAULT_RESPONSE_LIMIT
    assert settings.host == "d.example.com"


def test_odd_limits_fall_back_to_the_default() -> None:
    for limit in ("many", None, -5, "20"):
        settings = client.settings_from_json({"controller": "http://x", "response_limit": limit})
        assert settings.limit == (20 if limit == "20" else client.DEFAULT_RESPONSE_LIMIT)


def test_missing_profile_means_not_logged_in(home: Path) -> None:
    with pytest.raises(CLIError, match="Not logged in"):
        client.load_settings("nobody")


def test_broken_profile_says_so(home: Path) -> None:
    (home / ".deis").mkdir()
    (home / ".deis" / "client.json").write_text("{not json")
    with pytest.raises(CLIError, match="not valid JSON"):
        client.load_settings()


def test_delete_is_quiet_when_absent(home: Path) -> None:
    client.delete_settings()
    client.save_settings(Settings("http://x"))
    client.delete_settings()
    assert not (home / ".deis" / "client.json").exists()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("deis.example.com", "http://deis.example.com"),
        ("http://deis.example.com/", "http://deis.example.com"),
        ("https://d.example.com:8443", "https://d.example.com:8443"),
    ],
)
def test_normalize_controller(given: str, expected: str) -> None:
    assert client.normalize_controller(given) == expected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"detail": "Not found."}', "Not found."),
        (
            '{"id": ["Application with this id already exists."]}',
            "id: Application with this id already exists.",
        ),
        ('{"non_field_errors": ["Unable to log in."]}', "Unable to log in."),
        ('{"a": ["x", "y"], "b": "z"}', "a: x\na: y\nb: z"),
        ("plain words", "plain words"),
        ("", "502 Bad Gateway"),
        ("<html><body>proxy</body></html>", "502 Bad Gateway"),
    ],
)
def test_error_messages_are_the_servers_words(body: str, message: str) -> None:
    assert client.error_message(502, body, "Bad Gateway") == message


def make_api(handler, **settings) -> Api:  # type: ignore[no-untyped-def]
    base = {"controller": "http://deis.example.com", "username": "alice", "token": "abc"}
    return Api(Settings(**{**base, **settings}), transport=httpx.MockTransport(handler))


def test_requests_carry_the_token_and_a_user_agent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json={"count": 1, "results": [{"id": "a"}]}, headers={"DEIS_API_VERSION": "2.3"}
        )

    api = make_api(handler)
    results, total = api.get_list("/v2/apps", 5)
    assert results == [{"id": "a"}] and total == 1
    assert seen[0].headers["Authorization"] == "token abc"
    assert seen[0].headers["User-Agent"].startswith("Deis Client v")
    assert seen[0].url.params["limit"] == "5"


def test_server_errors_become_cli_errors_with_the_status() -> None:
    api = make_api(lambda r: httpx.Response(503, json={"detail": "The runtime is not ready."}))
    with pytest.raises(CLIError) as caught:
        api.get("/v2/apps/x/pods")
    assert caught.value.status == 503
    assert caught.value.message == "The runtime is not ready."


def test_an_api_version_mismatch_warns_once(capsys) -> None:  # type: ignore[no-untyped-def]
    api = make_api(lambda r: httpx.Response(200, json={}, headers={"DEIS_API_VERSION": "2.0"}))
    api.get("/v2/apps")
    api.get("/v2/apps")
    err = capsys.readouterr().err
    assert err.count("WARNING: Client and server API versions do not match") == 1
    assert "Server version: 2.0" in err


def test_an_unreachable_controller_is_named() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused")

    with pytest.raises(
        CLIError,
        match=r"Could not reach the controller at http://deis.example.com: Connection refused",
    ):
        make_api(handler).get("/v2/apps")


def test_no_content_is_none() -> None:
    assert make_api(lambda r: httpx.Response(204)).delete("/v2/apps/x") is None


def test_a_redirect_to_https_is_reported_not_followed() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        location = f"https://deis.example.com:8443{request.url.raw_path.decode()}"
        return httpx.Response(308, headers={"Location": location})

    api = make_api(handler)
    with pytest.raises(CLIError) as caught:
        api.post("/v2/apps/", {"id": "web"})
    message = str(caught.value)
    assert "redirects to https://deis.example.com:8443/v2/apps/ (308)" in message
    assert "deis login https://deis.example.com:8443" in message
    assert [r.method for r in seen] == ["POST"]  # not replayed anywhere
    with pytest.raises(CLIError, match="redirects to"):
        list(api.stream_lines("/v2/apps/web/logs", {"follow": "true"}))
