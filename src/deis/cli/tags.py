"""tags:list, tags:set, tags:unset: node selectors for an app's processes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import click

from deis.cli.context import Session, app_option, output_option, session
from deis.cli.errors import CLIError
from deis.cli.output import echo, emit, heading, pretty_tabs, print_json, waiting
from deis.cli.topic import Topic


def parse_tags(pairs: Iterable[str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for pair in pairs:
        parts = pair.split("=")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise CLIError(
                f"{pair} is invalid, Must be in format key=value\nExamples: rack=1 evironment=production"
            )
        tags[parts[0]] = parts[1]
    return tags


def format_tags(app: str, tags: Mapping[str, Any]) -> str:
    return heading(f"{app} Tags") + "\n" + pretty_tabs(tags, 5)


def show(s: Session, app: str, config: Any = None) -> None:
    if not isinstance(config, dict) or "tags" not in config:
        config = s.api.get(f"/v2/apps/{app}/config") or {}
    emit(format_tags(app, config.get("tags") or {}))


def apply(s: Session, app: str, tags: Mapping[str, Any]) -> Any:
    with waiting("Applying tags..."):
        config = s.api.post(f"/v2/apps/{app}/config", {"tags": dict(tags)})
    echo("Applying tags... done\n")
    return config


@click.command("tags:list", short_help="list tags for an app")
@app_option
@output_option
def list_tags(app: str | None, output: str) -> None:
    """Lists tags (node selectors) for an application.

    \b
    Examples:
      deis tags:list -a myapp
      deis tags -o json
    """
    s = session()
    name = s.app(app)
    config = s.api.get(f"/v2/apps/{name}/config") or {}
    if output == "json":
        print_json(config.get("tags") or {})
    else:
        show(s, name, config)


@click.command("tags:set", short_help="set tags for an app")
@click.argument("pairs", metavar="KEY=VALUE...", nargs=-1, required=True)
@app_option
def set_tags(pairs: tuple[str, ...], app: str | None) -> None:
    """Sets tags for an application: its processes run only on nodes with these labels.

    \b
    Examples:
      deis tags:set environment=production -a myapp
      deis tags:set rack=1 disk=ssd
    """
    tags = parse_tags(pairs)
    s = session()
    name = s.app(app)
    show(s, name, apply(s, name, tags))


@click.command("tags:unset", short_help="unset tags for an app")
@click.argument("keys", metavar="KEY...", nargs=-1, required=True)
@app_option
def unset_tags(keys: tuple[str, ...], app: str | None) -> None:
    """Unsets tags for an application.

    \b
    Examples:
      deis tags:unset environment -a myapp
    """
    s = session()
    name = s.app(app)
    show(s, name, apply(s, name, dict.fromkeys(keys)))


TOPIC = Topic(
    "tags",
    "manage tags for application containers",
    (list_tags, set_tags, unset_tags),
    default="tags:list",
)
