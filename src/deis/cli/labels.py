"""labels:list, labels:set, labels:unset (the app settings' `label`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import click

from deis.cli.context import app_option, output_option, session
from deis.cli.errors import CLIError
from deis.cli.output import echo, emit, heading, pretty_tabs, print_json, waiting
from deis.cli.topic import Topic


def parse_labels(pairs: Iterable[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for pair in pairs:
        parts = pair.split("=")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise CLIError(
                f"{pair} is invalid, Must be in format key=value\n"
                "Examples: git_repo=https://github.com/deis/workflow team=frontend"
            )
        labels[parts[0]] = parts[1]
    return labels


def format_labels(app: str, labels: Mapping[str, Any]) -> str:
    if not labels:
        return heading(f"{app} Label") + "\nNo labels found.\n"
    return (
        heading(f"{app} Label")
        + "\n"
        + pretty_tabs({f"{key}:": value for key, value in labels.items()}, 6)
    )


@click.command("labels:list", short_help="list application's labels")
@app_option
@output_option
def list_labels(app: str | None, output: str) -> None:
    """Prints a list of labels of the application.

    \b
    Examples:
      deis labels:list -a myapp
      deis labels -o json
    """
    s = session()
    name = s.app(app)
    labels = (s.api.get(f"/v2/apps/{name}/settings") or {}).get("label") or {}
    if output == "json":
        print_json(labels)
    else:
        emit(format_labels(name, labels))


@click.command("labels:set", short_help="add new application's label")
@click.argument("pairs", metavar="KEY=VALUE...", nargs=-1, required=True)
@app_option
def set_labels(pairs: tuple[str, ...], app: str | None) -> None:
    """Adds labels to an application (shown by apps:info).

    \b
    Examples:
      deis labels:set team=frontend -a myapp
      deis labels:set git_repo=https://github.com/deis/workflow team=frontend
    """
    labels = parse_labels(pairs)
    s = session()
    name = s.app(app)
    with waiting(f"Applying labels on {name}..."):
        s.api.post(f"/v2/apps/{name}/settings", {"label": labels})
    echo(f"Applying labels on {name}... done")


@click.command("labels:unset", short_help="remove application's label")
@click.argument("keys", metavar="KEY...", nargs=-1, required=True)
@app_option
def unset_labels(keys: tuple[str, ...], app: str | None) -> None:
    """Removes labels from an application.

    \b
    Examples:
      deis labels:unset team -a myapp
    """
    s = session()
    name = s.app(app)
    with waiting(f"Removing labels on {name}..."):
        s.api.post(f"/v2/apps/{name}/settings", {"label": dict.fromkeys(keys)})
    echo(f"Removing labels on {name}... done")


TOPIC = Topic(
    "labels",
    "manage labels of application",
    (list_labels, set_labels, unset_labels),
    default="labels:list",
)
