"""domains:list, domains:add, domains:remove."""

from __future__ import annotations

from typing import Any

import click

from deis.cli.context import app_option, limit_option, output_option, session
from deis.cli.output import echo, heading, limit_count, page, print_json, waiting
from deis.cli.topic import Topic


def format_domains(app: str, domains: list[dict[str, Any]], total: int) -> str:
    lines = [heading(f"{app} Domains") + limit_count(len(domains), total)]
    lines += [str(domain.get("domain", "")) for domain in domains]
    return "\n".join(lines) + "\n"


@click.command("domains:list", short_help="list domains bound to an application")
@app_option
@limit_option
@output_option
def list_domains(app: str | None, limit: int | None, output: str) -> None:
    """Lists domains bound to an application.

    \b
    Examples:
      deis domains:list -a myapp
      deis domains -o json
    """
    s = session()
    name = s.app(app)
    domains, total = s.api.get_list(f"/v2/apps/{name}/domains", limit)
    if output == "json":
        print_json(domains)
    else:
        page(format_domains(name, domains, total))


@click.command("domains:add", short_help="bind a domain to an application")
@click.argument("domain")
@app_option
def add_domain(domain: str, app: str | None) -> None:
    """Binds a domain to an application.

    \b
    Examples:
      deis domains:add www.example.com -a myapp
      deis domains:add '*.example.com'
    """
    s = session()
    name = s.app(app)
    with waiting(f"Adding {domain} to {name}..."):
        s.api.post(f"/v2/apps/{name}/domains", {"domain": domain})
    echo(f"Adding {domain} to {name}... done")


@click.command("domains:remove", short_help="unbind a domain from an application")
@click.argument("domain")
@app_option
def remove_domain(domain: str, app: str | None) -> None:
    """Unbinds a domain from an application.

    \b
    Examples:
      deis domains:remove www.example.com -a myapp
    """
    s = session()
    name = s.app(app)
    with waiting(f"Removing {domain} from {name}..."):
        s.api.delete(f"/v2/apps/{name}/domains/{domain}")
    echo(f"Removing {domain} from {name}... done")


TOPIC = Topic(
    "domains",
    "manage and assign domain names to your applications",
    (add_domain, list_domains, remove_domain),
    default="domains:list",
)
