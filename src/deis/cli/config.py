"""config:list, config:set, config:unset, config:pull, config:push."""

from __future__ import annotations

import base64
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import click

from deis.cli.context import Session, app_option, output_option, session
from deis.cli.errors import CLIError
from deis.cli.output import (
    echo,
    heading,
    is_tty,
    page,
    pretty_tabs,
    print_json,
    value_text,
    waiting,
)
from deis.cli.topic import Topic
from deis.cli.waking import wake_if_asleep, wake_option

CONFIG_VAR = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=([\s\S]*)$")
SSH_PRIVATE_KEY = re.compile(r"^-----BEGIN (DSA|RSA|EC|OPENSSH) PRIVATE KEY-----")
HEALTHCHECK_NOTICE = (
    "Hey there! We've noticed that you're using 'deis config:set HEALTHCHECK_URL'\n"
    "to set up healthchecks. This functionality has been deprecated. In the future, please use\n"
    "'deis healthchecks' to set up application health checks. Thanks!"
)

# --- pure ---------------------------------------------------------------------------------


def parse_config(pairs: Iterable[str]) -> dict[str, str]:
    """`KEY=value` strings → {KEY: value}; lines starting with `#` and blank lines are skipped."""
    values: dict[str, str] = {}
    for pair in pairs:
        if not pair.strip() or pair.lstrip().startswith("#"):
            continue
        match = CONFIG_VAR.match(pair)
        if match is None:
            raise CLIError(f"'{pair}' does not match the pattern 'key=var', ex: MODE=test")
        values[match.group(1)] = match.group(2)
    return values


def env_file_lines(contents: str) -> list[str]:
    """The non-empty lines of an env file, CRLF endings stripped."""
    return [line.rstrip("\r") for line in contents.split("\n") if line.rstrip("\r")]


def format_config(app: str, values: Mapping[str, Any], style: str = "text") -> str:
    """The three forms of config:list: a table (text), `--oneline` and `--diff` (.env-like)."""
    keys = sorted(values)
    if style == "oneline":
        return " ".join(f"{key}={value_text(values[key])}" for key in keys) + ("\n" if keys else "")
    if style == "diff":
        return env_text(values)
    return heading(f"{app} Config") + "\n" + pretty_tabs(values, 6)


def env_text(values: Mapping[str, Any]) -> str:
    return "".join(f"{key}={value_text(values[key])}\n" for key in sorted(values))


def merge_pulled(
    local: dict[str, str], remote: Mapping[str, Any], overwrite: Any
) -> dict[str, str]:
    """config:pull -i: keep local values unless `overwrite(key, local, remote)` says yes."""
    merged = dict(local)
    for key, value in remote.items():
        text = value_text(value)
        if key not in merged or (merged[key] != text and overwrite(key, merged[key], text)):
            merged[key] = text
    return merged


def parse_ssh_key(value: str, read_file: Any = None) -> str:
    """SSH_KEY may be a private key, its base64, or a path to it; the controller wants base64."""
    if SSH_PRIVATE_KEY.match(value):
        return base64.b64encode(value.encode()).decode()
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        decoded = ""
    if SSH_PRIVATE_KEY.match(decoded):
        return value
    path = Path(value).expanduser()
    if path.is_file():
        contents = (read_file or Path.read_text)(path)
        if SSH_PRIVATE_KEY.match(contents):
            return base64.b64encode(contents.encode()).decode()
    raise CLIError(f"Could not parse SSH private key:\n {value}")


# --- helpers that call the API ------------------------------------------------------------


def show_config(s: Session, app: str, values: Mapping[str, Any] | None = None) -> None:
    if values is None:
        values = (s.api.get(f"/v2/apps/{app}/config") or {}).get("values") or {}
    page(format_config(app, values))


def set_values(
    s: Session, app: str, values: Mapping[str, Any], message: str
) -> Mapping[str, Any] | None:
    with waiting(message):
        config = s.api.post(f"/v2/apps/{app}/config", {"values": dict(values)})
    echo(f"{message} done\n")
    return config.get("values") if isinstance(config, dict) else None


# --- commands --------------------------------------------------------------------------------


@click.command("config:list", short_help="list environment variables for an app")
@click.option("--oneline", is_flag=True, help="Print output on one line.")
@click.option("--diff", is_flag=True, help="Print KEY=value lines, to compare against .env files.")
@app_option
@output_option
def list_config(oneline: bool, diff: bool, app: str | None, output: str) -> None:
    """Lists environment variables for an application.

    \b
    Examples:
      deis config:list -a myapp
      deis config --oneline
      deis config:list --diff | diff - .env
      deis config -o json
    """
    s = session()
    name = s.app(app)
    values = (s.api.get(f"/v2/apps/{name}/config") or {}).get("values") or {}
    if output == "json":
        print_json(values)
        return
    style = "oneline" if oneline else "diff" if diff else "text"
    text = format_config(name, values, style)
    if style == "text":
        page(text)
    else:
        click.echo(text, nl=False)


