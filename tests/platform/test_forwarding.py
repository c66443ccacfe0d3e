"""An extra API process (a worker) answers database reads (and, on PostgreSQL, config
changes: the primary carries out their releases) itself and hands every other request
to the primary over STATE/api.sock: checked through a worker of the test's own, on a
port only it serves, so that every request goes through it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as websocket_connect

from deis.platform.forwarding import PRIMARY_DOWN
from deis.platform.primary import NOT_CARRIED_OUT
from deis.platform.state import StateDir, read_pid
from tests.databases import database_urls, fresh_database

from .conftest import LIGHT, Instance, wait_for

pytestmark = pytest.mark.e2e

MakeInstance = Callable[[], Instance]
PASSWORD = "correct-horse-battery"


def up_with_workers(instance: Instance, database_url: str | None = None) -> int:
    if database_url is not None:
        instance.env["DEIS_DATABASE_URL"] = database_url
    result = instance.deisctl(
        "up", "--api-port", str(instance.api_port), *LIGHT, env={"DEIS_WORKERS": "2"}
    )
    assert result.returncode == 0, result.stderr
    pid = read_pid(StateDir(instance.state_dir))
    assert pid is not None
    return pid


@contextmanager
def own_worker(instance: Instance) -> Iterator[str]:
    """A worker of the platform that serves a port of its own; its URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    command = [
        sys.executable, "-m", "deis.platform.server", "--state-dir", str(instance.state_dir),
        "--worker-of", str(os.getpid()), "--worker-fd", str(sock.fileno()),
    ]  # fmt: skip
    process = subprocess.Popen(  # noqa: S603
        command, pass_fds=(sock.fileno(),), env={**instance.env, "DEIS_WORKERS": "2"},
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    sock.close()
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: answers(f"{url}/v2/"), 30)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def answers(url: str) -> bool:
    try:
        httpx.get(url, trust_env=False, timeout=2)
    except httpx.TransportError:
        return False
    return True


def signed_in(url: str, username: str = "ann") -> httpx.Client:
    body = {"username": username, "password": PASSWORD, "email": f"{username}@example.com"}
    assert httpx.post(f"{url}/v2/auth/register/", json=body, trust_env=False).status_code == 201
    login = httpx.post(f"{url}/v2/auth/login/", json=body, trust_env=False, timeout=30)
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"token {login.json()['token']}"}
    return httpx.Client(base_url=url, headers=headers, trust_env=False, timeout=30)


def test_a_worker_answers_reads_and_hands_the_rest_to_the_primary(
    make_instance: MakeInstance,
) -> None:
    platform = make_instance()
    primary = up_with_workers(platform)
    with own_worker(platform) as url, signed_in(url) as client:
        created = client.post("/v2/apps/", json={"id": "shared"})  # handed on
        assert created.status_code == 201
        assert created.headers.get_list("deis_api_version") == ["2.3"]  # once, not twice
        assert (
            client.post("/v2/apps/shared/config/", json={"values": {"A": "1"}}).status_code == 201
        )
        logs = client.get("/v2/apps/shared/logs")  # the primary's log files
        assert logs.status_code == 200 and "ann added A" in logs.text
        forged = {"app_id": "shared", "summary": "forged"}  # only for the worker itself
        assert client.post("/internal/follow-up", json=forged).status_code == 404
        direct = httpx.post(f"{platform.url}/internal/follow-up", json=forged, trust_env=False)
        assert direct.status_code == 404
        assert "forged" not in client.get("/v2/apps/shared/logs").text
        chunked = client.post(  # a body of unknown length goes on in chunks
            "/v2/apps/shared/config/",
            content=iter([b'{"values": ', b'{"C": "3"}}']),
            headers={"Content-Type": "application/json"},
        )
        assert chunked.status_code == 201 and chunked.json()["values"]["C"] == "3"
        too_big = client.post(  # refused before the body is read
            "/v2/apps/shared/config/", content=b"x" * (3 * 1024 * 1024)
        )
        assert too_big.status_code == 413
        head = client.head("/healthz")
        assert (
            head.status_code == httpx.head(f"{platform.url}/healthz", trust_env=False).status_code
        )
        with client.stream("GET", "/v2/apps/shared/logs?follow=true&log_lines=1") as followed:
            lines = followed.iter_lines()  # streamed as the primary writes them
            assert "ann added C" in next(lines)
            assert client.post("/v2/apps/shared/config/", json={"values": {"B": "2"}}).is_success
            assert "ann added B" in next(lines)

        os.kill(primary, signal.SIGSTOP)
        try:
            listed = client.get("/v2/apps/?limit=100", timeout=10)  # answered by the worker
            assert listed.status_code == 200 and listed.json()["count"] == 1
            assert listed.headers.get_list("deis_api_version") == ["2.3"]
            assert client.get("/v2/apps/shared/releases/", timeout=10).json()["count"] == 4
            with pytest.raises(httpx.ReadTimeout):  # a write waits for the primary
                client.post("/v2/apps/", json={"id": "waits"}, timeout=2)
        finally:
            os.kill(primary, signal.SIGCONT)
        assert wait_for(lambda: client.get("/v2/apps/waits/").status_code == 200, 30)


