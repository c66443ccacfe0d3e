"""maintenance:info, maintenance:on, maintenance:off."""

from __future__ import annotations

import click

from deis.cli.context import app_option, output_option, session
from deis.cli.output import echo, print_json, waiting
from deis.cli.topic import Topic


def maintenance_text(on: bool | None) -> str:
    return "Maintenance mode is on." if on else "Maintenance mode is off."


@click.command("maintenance:info", short_help="view maintenance mode")
@app_option
@output_option
def info(app: str | None, output: str) -> None:
    """Prints the maintenance status of an application.

    \b
    Examples:
      deis maintenance:info -a myapp
      deis maintenance -o json
    """
    s = session()
    name = s.app(app)
    on = bool((s.api.get(f"/v2/apps/{name}/settings") or {}).get("maintenance"))
    if output == "json":
        print_json({"maintenance": on})
    else:
        echo(maintenance_text(on))


def switch(app: str | None, on: bool) -> None:
    s = session()
    name = s.app(app)
    message = f"{'Enabling' if on else 'Disabling'} maintenance mode for {name}..."
    with waiting(message):
        s.api.post(f"/v2/apps/{name}/settings", {"maintenance": on})
    echo(f"{message} done")


@click.command("maintenance:on", short_help="turn on maintenance mode")
@app_option
def on(app: str | None) -> None:
    """Turns maintenance mode on: the router answers 503 for the application.

    \b
    Examples:
      deis maintenance:on -a myapp
    """
    switch(app, True)


@click.command("maintenance:off", short_help="turn off maintenance mode")
@app_option
def off(app: str | None) -> None:
    """Turns maintenance mode off.

    \b
    Examples:
      deis maintenance:off -a myapp
    """
    switch(app, False)


TOPIC = Topic(
    "maintenance",
    "manage maintenance mode of an application",
    (info, on, off),
    default="maintenance:info",
)
