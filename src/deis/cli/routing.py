"""routing:info, routing:enable, routing:disable."""

from __future__ import annotations

import click

from deis.cli.context import app_option, output_option, session
from deis.cli.output import echo, print_json, waiting
from deis.cli.topic import Topic


def routing_text(routable: bool | None) -> str:
    return "Routing is disabled." if routable is False else "Routing is enabled."


@click.command("routing:info", short_help="view routability of an application")
@app_option
@output_option
def info(app: str | None, output: str) -> None:
    """Prints the routability of an application.

    \b
    Examples:
      deis routing:info -a myapp
      deis routing -o json
    """
    s = session()
    name = s.app(app)
    routable = (s.api.get(f"/v2/apps/{name}/settings") or {}).get("routable")
    if output == "json":
        print_json({"routable": routable is not False})
    else:
        echo(routing_text(routable))


def switch(app: str | None, routable: bool) -> None:
    s = session()
    name = s.app(app)
    message = f"{'Enabling' if routable else 'Disabling'} routing for {name}..."
    with waiting(message):
        s.api.post(f"/v2/apps/{name}/settings", {"routable": routable})
    echo(f"{message} done")


@click.command("routing:enable", short_help="enable routing for an application")
@app_option
def enable(app: str | None) -> None:
    """Exposes an application through the router.

    \b
    Examples:
      deis routing:enable -a myapp
    """
    switch(app, True)


@click.command("routing:disable", short_help="disable routing for an application")
@app_option
def disable(app: str | None) -> None:
    """Stops exposing an application through the router (its processes keep running).

    \b
    Examples:
      deis routing:disable -a myapp
    """
    switch(app, False)


TOPIC = Topic(
    "routing",
    "manage routability of an application",
    (info, enable, disable),
    default="routing:info",
)
