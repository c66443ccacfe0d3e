"""The `deis` command itself: dispatch, shortcuts, plug-ins, exit codes, error messages."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from deis import __version__
from deis.cli import main as main_module
from deis.cli.client import Settings, save_settings

from .conftest import Run

DEIS = str(Path(sys.executable).parent / "deis")


def test_version(run_cli: Callable[..., Run]) -> None:
    assert run_cli("version").out == f"{__version__}\n"
    assert run_cli("-v").out == f"{__version__}\n"
    assert '"api": "2.3"' in run_cli("version", "-o", "json").out


def test_shortcuts_listing(run_cli: Callable[..., Run]) -> None:
    out = run_cli("shortcuts").out
    assert "create -> apps:create\n" in out
    assert "sharing:add -> perms:create\n" in out


def test_no_command_prints_usage_and_exits_2(run_cli: Callable[..., Run]) -> None:
    result = run_cli()
    assert result.code == 2
    assert "Usage: deis <command> [<args>...]" in result.out


def test_a_topic_without_default_prints_its_commands(run_cli: Callable[..., Run]) -> None:
    result = run_cli("auth")
    assert result.code == 0
    assert result.out.startswith("Valid commands for auth:\n\nauth:register")


def test_unknown_command_is_a_usage_error(run_cli: Callable[..., Run]) -> None:
    result = run_cli("frobnicate")
    assert result.code == 2
    assert "'frobnicate' is not a deis command" in result.err


def test_usage_errors_exit_2(run_cli: Callable[..., Run]) -> None:
    assert run_cli("apps:create", "--bogus").code == 2
    assert run_cli("config:set").code == 2
    assert run_cli("limits:set", "--cpu", "--memory", "web=1").code == 2
    assert run_cli("healthchecks:set", "alive", "httpGet", "80").code == 2


def test_not_logged_in_exits_1_with_a_hint(run_cli: Callable[..., Run]) -> None:
    result = run_cli("apps")
    assert result.code == 1
    assert (
        result.err == "Error: Not logged in. Use 'deis login' or 'deis register' to get started.\n"
    )


def test_bad_input_fails_before_any_request(run_cli: Callable[..., Run]) -> None:
    result = run_cli("config:set", "lower-case=x", "-a", "app")
    assert result.code == 1
    assert "does not match the pattern 'key=var'" in result.err


def test_unreachable_controller_is_named(run_cli: Callable[..., Run], home: Path) -> None:
    save_settings(Settings("http://127.0.0.1:9", "alice", "t"))
    result = run_cli("apps")
    assert result.code == 1
    assert result.err.startswith("Error: Could not reach the controller at http://127.0.0.1:9: ")
    assert "Traceback" not in result.err


def test_profile_from_the_flag_and_the_environment(
    run_cli: Callable[..., Run], home: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    save_settings(Settings("http://127.0.0.1:9", "prod-user", "t"), "prod")
    save_settings(Settings("http://127.0.0.1:9", "env-user", "t"), "fromenv")
    assert run_cli("whoami", "-c", "prod").out == "You are prod-user at http://127.0.0.1:9\n"
    assert run_cli("-c", "prod", "whoami").out == "You are prod-user at http://127.0.0.1:9\n"
    monkeypatch.setenv("DEIS_PROFILE", "fromenv")
    assert run_cli("whoami").out == "You are env-user at http://127.0.0.1:9\n"
    assert run_cli("whoami", "--config=prod").out == "You are prod-user at http://127.0.0.1:9\n"


def test_logout_removes_only_the_chosen_profile(run_cli: Callable[..., Run], home: Path) -> None:
    save_settings(Settings("http://x", "a", "t"))
    save_settings(Settings("http://x", "b", "t"), "other")
    assert run_cli("logout", "-c", "other").out == "Logged out\n"
    assert (home / ".deis" / "client.json").exists()
    assert not (home / ".deis" / "other.json").exists()


def test_plugins_run_from_path(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    plugin = bin_dir / "deis-hello"
    plugin.write_text('#!/bin/sh\necho "hello $* profile=$DEIS_PROFILE"\nexit 7\n')
    plugin.chmod(plugin.stat().st_mode | stat.S_IXUSR)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
    }
    env.pop("DEIS_PROFILE", None)
    done = subprocess.run(  # noqa: S603
        [DEIS, "hello:world", "a", "-c", "p", "b"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.stdout == "hello world a b profile=p\n"
    assert done.returncode == 7
    done = subprocess.run(  # noqa: S603
        [DEIS, "hello", "x"], env=env, capture_output=True, text=True, check=False
    )
    assert done.stdout == "hello x profile=\n"


def test_installed_command_has_no_traceback_on_errors(tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path)}
    env.pop("DEIS_PROFILE", None)
    done = subprocess.run(  # noqa: S603
        [DEIS, "apps:info", "-a", "x"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert done.stderr.startswith("Error: Not logged in")


def test_a_failing_file_operation_is_an_error_not_a_traceback(
    run_cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse() -> str:
        raise PermissionError(13, "Permission denied", "/somewhere/file")

    monkeypatch.setattr(main_module, "shortcuts_text", refuse)
    result = run_cli("shortcuts")
    assert (result.code, result.err) == (1, "Error: /somewhere/file: Permission denied\n")


def test_a_bug_in_the_client_is_one_line_unless_debugging(
    run_cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> str:
        raise KeyError("results")

    monkeypatch.setattr(main_module, "shortcuts_text", broken)
    result = run_cli("shortcuts")
    assert result.code == 1
    assert result.err == (
        "Error: The deis client failed unexpectedly (KeyError: 'results'). "
        "DEIS_DEBUG=1 shows the traceback.\n"
    )
    monkeypatch.setenv("DEIS_DEBUG", "1")
    with pytest.raises(KeyError):
        run_cli("shortcuts")
