"""auth:register, auth:login, auth:logout, auth:passwd, auth:whoami, auth:cancel, auth:regenerate."""

from __future__ import annotations

import sys
from typing import Any

import click
import httpx

from deis.cli.client import (
    Api,
    Settings,
    delete_settings,
    load_settings,
    normalize_controller,
    save_settings,
)
from deis.cli.context import output_option, session, state
from deis.cli.errors import CLIError
from deis.cli.output import echo, emit, heading, is_tty, pretty_tabs, print_json, warn
from deis.cli.topic import Topic

USER_FIELDS = (
    "username",
    "email",
    "first_name",
    "last_name",
    "is_superuser",
    "is_staff",
    "is_active",
    "date_joined",
    "last_login",
    "id",
)

# --- pure ---------------------------------------------------------------------------------


def format_user(user: dict[str, Any]) -> str:
    values = {f"{key}:": user[key] for key in USER_FIELDS if key in user}
    return heading(str(user.get("username", ""))) + "\n" + pretty_tabs(values, 1)


# --- prompting ------------------------------------------------------------------------------


def ask(label: str) -> str:
    return str(click.prompt(label, prompt_suffix=": ", default="", show_default=False)).strip()


def ask_secret(label: str) -> str:
    """A password: hidden on a terminal; read as a plain line when stdin is piped."""
    if not is_tty(sys.stdin):
        return ask(label)
    return str(
        click.prompt(label, prompt_suffix=": ", hide_input=True, default="", show_default=False)
    )


def ask_new_password(label: str, mismatch: str) -> str:
    first = ask_secret(label)
    if ask_secret(f"{label} (confirm)") != first:
        raise CLIError(mismatch)
    return first


def previous_settings(controller: str) -> Settings | None:
    """The profile in use, when it is for the same controller (its token lets admins register others)."""
    try:
        old = load_settings(state().config)
    except CLIError:
        return None
    return old if old.controller.rstrip("/") == controller else None


def log_in(controller: str, username: str, password: str, ssl_verify: bool) -> None:
    api = Api(Settings(controller=controller, ssl_verify=ssl_verify))
    try:
        data = api.post("/v2/auth/login/", {"username": username, "password": password}) or {}
    finally:
        api.close()
    token = data.get("token") if isinstance(data, dict) else None
    if not token:
        raise CLIError("The controller did not return a token.")
    old = previous_settings(controller)
    limit = old.response_limit if old else Settings(controller).response_limit
    settings = Settings(
        controller=controller,
        username=username,
        token=str(token),
        ssl_verify=ssl_verify,
        response_limit=limit,
    )
    path = save_settings(settings, state().config)
    echo(f"Logged in as {username}")
    echo(f"Configuration file written to {path}")


def check_controller(controller: str, ssl_verify: bool, token: str = "") -> Api:
    api = Api(Settings(controller=controller, ssl_verify=ssl_verify, token=token))
    click.get_current_context().call_on_close(api.close)
    api.check_connection()
    return api


# --- commands --------------------------------------------------------------------------------

BOOL = click.BOOL


@click.command("auth:register", short_help="register a new user")
@click.argument("controller")
@click.option("--username", help="Provide a username for the new account.")
@click.option("--password", help="Provide a password for the new account.")
@click.option("--email", help="Provide an email address.")
@click.option(
    "--login",
    type=BOOL,
    default=True,
    show_default=True,
    help="Log into the new account after registering.",
)
@click.option(
    "--ssl-verify",
    type=BOOL,
    default=True,
    show_default=True,
    help="Verify the controller's TLS certificate.",
)
def register(
    controller: str,
    username: str | None,
    password: str | None,
    email: str | None,
    login: bool,
    ssl_verify: bool,
) -> None:
    """Registers a new user with a controller, then logs in as that user.

    CONTROLLER is the controller's URI, e.g. 'http://deis.example.com'. Values not given
    as options are prompted for.

    \b
    Examples:
      deis auth:register http://deis.example.com --username alice --email alice@example.com
      deis register http://deis.example.com --login=false
    """
    url = normalize_controller(controller)
    old = previous_settings(url)
    api = check_controller(url, ssl_verify, old.token if old else "")
    username = username or ask("username")
    password = password or ask_new_password("password", "Password mismatch, aborting registration.")
    email = email or ask("email")
    try:
        api.post("/v2/auth/register", {"username": username, "password": password, "email": email})
    except CLIError as exc:
        raise CLIError(f"Registration failed: {exc.message}", status=exc.status) from None
    echo(f"Registered {username}")
    if login:
        log_in(url, username, password, ssl_verify)


@click.command("auth:login", short_help="authenticate against a controller")
@click.argument("controller")
@click.option("--username", help="Provide a username for the account.")
@click.option("--password", help="Provide a password for the account.")
@click.option(
    "--ssl-verify",
    type=BOOL,
    default=True,
    show_default=True,
    help="Verify the controller's TLS certificate.",
)
def login(controller: str, username: str | None, password: str | None, ssl_verify: bool) -> None:
    """Logs in by authenticating against a controller; prompts for what is not given.

    The token is written to ~/.deis/client.json (or the profile chosen by -c / $DEIS_PROFILE).

    \b
    Examples:
      deis auth:login http://deis.example.com --username alice
      deis login deis.example.com
    """
    url = normalize_controller(controller)
    check_controller(url, ssl_verify)
    username = username or ask("username")
    password = password or ask_secret("password")
    log_in(url, username, password, ssl_verify)


