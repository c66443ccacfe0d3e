"""builds:list, builds:create (`deis pull`)."""

from __future__ import annotations

import json
from typing import Any

import click

from deis.cli.context import app_option, limit_option, output_option, session
from deis.cli.errors import CLIError
from deis.cli.output import echo, heading, limit_count, page, print_json, table, waiting
from deis.cli.topic import Topic

# --- pure ---------------------------------------------------------------------------------


def parse_procfile(text: str) -> dict[str, str]:
    """A Procfile (`web: cmd` lines, or a one-line YAML/JSON map) → {type: command}."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        return parse_procfile_mapping(text)
    procfile: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        kind, sep, command = line.partition(":")
        if not sep or not kind.strip() or not command.strip():
            raise CLIError(f"'{line}' is not a Procfile line of the form 'type: command'")
        procfile[kind.strip()] = unquote(command.strip())
    return procfile


def parse_procfile_mapping(text: str) -> dict[str, str]:
    try:
        data = json.loads(text)
    except ValueError:
        inner = text.strip("{} ")
        return parse_procfile("\n".join(part for part in inner.split(",")))
    if not isinstance(data, dict):
        raise CLIError("The procfile must map process types to commands")
    return {str(key): str(value) for key, value in data.items()}


def unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def format_builds(app: str, builds: list[dict[str, Any]], total: int) -> str:
    title = heading(f"{app} Builds") + limit_count(len(builds), total) + "\n"
    return title + table((b.get("uuid", ""), b.get("created", "")) for b in builds)


# --- commands --------------------------------------------------------------------------------


@click.command("builds:list", short_help="list build history for an application")
@app_option
@limit_option
@output_option
def list_builds(app: str | None, limit: int | None, output: str) -> None:
    """Lists build history for an application.

    \b
    Examples:
      deis builds:list -a myapp
      deis builds -o json
    """
    s = session()
    name = s.app(app)
    builds, total = s.api.get_list(f"/v2/apps/{name}/builds", limit)
    if output == "json":
        print_json(builds)
    else:
        page(format_builds(name, builds, total))


@click.command("builds:create", short_help="imports an image and deploys as a new release")
@click.argument("image")
@app_option
@click.option(
    "-p", "--procfile", metavar="PROCFILE", help="A Procfile as a string, e.g. 'web: ./server'."
)
def create(image: str, app: str | None, procfile: str | None) -> None:
    """Creates a new build of an application: imports IMAGE and deploys it as a new release.

    IMAGE is a fully-qualified image with its tag, from a registry the platform can reach
    (e.g. registry.example.com:5000/example-go:latest).

    \b
    Examples:
      deis builds:create registry.example.com/example-go:latest -a myapp
      deis pull example/go:1.0 --procfile 'web: ./server'
    """
    body: dict[str, Any] = {"image": image}
    if procfile:
        body["procfile"] = parse_procfile(procfile)
    s = session()
    name = s.app(app)
    with waiting("Creating build..."):
        s.api.post(f"/v2/apps/{name}/builds", body)
    echo("Creating build... done")


TOPIC = Topic(
    "builds",
    "manage builds created using 'git push'",
    (list_builds, create),
    default="builds:list",
)
