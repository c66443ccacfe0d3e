"""`deis run` on a terminal, end to end: real podman containers behind the real API
served by uvicorn, over a real WebSocket (and the `deis` client in a real pty)."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from deis.api.app import create_app
from deis.logs.unavailable import UnavailableLogs
from deis.router.recording import RecordingRouter
from deis.runtime import naming, spec
from deis.services.context import Context
from deis.store.sqlalchemy_store import SqlStore
from tests.databases import fresh_database

from .conftest import wait_for

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent


@dataclass
class Server:
    url: str
    runtime: Any
    tokens: dict[str, str]
    app: str
    home: Path

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + f"/v2/apps/{self.app}/run"

    def runs(self) -> list[str]:
        """The one-off run containers of the app (running or not)."""
        found = self.runtime.podman.ps(
            {spec.LABEL_INSTANCE: self.runtime.instance_id, spec.LABEL_APP: self.app}
        )
        return [c.name for c in found if c.labels.get(spec.LABEL_TYPE) == naming.RUN_TYPE]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(runtime: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The API over SQLite with a podman runtime of its own (its own instance and state:
    a second runtime on the session's instance would fight its supervisor over the same
    containers), served by uvicorn on a free port."""
    from deis.runtime.podman import PodmanRuntime, purge

    from .conftest import WEB, build_image_tarball

    tmp = tmp_path_factory.mktemp("tty")
    instance = f"{runtime.instance_id}-tty"
    state = tmp / "state"
    tty_runtime = PodmanRuntime(
        state,
        instance,
        run_stack_image=runtime.test_image,
        run_timeout=120,
        run_idle_timeout=60,
        grace_seconds=1,
        supervise_interval=0.5,
        shared_image_store=None,
    )
    tarball = tmp / "busybox.tar"
    build_image_tarball(tarball)
    tty_runtime.podman.import_image(
        tarball, runtime.test_image, [f"CMD {json.dumps(['/bin/sh', '-c', WEB])}", "WORKDIR /"]
    )
    tty_runtime.start()
    with contextlib.ExitStack() as stack:
        stack.callback(purge, state, instance)
        stack.callback(tty_runtime.stop)
        url = stack.enter_context(fresh_database("sqlite", tmp))
        store = SqlStore(url)
        stack.callback(store.close)
        context = Context(
            store=store,
            runtime=tty_runtime,
            logs=UnavailableLogs(),
            router=RecordingRouter(),
            password_hasher=PasswordHasher(time_cost=1, memory_cost=1024),
        )
        api = create_app(context, builder_key="test-builder-key", platform={"runtime": "podman"})
        port = free_port()
        config = uvicorn.Config(api, host="127.0.0.1", port=port, log_level="warning")
        uv = uvicorn.Server(config)
        thread = threading.Thread(target=uv.run, daemon=True)
        thread.start()
        wait_for(lambda: uv.started, 30, "the API to start")

        def stop() -> None:
            uv.should_exit = True
            thread.join(timeout=30)

        stack.callback(stop)
        base = f"http://127.0.0.1:{port}"
        tokens = {name: register(base, name) for name in ("admin", "alice", "bob")}
        app = f"tty{secrets.token_hex(3)}"
        owner = {"Authorization": f"token {tokens['alice']}"}
        assert httpx.post(f"{base}/v2/apps/", json={"id": app}, headers=owner).status_code == 201
        stack.callback(tty_runtime.remove, app)
        # An image of the platform's own store: only an administrator may deploy it to
        # an app it was not built for (issue 17).
        admin = {"Authorization": f"token {tokens['admin']}"}
        pulled = httpx.post(
            f"{base}/v2/apps/{app}/builds/",
            json={"image": runtime.test_image},
            headers=admin,
            timeout=120,
        )
        assert pulled.status_code == 201, pulled.text
        home = tmp / "home"
        home.mkdir()
        yield Server(base, tty_runtime, tokens, app, home)


def register(base: str, name: str) -> str:
    body = {"username": name, "password": "s3cret-pw", "email": f"{name}@example.com"}
    assert httpx.post(f"{base}/v2/auth/register/", json=body).status_code == 201
    login = httpx.post(f"{base}/v2/auth/login/", json=body)
    return str(login.json()["token"])


@contextlib.contextmanager
def open_session(
    server: Server, command: str, *, user: str = "alice", size: tuple[int, int] = (80, 24)
) -> Iterator[ClientConnection]:
    headers = {"Authorization": f"token {server.tokens[user]}"}
    with connect(server.ws_url, additional_headers=headers, open_timeout=30) as ws:
        ws.send(json.dumps({"command": command, "size": list(size)}))
        yield ws


