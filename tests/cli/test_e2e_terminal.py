"""What the client does on a terminal, against a running controller, driven in a real pty
(pexpect) and, for comparison, through pipes: colour and paging only on a terminal,
NO_COLOR honoured everywhere (the red `Error:` too), a spinner while scale, rollback and
destroy wait."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from .conftest import Deis, unique
from .e2e import in_a_terminal

pytestmark = pytest.mark.e2e

COLOUR = {"NO_COLOR": None}  # the fixtures set NO_COLOR=1; these tests take it away
NO_COLOUR = {"NO_COLOR": "1"}
STYLE = re.compile(r"\x1b\[[0-9;]*m")  # SGR: colour, bold
SPINNER = "[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]"  # rich's "dots"


@pytest.fixture
def pulled(user: Deis) -> str:
    """An app with a build and a second release, so it can scale and roll back."""
    name = unique("app")
    user("create", name, "--no-remote")
    user("pull", "registry.example.com/go:1.0", "--procfile", "web: ./server", "-a", name)
    user("config:set", "ROLLED=1", "-a", name)
    return name


def test_colour_on_a_terminal_only(user: Deis, app: str) -> None:
    code, shown = in_a_terminal(user, "apps", env=COLOUR)
    assert code == 0 and "\x1b[1m=== Apps\x1b[0m" in shown
    code, shown = in_a_terminal(user, "info", "-a", unique("nope"), env=COLOUR)
    assert code == 1 and "\x1b[31m\x1b[1mError: \x1b[0m" in shown
    piped = user("apps", env=COLOUR)
    assert piped.out.startswith("=== Apps\n") and "\x1b" not in piped.out + piped.err
    failed = user.fails("info", "-a", unique("nope"), env=COLOUR)
    assert failed.err.startswith("Error: ") and "\x1b" not in failed.err


@pytest.mark.parametrize(
    "argv",
    [["apps"], ["info", "-a", "{nope}"], ["config:set", "1BAD=x", "-a", "{app}"]],
    ids=["heading", "server error", "client error"],
)
def test_no_color_is_honoured_on_a_terminal(user: Deis, app: str, argv: list[str]) -> None:
    args = [arg.format(app=app, nope=unique("nope")) for arg in argv]
    _, shown = in_a_terminal(user, *args, env=NO_COLOUR)
    assert not STYLE.search(shown), repr(shown)
    assert "=== Apps" in shown or "Error: " in shown


def waits(app: str) -> dict[str, tuple[list[str], str]]:
    return {
        "scale": (["scale", "web=2", "-a", app], "Scaling processes..."),
        "rollback": (["rollback", "-a", app], "Rolling back one release..."),
        "destroy": (["destroy", "-a", app, "--confirm", app], f"Destroying {app}..."),
    }


@pytest.mark.parametrize("wait", ["scale", "rollback", "destroy"])
def test_a_spinner_while_waiting_on_a_terminal_only(
    user: Deis, pulled: str, wait: str, request: pytest.FixtureRequest
) -> None:
    argv, message = waits(pulled)[wait]
    code, shown = in_a_terminal(user, *argv, env=COLOUR)
    assert code == 0, shown
    assert re.search(f"{SPINNER} {re.escape(message)}", STYLE.sub("", shown)), repr(shown)
    assert "\x1b[?25l" in shown and "\x1b[?25h" in shown  # the cursor hidden, then back
    _, quiet = in_a_terminal(user, *waits(pulled)["scale"][0], env=NO_COLOUR)
    assert re.search(f"{SPINNER} ", quiet) and not STYLE.search(quiet)  # spins, uncoloured
    other = request.getfixturevalue("app")
    user("pull", "registry.example.com/go:1.0", "--procfile", "web: ./server", "-a", other)
    user("config:set", "ROLLED=1", "-a", other)
    argv, message = waits(other)[wait]
    piped = user(*argv, env=COLOUR)
    assert not re.search(SPINNER, piped.out + piped.err) and "\x1b" not in piped.out + piped.err


def pager(tmp_path: Path) -> str:
    script = tmp_path / "pager"
    script.write_text('#!/bin/sh\necho "PAGED BY THE PAGER"\ncat\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_long_output_is_paged_on_a_terminal_only(user: Deis, app: str, tmp_path: Path) -> None:
    env: dict[str, str | None] = {"PAGER": pager(tmp_path)}
    user("config:push", "-a", app, input="".join(f"KEY{i:02}=value{i}\n" for i in range(40)))
    code, shown = in_a_terminal(user, "config", "-a", app, env=env)
    assert code == 0 and "PAGED BY THE PAGER" in shown and "KEY39" in shown
    _, short = in_a_terminal(user, "apps", env=env)  # shorter than the window
    assert "PAGED BY THE PAGER" not in short and "=== Apps" in short
    piped = user("config", "-a", app, env=env)
    assert "PAGED BY THE PAGER" not in piped.out and "KEY39      value39" in piped.out