@click.command("config:set", short_help="set environment variables for an app")
@click.argument("pairs", metavar="KEY=VALUE...", nargs=-1, required=True)
@app_option
@wake_option
def set_config(pairs: tuple[str, ...], app: str | None, wake: bool) -> None:
    """Sets environment variables for an application; makes a new release.

    \b
    Examples:
      deis config:set DEBUG=false -a myapp
      deis config:set DATABASE_URL=postgres://db/app SECRET_KEY=s3cr3t
      deis config:set SSH_KEY=~/.ssh/deploy_key
    """
    values: dict[str, Any] = parse_config(pairs)
    if "SSH_KEY" in values:
        values["SSH_KEY"] = parse_ssh_key(values["SSH_KEY"])
    if any("HEALTHCHECK_" in key for key in values):
        echo(HEALTHCHECK_NOTICE)
    s = session()
    name = s.app(app)
    show_config(s, name, set_values(s, name, values, "Creating config..."))
    if wake:
        wake_if_asleep(s, name)


@click.command("config:unset", short_help="unset environment variables for an app")
@click.argument("keys", metavar="KEY...", nargs=-1, required=True)
@app_option
@wake_option
def unset_config(keys: tuple[str, ...], app: str | None, wake: bool) -> None:
    """Unsets environment variables for an application; makes a new release.

    \b
    Examples:
      deis config:unset DEBUG -a myapp
      deis config:unset KEY1 KEY2
    """
    s = session()
    name = s.app(app)
    show_config(s, name, set_values(s, name, dict.fromkeys(keys), "Removing config..."))
    if wake:
        wake_if_asleep(s, name)


@click.command("config:pull", short_help="extract environment variables to .env")
@app_option
@click.option("-i", "--interactive", is_flag=True, help="Prompt for each value to be overwritten.")
@click.option(
    "-o", "--overwrite", is_flag=True, help="Allow the pull to overwrite keys in an existing file."
)
@click.option(
    "-p", "--path", type=click.Path(dir_okay=False), help="Write to this file (default: .env)."
)
def pull_config(app: str | None, interactive: bool, overwrite: bool, path: str | None) -> None:
    """Extracts all environment variables from an application for local use.

    Without --path, the variables go to stdout when it is piped ('deis config:pull > file'),
    else to a file named .env, which foreman reads to set up the local environment.

    \b
    Examples:
      deis config:pull -a myapp
      deis config:pull -o
      deis config:pull -p staging.env
      deis config:pull > .env
    """
    s = session()
    name = s.app(app)
    values = (s.api.get(f"/v2/apps/{name}/config") or {}).get("values") or {}
    if path is None and not is_tty():
        click.echo(env_text(values), nl=False)
        return
    target = Path(path or ".env")
    if interactive and target.exists():
        local = parse_config(env_file_lines(read_text(target)))
        write_text(target, env_text(merge_pulled(local, values, confirm_overwrite)))
        return
    if target.exists() and not overwrite:
        raise CLIError(f"{target} already exists, pass -o to overwrite")
    write_text(target, env_text(values))


def read_text(target: Path) -> str:
    try:
        return target.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CLIError(f"{target} does not exist") from None
    except OSError as exc:
        raise CLIError(f"Could not read {target}: {exc.strerror}") from None


def write_text(target: Path, text: str) -> None:
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CLIError(f"Could not write {target}: {exc.strerror}") from None


def confirm_overwrite(key: str, local: str, remote: str) -> bool:
    answer = click.prompt(
        f"{key}: overwrite {local} with {remote}? (y/N)", default="", show_default=False
    )
    return str(answer).lower() == "y"


@click.command("config:push", short_help="set environment variables from .env")
@app_option
@click.option(
    "-p",
    "--path",
    type=click.Path(dir_okay=False),
    help="A path leading to an environment file [default: .env].",
)
@wake_option
def push_config(app: str | None, path: str | None, wake: bool) -> None:
    """Sets environment variables for an application from an env file (as foreman reads).

    The file is read from --path, else from stdin when it is piped
    ('deis config:push < .env'), else from .env.

    \b
    Examples:
      deis config:push -a myapp
      deis config:push -p production.env
      deis config:push < .env
    """
    contents = read_env_source(path)
    values: dict[str, Any] = parse_config(env_file_lines(contents))
    if not values:
        raise CLIError(f"No config vars found in {path or '.env'}")
    if "SSH_KEY" in values:
        values["SSH_KEY"] = parse_ssh_key(values["SSH_KEY"])
    s = session()
    name = s.app(app)
    show_config(s, name, set_values(s, name, values, "Creating config..."))
    if wake:
        wake_if_asleep(s, name)


def read_env_source(path: str | None) -> str:
    if path is None and not is_tty(sys.stdin):
        piped = sys.stdin.read()
        if piped.strip():
            return piped
    return read_text(Path(path or ".env"))


TOPIC = Topic(
    "config",
    "manage environment variables that define app config",
    (list_config, set_config, unset_config, pull_config, push_config),
    default="config:list",
)
