"""ps, run, scale, logs and version against a controller whose runtime runs no processes:
the commands that need processes show the controller's 503 message and exit 1; logs holds
what the controller itself wrote about the app, and `logs -f` follows it."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from collections.abc import Callable
from typing import IO

import httpx
import pytest

from .conftest import Deis, Platform
from .e2e import api_get, in_a_terminal, log_in_through, profile
from .proxy import Proxy

pytestmark = pytest.mark.e2e


@pytest.fixture
def built_app(user: Deis, app: str) -> str:
    user("pull", "registry.example.com/go:1.0", "--procfile", "web: ./server", "-a", app)
    return app


@pytest.mark.parametrize(
    "argv",
    [
        ["ps", "-a", "{app}"],
        ["ps:list", "-a", "{app}"],
        ["ps", "-o", "json", "-a", "{app}"],
        ["ps:restart", "-a", "{app}"],
        ["ps:restart", "web", "-a", "{app}"],
        ["run", "-a", "{app}", "ls"],
        ["apps:run", "-a", "{app}", "--", "ls", "-la"],
    ],
    ids=lambda argv: " ".join(argv),
)
def test_process_commands_show_the_503_message(user: Deis, built_app: str, argv: list[str]) -> None:
    result = user.fails(*(arg.format(app=built_app) for arg in argv))
    lines = result.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: ") and len(lines[0]) > len("Error: ")


def test_the_503_message_is_the_controllers(platform: Platform, user: Deis, built_app: str) -> None:
    response = httpx.get(
        f"{platform.url}/v2/apps/{built_app}/pods",
        headers={"Authorization": f"token {profile(user)['token']}"},
        trust_env=False,
        timeout=10,
    )
    assert response.status_code == 503
    assert user.fails("ps", "-a", built_app).err == f"Error: {response.json()['detail']}\n"


def test_logs_show_the_controllers_lines(user: Deis, built_app: str) -> None:
    lines = user("logs", "-a", built_app).out.splitlines()
    assert any(f"created {built_app}" in line for line in lines)
    assert any("deployed registry.example.com/go:1.0" in line for line in lines)
    assert user("apps:logs", "-n", "1", "-a", built_app).out.splitlines() == lines[-1:]


def read_until(stream: IO[str], needle: str, seconds: float) -> list[str]:
    """Lines of a follower's stdout, until one holds `needle` (or the time is up)."""
    found: list[str] = []
    done = threading.Event()

    def reader() -> None:
        for line in stream:
            found.append(line)
            if needle in line:
                done.set()
                return

    threading.Thread(target=reader, daemon=True).start()
    done.wait(seconds)
    return found


def follow_until_interrupted(follower_client: Deis, writer: Deis, app: str) -> None:
    """`deis logs -f` prints the app's lines, then a line written while it follows, until
    Ctrl-C, which ends it with exit 0 and no traceback."""
    follower = subprocess.Popen(  # noqa: S603
        [follower_client.binary, "logs", "-f", "-a", app],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=follower_client.env,
        cwd=follower_client.cwd,
    )
    try:
        assert follower.stdout is not None
        assert any(
            f"created {app}" in line for line in read_until(follower.stdout, f"created {app}", 30)
        )
        writer("config:set", "FOLLOWED=1", "-a", app)
        assert any("FOLLOWED" in line for line in read_until(follower.stdout, "FOLLOWED", 30))
        assert follower.poll() is None  # still following
        follower.send_signal(signal.SIGINT)
        assert follower.wait(timeout=30) == 0
        assert follower.stderr is not None
        assert "Traceback" not in follower.stderr.read()
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()


def test_logs_follow_prints_new_lines_until_interrupted(user: Deis, app: str) -> None:
    follow_until_interrupted(user, user, app)


def test_logs_follow_uses_the_streaming_extension(
    user: Deis, app: str, new_deis: Callable[..., Deis], proxy: Callable[..., Proxy]
) -> None:
    watched = proxy()
    follow_until_interrupted(log_in_through(new_deis(), watched.url, user), user, app)
    asked = watched.paths(f"/v2/apps/{app}/logs")
    assert len(asked) == 1 and "follow=true" in asked[0], asked  # one request, streamed


def test_logs_follow_polls_a_controller_without_the_extension(
    user: Deis, app: str, new_deis: Callable[..., Deis], proxy: Callable[..., Proxy]
) -> None:
    deis_v2 = proxy("/v2/platform")  # as a Deis v2 controller, which ignores ?follow
    follow_until_interrupted(log_in_through(new_deis(), deis_v2.url, user), user, app)
    asked = deis_v2.paths(f"/v2/apps/{app}/logs")
    assert len(asked) >= 2 and not any("follow" in path for path in asked), asked


def test_scale_is_accepted_but_processes_cannot_be_listed(
    platform: Platform, user: Deis, built_app: str
) -> None:
    result = user("scale", "web=2", "-a", built_app)
    assert result.out.startswith("Scaling processes... but first, coffee!\ndone in ")
    assert "The processes cannot be listed: " in result.err
    assert api_get(platform, user, f"/v2/apps/{built_app}")["structure"] == {"web": 2}
    drink = user("ps:scale", "web=1", "-a", built_app, env={"DEIS_DRINK_OF_CHOICE": "tea"})
    assert drink.out.startswith("Scaling processes... but first, tea!\n")
    assert (
        "does not match the pattern 'type=num'"
        in user.fails("scale", "web=lots", "-a", built_app).err
    )


def test_info_still_works_without_processes(user: Deis, built_app: str) -> None:
    out = user("info", "-a", built_app).out
    assert f"=== {built_app} Processes\n(not available: " in out


def test_version_all(user: Deis) -> None:
    out = user("version", "--all").out
    assert "Workflow CLI API Version:        2.3\n" in out
    assert "Workflow Controller API Version: 2.3\n" in out
    assert user("version", "-a").out == out  # the Go client's short option
    assert json.loads(user("version", "--all", "-o", "json").out)["controller_api"] == "2.3"


def test_run_in_a_terminal_falls_back_to_posting_where_no_terminal_is_offered(
    user: Deis, built_app: str
) -> None:
    code, output = in_a_terminal(user, "run", "-a", built_app, "ls")
    posted = user.fails("run", "-a", built_app, "ls")  # no terminal: the command is posted
    message = posted.err.removeprefix("Error: ").strip()
    assert code == 1 and "Running 'ls'..." in output and message in output
    assert "Traceback" not in output


def test_run_dash_i_says_why_it_gets_no_terminal(user: Deis, built_app: str) -> None:
    code, output = in_a_terminal(user, "run", "-i", "-a", built_app, "sh")
    message = user.fails("run", "-a", built_app, "sh").err.removeprefix("Error: ").strip()
    assert code == 1 and message in output  # the runtime's reason, as the controller gave it
    assert user.fails("run", "-i", "-a", built_app, "sh").err == (
        "Error: A run on a terminal needs one: stdin is not a terminal.\n"
    )


def test_run_in_a_terminal_with_a_bad_token_says_so(user: Deis, built_app: str) -> None:
    profile = json.loads(user.profile_file.read_text())
    user.profile_file.write_text(json.dumps({**profile, "token": "not-a-token"}))
    code, output = in_a_terminal(user, "run", "-a", built_app, "sh")
    assert code == 1 and "Invalid token." in output and "Traceback" not in output
