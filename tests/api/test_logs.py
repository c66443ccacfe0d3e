"""`deis logs`: platform events about an app as lines, tail and follow (extension)."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import httpx

from tests.api.conftest import live_server


def _signed_in(client: httpx.Client) -> dict[str, str]:
    user = {"username": "alice", "password": "pw", "email": "a@example.com"}
    client.post("/v2/auth/register/", json=user)
    token = client.post("/v2/auth/login/", json=user).json()["token"]
    return {"Authorization": f"token {token}"}


def test_logs_hold_platform_events_and_follow_streams_new_ones(
    database_url: str, tmp_path: Path
) -> None:
    with live_server(tmp_path, database_url=database_url, logs="file") as url:
        with httpx.Client(base_url=url, timeout=10) as client:
            headers = _signed_in(client)
            client.post("/v2/apps/", json={"id": "loud"}, headers=headers)
            client.post("/v2/apps/loud/config/", json={"values": {"A": "1"}}, headers=headers)
            text = client.get("/v2/apps/loud/logs?log_lines=10", headers=headers)
            assert text.headers["content-type"].startswith("text/plain")
            lines = text.text.splitlines()
            assert lines[-1].endswith("deis[controller]: alice added A")
            assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ deis\[controller\]: ", lines[0])
            assert (
                client.get("/v2/apps/loud/logs?log_lines=1", headers=headers).text.count("\n") == 1
            )

            later = threading.Timer(
                0.3,
                lambda: httpx.post(
                    f"{url}/v2/apps/loud/config/", json={"values": {"B": "2"}}, headers=headers
                ),
            )
            later.start()
            received = ""
            with client.stream(
                "GET", "/v2/apps/loud/logs?log_lines=1&follow=true", headers=headers
            ) as stream:
                for chunk in stream.iter_text():
                    received += chunk
                    if "added B" in received:
                        break
            later.join()
            assert "alice added A" in received and "alice added B" in received


def test_logs_are_private_to_who_may_see_the_app(database_url: str, tmp_path: Path) -> None:
    with live_server(tmp_path, database_url=database_url, logs="file") as url:
        with httpx.Client(base_url=url, timeout=10) as client:
            headers = _signed_in(client)
            client.post("/v2/apps/", json={"id": "secret"}, headers=headers)
            bob = {"username": "bob", "password": "pw", "email": "b@example.com"}
            client.post("/v2/auth/register/", json=bob)
            bob_token = client.post("/v2/auth/login/", json=bob).json()["token"]
            response = client.get(
                "/v2/apps/secret/logs", headers={"Authorization": f"token {bob_token}"}
            )
            assert response.status_code == 404
            follow = client.get(
                "/v2/apps/secret/logs?follow=true", headers={"Authorization": f"token {bob_token}"}
            )
            assert follow.status_code == 404


def test_destroy_removes_the_logs(database_url: str, tmp_path: Path) -> None:
    with live_server(tmp_path, database_url=database_url, logs="file") as url:
        with httpx.Client(base_url=url, timeout=10) as client:
            headers = _signed_in(client)
            client.post("/v2/apps/", json={"id": "brief"}, headers=headers)
            assert client.delete("/v2/apps/brief/", headers=headers).status_code == 204
    assert not list((tmp_path / "state" / "logs" / "apps").glob("brief.log*"))


def test_filters_by_type_or_replica_are_checked_and_leave_out_platform_events(
    database_url: str, tmp_path: Path
) -> None:
    with live_server(tmp_path, database_url=database_url, logs="file") as url:
        with httpx.Client(base_url=url, timeout=10) as client:
            headers = _signed_in(client)
            client.post("/v2/apps/", json={"id": "quiet"}, headers=headers)
            by_type = client.get("/v2/apps/quiet/logs?type=web", headers=headers)
            assert by_type.status_code == 200 and by_type.text == ""  # no deis[...] lines
            bad = client.get(
                "/v2/apps/quiet/logs?replica=other-web-1234567890-abcde", headers=headers
            )
            assert bad.status_code == 400 and "replica" in bad.json()
            bad_type = client.get("/v2/apps/quiet/logs?type=Web!&follow=true", headers=headers)
            assert bad_type.status_code == 400 and "type" in bad_type.json()
