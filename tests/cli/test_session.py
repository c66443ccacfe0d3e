"""The pieces of a session that talk to a (fake) controller: the builder URL, log following."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from deis.cli import apps
from deis.cli.client import Api, Settings
from deis.cli.context import Session
from deis.cli.errors import CLIError

PLATFORM = {"builder": "ssh://git@10.0.0.5:2223", "domain": "apps.io"}


def session_with(handler, controller: str = "http://deis.example.com:8000") -> Session:  # type: ignore[no-untyped-def]
    settings = Settings(controller, "alice", "t0ken")
    return Session(settings, Api(settings, transport=httpx.MockTransport(handler)), None)


def test_the_builder_comes_from_the_platform_extension() -> None:
    s = session_with(
        lambda r: httpx.Response(
            200, json={"builder": "ssh://git@10.0.0.5:2223", "domain": "apps.io"}
        )
    )
    assert s.repository_url("myapp") == "ssh://git@10.0.0.5:2223/myapp.git"


def test_without_the_extension_the_deis_convention_applies() -> None:
    s = session_with(lambda r: httpx.Response(404, json={"detail": "Not found."}))
    assert s.repository_url("myapp") == "ssh://git@deis-builder.example.com:2222/myapp.git"


def test_network_failures_are_not_mistaken_for_a_missing_extension() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with pytest.raises(CLIError, match="Could not reach the controller"):
        session_with(handler).builder()


def test_app_url_from_the_first_domain() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/platform":
            return httpx.Response(200, json={"domain": "apps.example.com"})
        return httpx.Response(200, json={"count": 1, "results": [{"domain": "myapp"}]})

    assert apps.app_url(session_with(handler), "myapp") == "myapp.apps.example.com"


def test_the_default_domains_url_is_the_controllers_with_the_routers_port() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/apps/myapp":
            return httpx.Response(200, json={"id": "myapp", "url": "myapp.apps.io:8080"})
        if request.url.path == "/v2/platform":
            return httpx.Response(200, json=PLATFORM)
        return httpx.Response(200, json={"count": 1, "results": [{"domain": "myapp"}]})

    assert apps.app_url(session_with(handler), "myapp") == "myapp.apps.io:8080"


def test_logs_follow_streams_lines(capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/platform":
            return httpx.Response(200, json=PLATFORM)
        seen.append(request)
        return httpx.Response(
            200, content=b"one\ntwo\nthree\n", headers={"content-type": "text/plain"}
        )

    apps.follow_logs(session_with(handler), "myapp", {"log_lines": 5})
    assert capsys.readouterr().out == "one\ntwo\nthree\n"
    assert seen[0].url.params["follow"] == "true"
    assert seen[0].url.params["log_lines"] == "5"


@pytest.mark.parametrize(
    "platform",
    [
        {"status_code": 200, "json": PLATFORM},
        {"status_code": 404, "json": {"detail": "Not found."}},
    ],
    ids=["streaming refused", "a Deis v2 controller"],
)
def test_logs_follow_polls_where_streaming_is_not_offered(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, platform: dict[str, Any]
) -> None:
    answers: Iterator[str] = iter(["a\nb\n", "a\nb\nc\n", "b\nc\nd\n"])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/platform":
            return httpx.Response(**platform)
        if request.url.params.get("follow"):
            return httpx.Response(400, json={"follow": ["Not supported."]})
        try:
            return httpx.Response(200, text=next(answers))
        except StopIteration:
            raise KeyboardInterrupt from None

    monkeypatch.setattr(apps.time, "sleep", lambda seconds: None)
    apps.follow_logs(session_with(handler), "myapp", {})
    assert capsys.readouterr().out == "a\nb\nc\nd\n"


def test_logs_follow_shows_a_503(tmp_path: Path) -> None:
    s = session_with(lambda r: httpx.Response(503, json={"detail": "No logs here."}))
    with pytest.raises(CLIError, match="No logs here.") as caught:
        apps.follow_logs(s, "myapp", {})
    assert caught.value.status == 503
