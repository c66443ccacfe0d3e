"""ps:list, ps:restart, ps:scale."""

from __future__ import annotations

import os
import re
import time
from typing import Any

import click

from deis.cli.context import Session, app_option, output_option, session
from deis.cli.errors import CLIError
from deis.cli.output import echo, emit, heading, print_json, waiting, warn
from deis.cli.topic import Topic

SCALE_TARGET = re.compile(r"^([a-z0-9]+(?:-[a-z0-9]+)*)=([0-9]+)$")
POD_SUFFIX = re.compile(r"[a-z0-9]{8,10}-[a-z0-9]{5}$")

# --- pure ---------------------------------------------------------------------------------


def parse_targets(targets: tuple[str, ...] | list[str]) -> dict[str, int]:
    """`web=3 worker=1` → {"web": 3, "worker": 1}."""
    result: dict[str, int] = {}
    for target in targets:
        match = SCALE_TARGET.match(target)
        if match is None:
            raise CLIError(f"'{target}' does not match the pattern 'type=num', ex: web=2")
        result[match.group(1)] = int(match.group(2))
    return result


def parse_type(target: str, app: str) -> tuple[str, str]:
    """`web` → ("web", ""); a pod name → (its type, the pod name), as the Go client reads it."""
    if "-" not in target:
        return target, ""
    replaced = target.replace(f"{app}-", "", 1)
    parts = replaced.split("-")
    if POD_SUFFIX.search(replaced) or len(parts) == 2:
        return parts[0], target
    return parts[1], target


def format_processes(app: str, pods: list[dict[str, Any]]) -> str:
    """`=== APP Processes`, then `--- type:` and `name state (release)` lines, by type;
    a crashed replica's line ends with its back-off (`: crashed 5 times; next start in 32 s`)."""
    lines = [heading(f"{app} Processes")]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for pod in pods:
        by_type.setdefault(str(pod.get("type", "")), []).append(pod)
    for kind in sorted(by_type):
        lines.append(f"--- {kind}:")
        for pod in sorted(by_type[kind], key=lambda p: str(p.get("name", ""))):
            line = f"{pod.get('name', '')} {pod.get('state', '')} ({pod.get('release', '')})"
            if pod.get("detail"):  # a crash loop's back-off
                line += f": {pod['detail']}"
            lines.append(line)
    return "\n".join(lines) + "\n"


def drink() -> str:
    return os.environ.get("DEIS_DRINK_OF_CHOICE") or "coffee"


# --- commands --------------------------------------------------------------------------------


def list_pods(s: Session, app: str) -> list[dict[str, Any]]:
    pods, _ = s.api.get_list(f"/v2/apps/{app}/pods")
    return pods


@click.command("ps:list", short_help="list application processes")
@app_option
@output_option
def list_ps(app: str | None, output: str) -> None:
    """Lists processes servicing an application.

    \b
    Examples:
      deis ps:list -a myapp
      deis ps -o json
    """
    s = session()
    name = s.app(app)
    pods = list_pods(s, name)
    if output == "json":
        print_json(pods)
    else:
        emit(format_processes(name, pods))


@click.command("ps:restart", short_help="restart an application or its process types")
@click.argument("target", metavar="[TYPE]", required=False)
@app_option
def restart(target: str | None, app: str | None) -> None:
    """Restarts an application, a process type or a single process.

    TYPE is a process type as defined in the Procfile, such as 'web' or 'worker';
    a process name such as 'myapp-web-1234567890-abcde' restarts that process only.

    \b
    Examples:
      deis ps:restart -a myapp
      deis ps:restart web
      deis ps:restart myapp-web-1234567890-abcde
    """
    s = session()
    name = s.app(app)
    kind, pod = parse_type(target, name) if target else ("", "")
    path = "/".join(part for part in (f"/v2/apps/{name}/pods", kind, pod) if part) + "/restart"
    echo(f"Restarting processes... but first, {drink()}!")
    started = time.monotonic()
    with waiting("Restarting processes..."):
        pods = s.api.post(path) or []
    if isinstance(pods, dict):
        pods = pods.get("results") or []
    if not pods:
        echo("Could not find any processes to restart")
        return
    echo(f"done in {int(time.monotonic() - started)}s")
    emit(format_processes(name, pods))


@click.command("ps:scale", short_help="scale processes (e.g. web=4 worker=2)")
@click.argument("targets", metavar="TYPE=NUM...", nargs=-1, required=True)
@app_option
def scale(targets: tuple[str, ...], app: str | None) -> None:
    """Scales an application's processes by type.

    TYPE is a process type as defined in the Procfile, such as 'web' or 'worker'
    (Dockerfile apps have a default 'cmd' type); NUM is the number of processes.

    \b
    Examples:
      deis ps:scale web=3 -a myapp
      deis scale web=2 worker=1
    """
    wanted = parse_targets(targets)
    s = session()
    name = s.app(app)
    echo(f"Scaling processes... but first, {drink()}!")
    started = time.monotonic()
    with waiting("Scaling processes..."):
        s.api.post(f"/v2/apps/{name}/scale", wanted)
    echo(f"done in {int(time.monotonic() - started)}s")
    try:
        pods = list_pods(s, name)
    except CLIError as exc:
        if exc.status != 503:
            raise
        warn(f"The processes cannot be listed: {exc.message}")
        return
    emit(format_processes(name, pods))


TOPIC = Topic(
    "ps",
    "manage processes inside an app container",
    (list_ps, restart, scale),
    default="ps:list",
)
