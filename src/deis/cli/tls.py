"""tls:info, tls:enable, tls:disable: HTTPS enforcement by the router; tls:auto:enable,
tls:auto:disable: certificates from the platform's ACME CA (automatic TLS)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from deis.cli.context import app_option, output_option, session
from deis.cli.errors import CLIError
from deis.cli.output import echo, emit, expires_text, heading, print_json, table, waiting
from deis.cli.topic import Topic


def format_tls(app: str, tls: dict[str, Any]) -> str:
    enforced = tls.get("https_enforced")
    value = "not set" if enforced is None else str(bool(enforced)).lower()
    return f"{heading(f'{app} TLS')}\nHTTPS Enforced: {value}\n"


AUTO_HEADERS = ("Domain", "Certificate", "Issuer", "Expires", "Last ACME error")


def format_auto(auto: dict[str, Any], now: datetime) -> str:
    """Automatic TLS: whether it is on, and each domain's certificate."""
    state = f"enabled ({auto.get('directory')})" if auto.get("auto") else "disabled"
    lines = f"Automatic TLS: {state}\n"
    rows = []
    for d in auto.get("domains") or []:
        cert = d.get("certificate")
        rows.append(
            (
                d.get("host") or d.get("domain"),
                f"{cert} (auto)" if cert and d.get("automatic") else (cert or "none"),
                d.get("issuer") or "",
                expires_text(d.get("expires"), now) if cert else "",
                _error_text(d),
            )
        )
    if rows:
        lines += "\n" + table(rows, AUTO_HEADERS)
    return lines


def _error_text(d: dict[str, Any]) -> str:
    error = str(d.get("last_error") or "")
    if error and d.get("next_attempt"):
        error += f" (next attempt {d['next_attempt']})"
    return error


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
    try:
        auto = s.api.get(f"/v2/apps/{name}/tls/auto") or {}
    except CLIError as error:
        if error.status != 404:
            raise
        auto = {}  # a controller without automatic TLS
    if output == "json":
        print_json({**tls, "auto": auto} if auto.get("directory") else tls)
    else:
        text = format_tls(name, tls)
        if auto.get("directory"):  # the platform has automatic TLS: else as Deis shows it
            text += format_auto(auto, datetime.now(UTC))
        emit(text)


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


def auto_switch(app: str | None, enabled: bool) -> None:
    s = session()
    name = s.app(app)
    verb = "Enabling" if enabled else "Disabling"
    message = f"{verb} automatic TLS for {name}..."
    with waiting(message):
        if enabled:
            auto = s.api.post(f"/v2/apps/{name}/tls/auto", {})
        else:
            auto = s.api.delete(f"/v2/apps/{name}/tls/auto")
    echo(f"{message} done")
    if enabled:
        echo(
            "Every domain of the app gets a certificate from "
            f"{(auto or {}).get('directory')} within a minute; see `deis tls:info -a {name}`."
        )


@click.command("tls:auto:enable", short_help="certificates from the platform's ACME CA")
@app_option
def auto_enable(app: str | None) -> None:
    """Gets a certificate from the platform's ACME CA (Let's Encrypt) for every domain of
    the application, and every domain added later, attaches it, and keeps it renewed.
    The domains must resolve to this platform.

    \b
    Examples:
      deis tls:auto:enable -a myapp
    """
    auto_switch(app, True)


@click.command("tls:auto:disable", short_help="stop ordering and renewing certificates")
@app_option
def auto_disable(app: str | None) -> None:
    """Stops ordering and renewing certificates for the application; those it has stay
    attached until they expire or are removed (deis certs:remove).

    \b
    Examples:
      deis tls:auto:disable -a myapp
    """
    auto_switch(app, False)


TOPIC = Topic(
    "tls",
    "manage TLS settings for applications",
    (info, enable, disable, auto_enable, auto_disable),
    default="tls:info",
)
