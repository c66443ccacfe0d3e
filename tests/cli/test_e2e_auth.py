"""auth:* against a running controller: register, login, profiles, passwd, tokens, cancel."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable

import pytest

from .conftest import Deis, Platform, free_port, unique
from .e2e import profile

pytestmark = pytest.mark.e2e


def test_register_logs_in_and_writes_a_private_profile(
    platform: Platform, new_deis: Callable[..., Deis]
) -> None:
    deis = new_deis()
    name = unique("reg")
    result = deis(
        "register",
        platform.url,
        "--username",
        name,
        "--password",
        "pw-1234",
        "--email",
        f"{name}@x.io",
    )
    assert result.out.splitlines() == [
        f"Registered {name}",
        f"Logged in as {name}",
        f"Configuration file written to {deis.profile_file}",
    ]
    data = profile(deis)
    assert set(data) == {"username", "ssl_verify", "controller", "token", "response_limit"}
    assert data["username"] == name
    assert data["controller"] == platform.url
    assert data["ssl_verify"] is True
    assert stat.S_IMODE(deis.profile_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(deis.profile_file.parent.stat().st_mode) == 0o700
    assert not (deis.home / ".deis" / "client.json").exists()
    assert deis("whoami").out == f"You are {name} at {platform.url}\n"


def test_register_without_login(platform: Platform, new_deis: Callable[..., Deis]) -> None:
    deis = new_deis()
    name = unique("nologin")
    result = deis(
        "auth:register",
        platform.url,
        "--username",
        name,
        "--password",
        "pw",
        "--email",
        "a@b.io",
        "--login=false",
    )
    assert result.out == f"Registered {name}\n"
    assert not deis.profile_file.exists()
    deis.fails("whoami")


def test_register_twice_shows_the_servers_message(platform: Platform, user: Deis) -> None:
    result = user.fails(
        "register",
        platform.url,
        "--username",
        user.username,
        "--password",
        "x",
        "--email",
        "a@b.io",
    )
    assert "Registration failed: username: A user with that username already exists." in result.err


def test_something_that_is_not_a_controller_is_refused(
    platform: Platform, new_deis: Callable[..., Deis]
) -> None:
    result = new_deis().fails(
        "login", f"{platform.url}/not-here", "--username", "x", "--password", "y"
    )
    assert "does not appear to be a valid Deis controller" in result.err


def test_an_unreachable_controller_is_named(new_deis: Callable[..., Deis]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = new_deis().fails("login", url, "--username", "x", "--password", "y")
    assert result.err.startswith(f"Error: Could not reach the controller at {url}: ")


def test_login_prompts_for_what_is_missing(
    platform: Platform, user: Deis, new_deis: Callable[..., Deis]
) -> None:
    other = new_deis()
    result = other("login", platform.url, input=f"{user.username}\npass-{user.username}\n")
    assert f"Logged in as {user.username}" in result.out
    assert "Traceback" not in result.err


def test_wrong_password_is_refused_with_the_servers_message(platform: Platform, user: Deis) -> None:
    result = user.fails("login", platform.url, "--username", user.username, "--password", "wrong")
    assert result.err.startswith("Error: ")
    assert profile(user)["username"] == user.username  # the old session is untouched


def test_whoami_all_and_json(user: Deis) -> None:
    assert f"=== {user.username}" in user("whoami", "--all").out
    data = json.loads(user("auth:whoami", "-o", "json").out)
    assert data["username"] == user.username
    assert data["is_superuser"] is False


def test_profiles_from_flag_and_environment(platform: Platform, user: Deis) -> None:
    other = unique("second")
    user(
        "register",
        platform.url,
        "--username",
        other,
        "--password",
        "pw",
        "--email",
        "s@x.io",
        "-c",
        "second",
    )
    assert user("whoami", "-c", "second").out == f"You are {other} at {platform.url}\n"
    assert user("whoami").out == f"You are {user.username} at {platform.url}\n"
    assert user("whoami", env={"DEIS_PROFILE": "second"}).out.startswith(f"You are {other}")
    assert (user.home / ".deis" / "second.json").exists()


def test_passwd_keeps_the_session_working(platform: Platform, user: Deis) -> None:
    old = f"pass-{user.username}"
    assert (
        user("passwd", "--password", old, "--new-password", "n3w-pass").out
        == "Password change succeeded.\n"
    )
    user("apps")  # still logged in
    result = user.fails("passwd", "--password", "not-it", "--new-password", "x")
    assert result.err.startswith("Error: Password change failed: ")
    user.fails("login", platform.url, "--username", user.username, "--password", old)
    user("login", platform.url, "--username", user.username, "--password", "n3w-pass")


def test_regenerate_replaces_the_saved_token(user: Deis) -> None:
    before = profile(user)["token"]
    assert user("auth:regenerate").out == "Token Regenerated\n"
    assert profile(user)["token"] != before
    user("apps")


def test_regenerate_for_others_needs_an_admin(user: Deis, admin: Deis) -> None:
    result = user.fails("auth:regenerate", "-u", admin.username)
    assert result.err.startswith("Error: ")
    assert admin("auth:regenerate", "-u", user.username).out == "Token Regenerated\n"
    user.fails("apps")  # its token was replaced


def test_logout(user: Deis) -> None:
    assert user("logout").out == "Logged out\n"
    assert not user.profile_file.exists()
    result = user.fails("apps")
    assert (
        result.err == "Error: Not logged in. Use 'deis login' or 'deis register' to get started.\n"
    )


def test_cancel_is_refused_while_apps_are_owned(platform: Platform, user: Deis, app: str) -> None:
    result = user.fails("auth:cancel", "--yes")
    assert result.err.startswith("Error: ")
    user("destroy", "-a", app, "--confirm", app)
    assert user("auth:cancel", input="n\n").err == "Account not changed\n"
    assert user("auth:cancel", "--yes").out == "Account cancelled\n"
    assert not user.profile_file.exists()
    user.fails(
        "login", platform.url, "--username", user.username, "--password", f"pass-{user.username}"
    )


def test_without_a_profile_name_the_go_clients_file_is_used(
    platform: Platform, user: Deis, new_deis: Callable[..., Deis]
) -> None:
    deis = new_deis()
    default: dict[str, str | None] = {"DEIS_PROFILE": None}
    deis("login", platform.url, "--username", user.username, "--password", f"pass-{user.username}",
         env=default)  # fmt: skip
    path = deis.home / ".deis" / "client.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert deis("whoami", env=default).out == f"You are {user.username} at {platform.url}\n"
    deis.fails("whoami")  # the fixtures' DEIS_PROFILE names another, absent, profile
