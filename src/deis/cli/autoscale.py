"""autoscale:list, autoscale:set, autoscale:unset."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from deis.cli.context import app_option, output_option, session
from deis.cli.output import echo, emit, heading, print_json, waiting
from deis.cli.topic import Topic


def format_rule(rule: Mapping[str, Any]) -> str:
    return (
        f"Min Replicas: {rule.get('min', '')}\n"
        f"Max Replicas: {rule.get('max', '')}\n"
        f"CPU: {rule.get('cpu_percent', '')}%"
    )


def format_autoscale(app: str, rules: Mapping[str, Any]) -> str:
    lines = [heading(f"{app} Autoscale"), ""]
    active = {kind: rule for kind, rule in rules.items() if rule}
    if not active:
        lines.append("No autoscale rules found.")
    for kind in sorted(active):
        lines += [f"--- {kind}:", format_rule(active[kind])]
    return "\n".join(lines) + "\n"


@click.command("autoscale:list", short_help="list autoscale options of an application")
@app_option
@output_option
def list_autoscale(app: str | None, output: str) -> None:
    """Prints the autoscale rules of an application.

    \b
    Examples:
      deis autoscale:list -a myapp
      deis autoscale -o json
    """
    s = session()
    name = s.app(app)
    rules = (s.api.get(f"/v2/apps/{name}/settings") or {}).get("autoscale") or {}
    if output == "json":
        print_json(rules)
    else:
        emit(format_autoscale(name, rules))


@click.command("autoscale:set", short_help="turn on autoscale for an app")
@click.argument("process_type", metavar="PROCESS-TYPE")
@click.option(
    "--min",
    "minimum",
    type=click.IntRange(min=0),
    required=True,
    help="Minimum replicas to keep around.",
)
@click.option(
    "--max",
    "maximum",
    type=click.IntRange(min=1),
    required=True,
    help="Maximum replicas to scale up to.",
)
@click.option(
    "--cpu-percent",
    type=click.IntRange(1, 100),
    required=True,
    help="Target CPU utilization, in percent.",
)
@app_option
def set_autoscale(
    process_type: str, minimum: int, maximum: int, cpu_percent: int, app: str | None
) -> None:
    """Sets the autoscale rule of a process type of an application.

    \b
    Examples:
      deis autoscale:set web --min 1 --max 5 --cpu-percent 70 -a myapp
    """
    if minimum > maximum:
        raise click.UsageError("--min must not be greater than --max.")
    s = session()
    name = s.app(app)
    message = f"Applying autoscale settings for process type {process_type} on {name}..."
    rule = {"min": minimum, "max": maximum, "cpu_percent": cpu_percent}
    with waiting(message):
        s.api.post(f"/v2/apps/{name}/settings", {"autoscale": {process_type: rule}})
    echo(f"{message} done")


@click.command("autoscale:unset", short_help="turn off autoscale for an app")
@click.argument("process_type", metavar="PROCESS-TYPE")
@app_option
def unset_autoscale(process_type: str, app: str | None) -> None:
    """Removes the autoscale rule of a process type of an application.

    \b
    Examples:
      deis autoscale:unset web -a myapp
    """
    s = session()
    name = s.app(app)
    message = f"Removing autoscale for process type {process_type} on {name}..."
    with waiting(message):
        s.api.post(f"/v2/apps/{name}/settings", {"autoscale": {process_type: None}})
    echo(f"{message} done")


TOPIC = Topic(
    "autoscale",
    "manage autoscale for applications",
    (list_autoscale, set_autoscale, unset_autoscale),
    default="autoscale:list",
)
