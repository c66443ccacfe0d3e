"""whitelist:list, whitelist:add, whitelist:remove: the addresses allowed to reach an app."""

from __future__ import annotations

from typing import Any

import click

from deis.cli.context import app_option, output_option, session
from deis.cli.output import echo, emit, heading, print_json, waiting
from deis.cli.topic import Topic


def split_addresses(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def format_whitelist(app: str, addresses: list[Any]) -> str:
    return "\n".join([heading(f"{app} Whitelisted Addresses"), *map(str, addresses)]) + "\n"


@click.command("whitelist:list", short_help="list addresses in the application's whitelist")
@app_option
@output_option
def list_whitelist(app: str | None, output: str) -> None:
    """Lists whitelisted addresses for an application.

    \b
    Examples:
      deis whitelist:list -a myapp
      deis whitelist -o json
    """
    s = session()
    name = s.app(app)
    addresses = (s.api.get(f"/v2/apps/{name}/whitelist") or {}).get("addresses") or []
    if output == "json":
        print_json(addresses)
    else:
        emit(format_whitelist(name, addresses))


@click.command("whitelist:add", short_help="adds addresses to the application's whitelist")
@click.argument("addresses")
@app_option
def add(addresses: str, app: str | None) -> None:
    """Adds addresses to an application's whitelist; then only they can reach the app.

    ADDRESSES is a comma-separated list of IP addresses or CIDR blocks.

    \b
    Examples:
      deis whitelist:add 10.0.0.0/8,1.2.3.4 -a myapp
    """
    s = session()
    name = s.app(app)
    echo(f"Adding {addresses} to {name} whitelist...")
    with waiting(f"Adding {addresses} to {name} whitelist..."):
        s.api.post(f"/v2/apps/{name}/whitelist", {"addresses": split_addresses(addresses)})
    echo("done")


@click.command("whitelist:remove", short_help="remove addresses from the application's whitelist")
@click.argument("addresses")
@app_option
def remove(addresses: str, app: str | None) -> None:
    """Removes addresses from an application's whitelist.

    ADDRESSES is a comma-separated list of IP addresses or CIDR blocks.

    \b
    Examples:
      deis whitelist:remove 1.2.3.4 -a myapp
    """
    s = session()
    name = s.app(app)
    echo(f"Removing {addresses} from {name} whitelist...")
    with waiting(f"Removing {addresses} from {name} whitelist..."):
        s.api.delete(f"/v2/apps/{name}/whitelist", {"addresses": split_addresses(addresses)})
    echo("done")


TOPIC = Topic(
    "whitelist",
    "manage whitelisted addresses of an application",
    (add, list_whitelist, remove),
    default="whitelist:list",
)