@click.command("auth:logout", short_help="clear the current user session")
def logout() -> None:
    """Logs out from a controller and clears the user session (removes the profile file).

    \b
    Examples:
      deis auth:logout
      DEIS_PROFILE=staging deis logout
    """
    config = state().config
    revoke_token(config)
    delete_settings(config)
    echo("Logged out")


def revoke_token(config: str | None) -> None:
    """Revoke the profile's token on the controller (`POST /v2/auth/logout`), so that a
    copy of it is of no use. A controller that cannot be reached, does not know the
    token any more, or offers no such route (Deis's) leaves only the local sign-out."""
    try:
        settings = load_settings(config)
    except CLIError:
        return
    if not settings.token or not settings.controller:
        return
    api = Api(settings, timeout=httpx.Timeout(15.0, connect=5.0))
    try:
        api.request("POST", "/v2/auth/logout", body={})
    except CLIError as exc:
        if exc.status is None:
            warn(f"The token could not be revoked on the controller: {exc}")
    finally:
        api.close()


@click.command("auth:passwd", short_help="change the password for the current user")
@click.option("--password", help="The current password for the account.")
@click.option("--new-password", help="The new password for the account.")
@click.option("--username", help="The account's username (another user's: admins only).")
def passwd(password: str | None, new_password: str | None, username: str | None) -> None:
    """Changes the password for the current user; prompts for what is not given.

    \b
    Examples:
      deis auth:passwd
      deis passwd --password old --new-password new
      deis passwd --username bob --new-password new   (admins)
    """
    s = session()
    if password is None and username is None:
        password = ask_secret("current password")
    if new_password is None:
        new_password = ask_new_password("new password", "Password mismatch, not changing.")
    body: dict[str, Any] = {"new_password": new_password}
    if password is not None:
        body["password"] = password
    if username:
        body["username"] = username
    try:
        s.api.post("/v2/auth/passwd", body)
    except CLIError as exc:
        raise CLIError(f"Password change failed: {exc.message}", status=exc.status) from None
    echo("Password change succeeded.")
    if not username or username == s.settings.username:
        refresh_token(s.settings, new_password)


def refresh_token(settings: Settings, password: str) -> None:
    """A controller may revoke tokens when a password changes: log in again, quietly."""
    api = Api(settings.with_changes(token=""))
    try:
        data = api.post("/v2/auth/login/", {"username": settings.username, "password": password})
    except CLIError:
        return
    finally:
        api.close()
    token = data.get("token") if isinstance(data, dict) else None
    if token:
        save_settings(settings.with_changes(token=str(token)), state().config)


@click.command("auth:whoami", short_help="display the current user")
@click.option(
    "--all", "show_all", is_flag=True, help="Fetch a more detailed description about the user."
)
@output_option
def whoami(show_all: bool, output: str) -> None:
    """Displays the currently logged in user.

    \b
    Examples:
      deis auth:whoami
      deis whoami --all
      deis whoami -o json
    """
    s = session()
    if not show_all and output == "text":
        echo(f"You are {s.settings.username} at {s.settings.controller}")
        return
    user = s.api.get("/v2/auth/whoami")
    if output == "json":
        print_json(user)
    else:
        emit(format_user(user))


@click.command("auth:cancel", short_help="remove the current user account")
@click.option("--username", help="The account to cancel (another user's: admins only).")
@click.option("--password", help="Log in again with this password before cancelling.")
@click.option("--yes", is_flag=True, help='Force "yes" when prompted.')
def cancel(username: str | None, password: str | None, yes: bool) -> None:
    """Cancels and removes an account; refused while the account owns apps.

    \b
    Examples:
      deis auth:cancel
      deis auth:cancel --username bob --yes   (admins)
    """
    s = session()
    if password is not None:
        log_in(
            s.settings.controller, username or s.settings.username, password, s.settings.ssl_verify
        )
        s = session()
    target = username or s.settings.username
    if not yes:
        answer = ask(f"cancel account {target} at {s.settings.controller}? (y/N)")
        if answer.lower() != "y":
            click.echo("Account not changed", err=True)
            return
    s.api.delete("/v2/auth/cancel", {"username": username} if username else None)
    if not username or username == s.settings.username:
        delete_settings(s.config)
    echo("Account cancelled")


@click.command("auth:regenerate", short_help="regenerate user tokens")
@click.option("-u", "--username", help="Specify the user to regenerate. Requires admin privileges.")
@click.option(
    "--all",
    "all_users",
    is_flag=True,
    help="Regenerate the token of every user. Requires admin privileges.",
)
def regenerate(username: str | None, all_users: bool) -> None:
    """Regenerates an auth token; by default the current user's, which is saved in the profile.

    \b
    Examples:
      deis auth:regenerate
      deis auth:regenerate -u bob
      deis auth:regenerate --all
    """
    s = session()
    body: dict[str, Any] = {}
    if username:
        body["username"] = username
    if all_users:
        body["all"] = True
    data = s.api.post("/v2/auth/tokens/", body) or {}
    if not username and not all_users:
        token = data.get("token") if isinstance(data, dict) else None
        if not token:
            raise CLIError("The controller did not return a token.")
        save_settings(s.settings.with_changes(token=str(token)), s.config)
    echo("Token Regenerated")
    if all_users:
        echo("Every token was revoked, yours too: log in again with 'deis login'.")


TOPIC = Topic(
    "auth",
    "manage users and their sessions",
    (register, login, logout, passwd, whoami, cancel, regenerate),
)
