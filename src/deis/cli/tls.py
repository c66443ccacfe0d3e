"""tls:info, tls:enable, tls:disable: HTTPS enforcement by the router."""

from __future__ import annotations

from typing import Any

import click

from deis.cli.context import app_option, output_option, session
from deis.cli.output import echo, emit, heading, print_json, waiting
from deis.cli.topic import Topic


def format_tls(app: str, tls: dict[str, Any]) -> str:
    enforced = tls.get("https_enforced")
    value = "not set" if enforced is None else str(bool(enforced)).lower()
    return f"{heading(f'{app} TLS')}\nHTTPS Enforced: {value}\n"


@click.command("tls:info", short_help="view info about an application's TLS settings")
@app_option
@output_option
def info(app: str | None, output: str) -> None:
    """Prints the TLS settings of an application.

    \b
    Examples:
      deis tls:info -a myapp
      deis tls -o json
    """
    s = session()
    name = s.app(app)
    tls = s.api.get(f"/v2/apps/{name}/tls") or {}
    if output == "json":
        print_json(tls)
    else:
        emit(format_tls(name, tls))


def switch(app: str | None, enforced: bool) -> None:
    s = session()
    name = s.app(app)
    message = f"{'Enabling' if enforced else 'Disabling'} https-only requests for {name}..."
    with waiting(message):
        s.api.post(f"/v2/apps/{name}/tls", {"https_enforced": enforced})
    echo(f"{message} done")


@click.command("tls:enable", short_help="enable TLS enforcement for an application")
@app_option
def enable(app: str | None) -> None:
    """Makes the router redirect plain HTTP requests for the application to HTTPS.

    \b
    Examples:
      deis tls:enable -a myapp
    """
    switch(app, True)


@click.command("tls:disable", short_help="disable TLS enforcement for an application")
@app_option
def disable(app: str | None) -> None:
    """Lets the application answer plain HTTP requests again.

    \b
    Examples:
      deis tls:disable -a myapp
    """
    switch(app, False)


TOPIC = Topic(
    "tls",
    "manage TLS settings for applications",
    (info, enable, disable),
    default="tls:info",
)