def test_the_primary_sees_the_address_of_the_workers_client(make_instance: MakeInstance) -> None:
    """Failed logins are limited per address: the primary counts them for the address the
    worker's client came from (127.0.0.2 here), not for the worker."""
    platform = make_instance()
    up_with_workers(platform)
    with own_worker(platform) as url:
        elsewhere = httpx.Client(
            transport=httpx.HTTPTransport(local_address="127.0.0.2"), trust_env=False, timeout=30
        )
        wrong = {"password": "not-the-password"}
        for i in range(10):
            failed = elsewhere.post(f"{url}/v2/auth/login/", json={**wrong, "username": f"u{i}"})
            assert failed.status_code == 401
        limited = elsewhere.post(f"{url}/v2/auth/login/", json={**wrong, "username": "u10"})
        assert limited.status_code == 429
        here = httpx.post(
            f"{url}/v2/auth/login/", json={**wrong, "username": "u11"}, trust_env=False, timeout=30
        )
        assert here.status_code == 401


def test_a_websocket_goes_through_to_the_primary(make_instance: MakeInstance) -> None:
    """`deis run` on a terminal: the primary's refusal (this runtime gives no terminal,
    the app has no build) reaches the client with its message and close code."""
    platform = make_instance()
    up_with_workers(platform)
    with own_worker(platform) as url, signed_in(url) as client:
        assert client.post("/v2/apps/", json={"id": "shell"}).status_code == 201
        token = client.headers["Authorization"]
        ws_url = url.replace("http://", "ws://") + "/v2/apps/shell/run"
        with websocket_connect(ws_url, additional_headers={"Authorization": token}) as ws:
            ws.send(json.dumps({"command": "bash", "size": [80, 24]}))
            refusal = json.loads(ws.recv(timeout=30))
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=30)
        assert 400 <= refusal["status"] < 500 and refusal["error"]["detail"]
        assert ws.close_code == 4000 + refusal["status"]


def test_a_worker_answers_503_while_the_primary_is_gone(make_instance: MakeInstance) -> None:
    platform = make_instance()
    up_with_workers(platform)
    with own_worker(platform) as url, signed_in(url) as client:
        assert client.post("/v2/apps/", json={"id": "kept"}).status_code == 201
        with client.stream("GET", "/v2/apps/kept/logs?follow=true&log_lines=1") as followed:
            lines = followed.iter_lines()
            assert "ann created kept" in next(lines)
            result = platform.deisctl("down")
            assert result.returncode == 0, result.stderr
            with pytest.raises(httpx.RemoteProtocolError):  # cut short, not left hanging
                list(lines)
        refused = client.post("/v2/apps/", json={"id": "other"})
        assert refused.status_code == 503 and refused.json() == {"detail": PRIMARY_DOWN}
        assert client.get("/v2/apps/").json()["count"] == 1  # the database still answers


@pytest.mark.parametrize("kind", database_urls())
def test_a_config_change_through_a_worker(
    make_instance: MakeInstance, kind: str, tmp_path: Path
) -> None:
    """On PostgreSQL the worker saves the release itself and the primary carries it out;
    on SQLite (one writer at a time) the worker hands the change to the primary."""
    made_by_worker = kind == "postgresql"
    platform = make_instance()
    with fresh_database(kind, tmp_path) as database_url:
        primary = up_with_workers(platform, database_url)
        with own_worker(platform) as url, signed_in(url) as client:
            assert client.post("/v2/apps/", json={"id": "conf"}).status_code == 201
            set_a = client.post("/v2/apps/conf/config/", json={"values": {"A": "1"}})
            assert set_a.status_code == 201 and set_a.json()["values"] == {"A": "1"}
            assert "ann added A" in client.get("/v2/apps/conf/logs").text  # by the primary

            def releases() -> int:
                count: int = client.get("/v2/apps/conf/releases/", timeout=10).json()["count"]
                return count

            os.kill(primary, signal.SIGSTOP)
            try:
                with pytest.raises(httpx.ReadTimeout):  # the primary's part waits
                    client.post("/v2/apps/conf/config/", json={"values": {"W": "1"}}, timeout=2)
                assert releases() == (3 if made_by_worker else 2)
            finally:
                os.kill(primary, signal.SIGCONT)
            if made_by_worker:  # its follow-up was waiting for the primary
                assert wait_for(lambda: "ann added W" in client.get("/v2/apps/conf/logs").text, 30)

            assert platform.deisctl("down").returncode == 0
            before = releases()
            refused = client.post("/v2/apps/conf/config/", json={"values": {"B": "2"}})
            assert refused.status_code == 503
            if made_by_worker:  # saved, not carried out, and the client is told so
                assert refused.json()["detail"].startswith(NOT_CARRIED_OUT)
                assert releases() == before + 1
            else:
                assert refused.json() == {"detail": PRIMARY_DOWN}
                assert releases() == before
