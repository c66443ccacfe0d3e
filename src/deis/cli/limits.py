"""limits:list, limits:set, limits:unset: memory and CPU per process type."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import click

from deis.cli.context import Session, app_option, output_option, session
from deis.cli.errors import CLIError
from deis.cli.output import echo, emit, heading, pretty_tabs, print_json, waiting
from deis.cli.topic import Topic

_AMOUNT = r"(?:[0-9]+[bkmgBKMG]{1,2}|[0-9.]{1,5}m?)"
LIMIT = re.compile(rf"^([a-z0-9]+(?:-[a-z0-9]+)*)=({_AMOUNT}(?:/{_AMOUNT})?)$")

# --- pure ---------------------------------------------------------------------------------


def parse_limits(pairs: Iterable[str]) -> dict[str, str]:
    """`web=512M worker=1G/2G` (or `web=500m` for --cpu) → {type: value}."""
    limits: dict[str, str] = {}
    for pair in pairs:
        match = LIMIT.match(pair)
        if match is None:
            raise CLIError(
                f"{pair} doesn't fit format type=#unit or type=# or type=#/#\n"
                "Examples: web=2G worker=500M db=1G/2G"
            )
        limits[match.group(1)] = match.group(2)
    return limits


def format_limits(app: str, memory: Mapping[str, Any], cpu: Mapping[str, Any]) -> str:
    parts = [heading(f"{app} Limits"), "", "--- Memory"]
    parts.append(pretty_tabs(memory, 5).rstrip("\n") if memory else "Unlimited")
    parts += ["", "--- CPU"]
    parts.append(pretty_tabs(cpu, 5).rstrip("\n") if cpu else "Unlimited")
    return "\n".join(parts) + "\n"


def kind_of(cpu: bool) -> str:
    return "cpu" if cpu else "memory"


# --- helpers ------------------------------------------------------------------------------------


def show_limits(s: Session, app: str, config: Any = None) -> None:
    if not isinstance(config, dict) or "memory" not in config:
        config = s.api.get(f"/v2/apps/{app}/config") or {}
    emit(format_limits(app, config.get("memory") or {}, config.get("cpu") or {}))


def apply(s: Session, app: str, kind: str, values: Mapping[str, Any]) -> Any:
    with waiting("Applying limits..."):
        config = s.api.post(f"/v2/apps/{app}/config", {kind: dict(values)})
    echo("Applying limits... done\n")
    return config


# --- commands --------------------------------------------------------------------------------


@click.command("limits:list", short_help="list resource limits for an app")
@app_option
@output_option
def list_limits(app: str | None, output: str) -> None:
    """Lists resource limits for an application.

    \b
    Examples:
      deis limits:list -a myapp
      deis limits -o json
    """
    s = session()
    name = s.app(app)
    config = s.api.get(f"/v2/apps/{name}/config") or {}
    if output == "json":
        print_json({"memory": config.get("memory") or {}, "cpu": config.get("cpu") or {}})
    else:
        show_limits(s, name, config)


@click.command("limits:set", short_help="set resource limits for an app")
@click.argument("pairs", metavar="TYPE=VALUE...", nargs=-1, required=True)
@app_option
@click.option("--cpu", is_flag=True, help="The values are CPU limits.")
@click.option("-m", "--memory", is_flag=True, help="The values are memory limits (the default).")
def set_limits(pairs: tuple[str, ...], app: str | None, cpu: bool, memory: bool) -> None:
    """Sets resource limits per process type; each process of the type gets the limit.

    With --memory (the default), values are in bytes with a unit: B, K, M or G
    (web=512M). With --cpu, values are CPUs (web=1) or milli-CPUs (web=500m).
    A value may be REQUEST/LIMIT (web=1G/2G).

    \b
    Examples:
      deis limits:set web=512M -a myapp
      deis limits:set web=1G worker=256M
      deis limits:set --cpu web=500m
    """
    if cpu and memory:
        raise click.UsageError("Give --cpu or --memory, not both.")
    values = parse_limits(pairs)
    s = session()
    name = s.app(app)
    show_limits(s, name, apply(s, name, kind_of(cpu), values))


@click.command("limits:unset", short_help="unset resource limits for an app")
@click.argument("types", metavar="TYPE...", nargs=-1, required=True)
@app_option
@click.option("--cpu", is_flag=True, help="Remove CPU limits.")
@click.option("-m", "--memory", is_flag=True, help="Remove memory limits (the default).")
def unset_limits(types: tuple[str, ...], app: str | None, cpu: bool, memory: bool) -> None:
    """Unsets resource limits for process types of an application.

    \b
    Examples:
      deis limits:unset web -a myapp
      deis limits:unset --cpu web worker
    """
    if cpu and memory:
        raise click.UsageError("Give --cpu or --memory, not both.")
    s = session()
    name = s.app(app)
    show_limits(s, name, apply(s, name, kind_of(cpu), dict.fromkeys(types)))


TOPIC = Topic(
    "limits",
    "manage resource limits for your application",
    (list_limits, set_limits, unset_limits),
    default="limits:list",
)