class Transcript:
    """What the server sent: the terminal's bytes and its closing JSON message."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.output = b""
        self.final: dict[str, Any] | None = None

    def until(self, needle: bytes, timeout: float = 60) -> bytes:
        deadline = time.monotonic() + timeout
        while needle not in self.output:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {needle!r} within {timeout}s; got {self.output!r}"
            if not self.receive(remaining):
                raise AssertionError(f"closed before {needle!r}; got {self.output!r}")
        return self.output

    def receive(self, timeout: float) -> bool:
        try:
            message = self.ws.recv(timeout=timeout)
        except TimeoutError:
            return True
        except ConnectionClosed:
            return False
        if isinstance(message, bytes):
            self.output += message
        else:
            self.final = json.loads(message)
        return True

    def end(self, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.receive(deadline - time.monotonic()):
            pass
        assert self.final is not None, f"no final message; got {self.output!r}"
        return self.final


def test_a_shell_runs_and_ends_with_the_exit_code_and_its_container_is_removed(
    server: Server,
) -> None:
    with open_session(server, "sh") as ws:
        t = Transcript(ws)
        t.until(b"# ")
        ws.send(b"echo $WORKFLOW_RELEASE-$((40 + 2)); exit 3\r")
        t.until(b"v2-42")
        assert t.end() == {"exit_code": 3}
        assert ws.close_code == 1000
    assert server.runs() == []


def test_a_resize_reaches_the_terminal(server: Server) -> None:
    with open_session(server, "sh", size=(100, 30)) as ws:
        t = Transcript(ws)
        t.until(b"# ")
        ws.send(b"stty size\r")
        t.until(b"30 100")
        ws.send(json.dumps({"resize": [120, 40]}))
        deadline = time.monotonic() + 30
        while b"40 120" not in t.output:  # podman resizes on its own time: ask again
            assert time.monotonic() < deadline, t.output
            ws.send(b"stty size\r")
            t.receive(1)
        ws.send(b"exit\r")
        assert t.end() == {"exit_code": 0}


def test_a_client_that_goes_away_leaves_no_container(server: Server) -> None:
    with open_session(server, "sh") as ws:
        t = Transcript(ws)
        t.until(b"# ")
        ws.send(b"sleep 300\r")
        ws.send(b"typed ahead, never read " * 10_000)  # fills the terminal's input
        ws.send(json.dumps({"resize": [100, 30]}))
        assert len(server.runs()) == 1
        ws.socket.shutdown(socket.SHUT_RDWR)  # gone, without a closing handshake
        ws.socket.close()
        wait_for(lambda: server.runs() == [], 30, "the run's container to be removed")


def test_the_idle_limit_and_the_time_limit_stop_the_command(server: Server) -> None:
    runtime = server.runtime
    runtime.run_idle_timeout = 2
    try:
        with open_session(server, "sleep 300") as ws:
            t = Transcript(ws)
            assert t.end() == {"exit_code": 124}
            assert b"(stopped: no input or output for 2 seconds)" in t.output
    finally:
        runtime.run_idle_timeout = 60
    runtime.run_timeout = 3
    try:
        with open_session(server, "while true; do echo tick; sleep 0.5; done") as ws:
            t = Transcript(ws)
            assert t.end() == {"exit_code": 124}
            assert b"(stopped after 3 seconds)" in t.output
    finally:
        runtime.run_timeout = 120
    assert server.runs() == []


def refusal(server: Server, headers: dict[str, str], opening: object) -> tuple[dict[str, Any], int]:
    with connect(server.ws_url, additional_headers=headers, open_timeout=30) as ws:
        with contextlib.suppress(ConnectionClosed):  # a refusal may come before the opening
            ws.send(json.dumps(opening))
        message = json.loads(ws.recv(timeout=30))
        with contextlib.suppress(ConnectionClosed):
            ws.recv(timeout=30)
        assert ws.close_code is not None
        return message, ws.close_code


def test_only_who_may_run_commands_gets_a_terminal(server: Server) -> None:
    sh = {"command": "sh", "size": [80, 24]}
    stranger = {"Authorization": f"token {server.tokens['bob']}"}
    message, code = refusal(server, stranger, sh)
    assert (message["status"], code) == (404, 4404)
    assert "detail" in message["error"]
    message, code = refusal(server, {}, sh)
    assert (message["status"], code) == (401, 4401)
    owner = {"Authorization": f"token {server.tokens['alice']}"}
    message, code = refusal(server, owner, {"command": "sh", "size": [0, 24]})
    assert (message["status"], code) == (400, 4400) and "size" in message["error"]
    assert server.runs() == []


def test_a_collaborator_may_run_on_a_terminal(server: Server) -> None:
    owner = {"Authorization": f"token {server.tokens['alice']}"}
    added = httpx.post(f"{server.url}/v2/apps/{server.app}/perms/", json={"username": "bob"}, headers=owner)  # fmt: skip
    assert added.status_code == 201
    try:
        with open_session(server, "echo I am $DEIS_APP", user="bob") as ws:
            t = Transcript(ws)
            assert t.end() == {"exit_code": 0}
            assert f"I am {server.app}".encode() in t.output
    finally:
        httpx.delete(f"{server.url}/v2/apps/{server.app}/perms/bob", headers=owner)


# --- the deis client in a real pty ---------------------------------------------------------


def deis_env(server: Server) -> dict[str, str]:
    profile = server.home / ".deis" / "client.json"
    profile.parent.mkdir(mode=0o700, exist_ok=True)
    profile.write_text(
        json.dumps(
            {
                "username": "alice",
                "ssl_verify": True,
                "controller": server.url,
                "token": server.tokens["alice"],
                "response_limit": 100,
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEIS_")}
    env.update(HOME=str(server.home), TERM="xterm", PATH=f"{BIN}:{env.get('PATH', '')}")
    return env


def test_deis_run_in_a_terminal_is_a_shell_in_the_app(server: Server) -> None:
    pexpect = pytest.importorskip("pexpect")
    if shutil.which("stty") is None:
        pytest.skip("needs stty")
    script = f"stty -g; {BIN}/deis run -a {server.app} sh; echo code=$?; stty -g"
    child = pexpect.spawn(
        "/bin/sh", ["-c", script], env=deis_env(server), dimensions=(24, 80), timeout=60
    )
    try:
        child.expect(r"([0-9a-f:]{20,})\r\n")
        before = child.match.group(1)
        child.expect("# ")
        child.sendline("stty size")
        child.expect("24 80")
        child.setwinsize(33, 99)  # the kernel sends deis SIGWINCH
        deadline = time.monotonic() + 30
        while True:
            child.sendline("stty size")
            try:
                child.expect("33 99", timeout=1)
                break
            except pexpect.TIMEOUT:
                assert time.monotonic() < deadline, "the resize did not arrive"
        child.sendline("echo $((6 * 7)); exit 5")
        child.expect("42")
        child.expect("code=5")
        child.expect(r"([0-9a-f:]{20,})\r\n")
        assert child.match.group(1) == before  # the terminal is as it was
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert server.runs() == []


def test_deis_run_without_a_terminal_posts_the_command(server: Server) -> None:
    import subprocess

    done = subprocess.run(  # noqa: S603
        [str(BIN / "deis"), "run", "-a", server.app, "echo out; exit 4"],
        env=deis_env(server),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 4
    assert done.stdout == "Running 'echo out; exit 4'...\n" and done.stderr == "out\n"


def test_a_restarted_platform_removes_the_runs_no_one_awaits(server: Server) -> None:
    from deis.domain.terminal import Opening
    from deis.runtime.podman import netns

    runtime = server.runtime
    desired = runtime.desired(server.app)
    terminal = runtime.terminal(desired, Opening("sleep 300", 80, 24))
    try:
        names = wait_for(server.runs, 60, "the run's container")
        namespace = netns.NETNS_DIR / naming.netns_name(runtime.instance_id, names[0])
        assert namespace.exists()
        runtime.adopt()  # what start() does first
        assert server.runs() == [] and not namespace.exists()
    finally:
        terminal.close()


def test_a_slug_runs_on_a_terminal_with_its_profile_and_term(
    runtime: Any, make_desired: Any, app_name: str, tmp_path: Path
) -> None:
    import io
    import tarfile

    from deis.domain.terminal import Opening

    slug = tmp_path / "slug.tgz"
    with tarfile.open(slug, "w:gz") as archive:
        text = b"export FROM_PROFILE=yes\n"
        info = tarfile.TarInfo("app/.profile.d/greet.sh")
        info.size = len(text)
        archive.addfile(info, io.BytesIO(text))
    desired = make_desired(app_name, 3, kind="buildpack", image=str(slug), procfile={})
    opening = Opening("pwd; echo $FROM_PROFILE $TERM; exit 7", 80, 24, "xterm-256color")
    terminal = runtime.terminal(desired, opening)
    output = b""
    try:
        deadline = time.monotonic() + 60
        while (chunk := terminal.read(1.0)) != b"":
            assert time.monotonic() < deadline, output
            output += chunk or b""
        assert terminal.wait() == 7
    finally:
        terminal.close()
    assert output.split() == [b"/app", b"yes", b"xterm-256color"]
