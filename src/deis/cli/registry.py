"""registry:list, registry:set, registry:unset: credentials of a private image registry."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import click

from deis.cli.context import Session, app_option, output_option, session
from deis.cli.errors import CLIError
from deis.cli.output import echo, emit, heading, pretty_tabs, print_json, waiting
from deis.cli.topic import Topic

REGISTRY_KEYS = ("username", "password")


def parse_registry(pairs: Iterable[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or not value:
            raise CLIError(
                f"{pair} is invalid. Must be in format key=value\nExamples: username=bob password=s3cur3pw1"
            )
        if key not in REGISTRY_KEYS:
            raise CLIError(f'{key} is invalid. Valid keys are "username" or "password"')
        values[key] = value
    return values


def format_registry(app: str, registry: Mapping[str, Any]) -> str:
    return heading(f"{app} Registry") + "\n" + pretty_tabs(registry, 5)


def show(s: Session, app: str, config: Any = None) -> None:
    if not isinstance(config, dict) or "registry" not in config:
        config = s.api.get(f"/v2/apps/{app}/config") or {}
    emit(format_registry(app, config.get("registry") or {}))


def apply(s: Session, app: str, values: Mapping[str, Any]) -> Any:
    with waiting("Applying registry information..."):
        config = s.api.post(f"/v2/apps/{app}/config", {"registry": dict(values)})
    echo("Applying registry information... done\n")
    return config


@click.command("registry:list", short_help="list registry info for an app")
@app_option
@output_option
def list_registry(app: str | None, output: str) -> None:
    """Lists private registry information for an application.

    \b
    Examples:
      deis registry:list -a myapp
      deis registry -o json
    """
    s = session()
    name = s.app(app)
    config = s.api.get(f"/v2/apps/{name}/config") or {}
    if output == "json":
        print_json(config.get("registry") or {})
    else:
        show(s, name, config)


@click.command("registry:set", short_help="set registry info for an app")
@click.argument("pairs", metavar="KEY=VALUE...", nargs=-1, required=True)
@app_option
def set_registry(pairs: tuple[str, ...], app: str | None) -> None:
    """Sets the credentials of the private registry an app's image is pulled from.

    Valid keys are 'username' and 'password'.

    \b
    Examples:
      deis registry:set username=bob password=s3cur3pw1 -a myapp
    """
    values = parse_registry(pairs)
    s = session()
    name = s.app(app)
    show(s, name, apply(s, name, values))


@click.command("registry:unset", short_help="unset registry info for an app")
@click.argument("keys", metavar="KEY...", nargs=-1, required=True)
@app_option
def unset_registry(keys: tuple[str, ...], app: str | None) -> None:
    """Unsets private registry information for an application.

    \b
    Examples:
      deis registry:unset username password -a myapp
    """
    s = session()
    name = s.app(app)
    show(s, name, apply(s, name, dict.fromkeys(keys)))


TOPIC = Topic(
    "registry",
    "manage private registry information for your application",
    (list_registry, set_registry, unset_registry),
    default="registry:list",
)
