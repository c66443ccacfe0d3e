"""The run route upgraded to a WebSocket (`deis run bash`): who may open one, what a bad
opening gets, and the refusal of a runtime that runs no processes. The terminal itself,
with real containers, is in tests/runtime/test_terminal_e2e.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from deis.runtime.record import NO_PROCESSES
from tests.api.conftest import Api, User

SH = {"command": "sh", "size": [80, 24]}


def refusal(
    api: Api, app: str, opening: object, headers: dict[str, str] | None = None, *, raw: Any = None
) -> tuple[dict[str, Any], int, str]:
    """The error message, the close code and the close reason the server ends with."""
    with api.client.websocket_connect(f"/v2/apps/{app}/run", headers=headers or {}) as ws:
        if raw is not None:
            ws.send_bytes(raw)
        else:
            ws.send_text(json.dumps(opening))
        message = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    return message, closed.value.code, closed.value.reason


@pytest.fixture
def built(alice: User) -> str:
    alice.create_app("tty")
    assert alice.post("/v2/apps/tty/builds/", {"image": "x/y:1"}).status_code == 201
    return "tty"


def test_a_runtime_without_processes_refuses_with_its_reason(
    api: Api, alice: User, built: str
) -> None:
    message, code, reason = refusal(api, built, SH, alice.headers)
    assert message == {"status": 503, "error": {"detail": NO_PROCESSES}}
    assert code == 4503
    assert NO_PROCESSES.startswith(reason) and 0 < len(reason.encode()) <= 123
    # the same words as the run route's
    posted = alice.post(f"/v2/apps/{built}/run", {"command": "sh"})
    assert posted.status_code == 503 and posted.json() == message["error"]


def test_the_same_people_as_the_run_route(api: Api, alice: User, bob: User, built: str) -> None:
    assert refusal(api, built, SH)[:2] == (
        {"status": 401, "error": {"detail": "Authentication credentials were not provided."}},
        4401,
    )
    bad_token = {"Authorization": "token nope"}
    assert refusal(api, built, SH, bad_token)[1] == 4401
    message, code, _ = refusal(api, built, SH, bob.headers)
    assert code == 4404 and message["error"] == bob.post(f"/v2/apps/{built}/run", {"command": "sh"}).json()  # fmt: skip
    assert alice.post(f"/v2/apps/{built}/perms/", {"username": "bob"}).status_code == 201
    assert refusal(api, built, SH, bob.headers)[1] == 4503  # a collaborator gets as far as alice


def test_an_app_without_a_build_has_nothing_to_run(api: Api, alice: User) -> None:
    alice.create_app("empty")
    message, code, _ = refusal(api, "empty", SH, alice.headers)
    assert code == 4409 and "No build" in message["error"]["detail"]


@pytest.mark.parametrize(
    ("opening", "field"),
    [
        ({"size": [80, 24]}, "command"),
        ({"command": "  ", "size": [80, 24]}, "command"),
        ({"command": "x" * 10_001, "size": [80, 24]}, "command"),
        ({"command": "sh"}, "size"),
        ({"command": "sh", "size": [80]}, "size"),
        ({"command": "sh", "size": [0, 24]}, "size"),
        ({"command": "sh", "size": [80, True]}, "size"),
        ({"command": "sh", "size": [80, 24], "term": "x; rm -rf /"}, "term"),
        (["sh"], "detail"),
    ],
)
def test_a_bad_opening_is_refused_with_the_field(
    api: Api, alice: User, built: str, opening: object, field: str
) -> None:
    message, code, _ = refusal(api, built, opening, alice.headers)
    assert code == 4400 and message["status"] == 400
    assert list(message["error"]) == [field]


def test_an_opening_that_is_not_json_text_is_refused(api: Api, alice: User, built: str) -> None:
    assert refusal(api, built, None, alice.headers, raw=b"sh")[1] == 4400
    with api.client.websocket_connect(f"/v2/apps/{built}/run/", headers=alice.headers) as ws:
        ws.send_text("sh")
        assert ws.receive_json()["error"] == {"detail": "A text message must be JSON."}


def test_an_unexpected_failure_is_a_plain_500(
    api: Api, alice: User, built: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("podman: command not found")

    monkeypatch.setattr(api.client.app.state.context.runtime, "terminal", broken)  # type: ignore[attr-defined]
    message, code, _ = refusal(api, built, SH, alice.headers)
    assert message == {"status": 500, "error": {"detail": "Internal server error."}}
    assert code == 4500
