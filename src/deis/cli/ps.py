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


def format_processes(
    app: str, pods: list[dict[str, Any]], asleep: dict[str, str] | None = None
) -> str:
    """`=== APP Processes`, then `--- type:` and `name state (release)` lines, by type;
    a crashed replica's line ends with its back-off (`: crashed 5 times; next start in 32 s`).
    `asleep`: the sleeping types and what to say of them (`asleep since ...`)."""
    lines = [heading(f"{app} Processes")]
    by_type: dict[str, list[dict[str, Any]]] = {kind: [] for kind in asleep or {}}
    for pod in pods:
        by_type.setdefault(str(pod.get("type", "")), []).append(pod)
    for kind in sorted(by_type):
        lines.append(f"--- {kind}:")
        if kind in (asleep or {}):
            lines.append((asleep or {})[kind])
        for pod in sorted(by_type[kind], key=lambda p: str(p.get("name", ""))):
            line = f"{pod.get('name', '')} {pod.get('state', '')} ({pod.get('release', '')})"
            if pod.get("detail"):  # a crash loop's back-off
                line += f": {pod['detail']}"
            lines.append(line)
    return "\n".join(lines) + "\n"


def duration_text(seconds: int) -> str:
    """1800 → 30m, 5400 → 1h30m, 90 → 1m30s."""
    if seconds <= 0:
        return "never"
    parts, left = [], seconds
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    return "".join(parts)


def sleeping_types(sleep: dict[str, Any], structure: dict[str, int]) -> dict[str, str]:
    """The types asleep now, each with the line `deis ps` shows for it."""
    if not sleep.get("asleep"):
        return {}
    said = f"asleep since {sleep.get('since') or '?'} (the next request wakes it)"
    kinds = [k for k, n in structure.items() if n > 0 and (k == "web" or sleep.get("all_types"))]
    return {kind: said for kind in kinds}


def format_sleep(app: str, sleep: dict[str, Any]) -> str:
    after = int(sleep.get("after") or 0)
    when = "never" if after <= 0 else f"after {duration_text(after)} without a request"
    if sleep.get("default"):
        when += " (the platform's default)"
    state = "asleep" if sleep.get("asleep") else "awake"
    if sleep.get("since"):
        state += f" since {sleep['since']}"
    return (
        "\n".join(
            [
                heading(f"{app} Sleep"),
                f"Sleeps:  {when}",
                f"Types:   {'all' if sleep.get('all_types') else 'web'}",
                f"State:   {state}",
            ]
        )
        + "\n"
    )


def drink() -> str:
    return os.environ.get("DEIS_DRINK_OF_CHOICE") or "coffee"


# --- commands --------------------------------------------------------------------------------


def list_pods(s: Session, app: str) -> list[dict[str, Any]]:
    pods, _ = s.api.get_list(f"/v2/apps/{app}/pods")
    return pods


def asleep_types(s: Session, app: str) -> dict[str, str]:
    """The app's sleeping types, from the platform's sleep extension ({} from a
    controller without it)."""
    try:
        sleep = s.api.get(f"/v2/apps/{app}/sleep")
    except CLIError as exc:
        if exc.status in (404, 405):
            return {}
        raise
    if not isinstance(sleep, dict) or not sleep.get("asleep"):
        return {}
    structure = (s.api.get(f"/v2/apps/{app}") or {}).get("structure") or {}
    return sleeping_types(sleep, structure)


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
        emit(format_processes(name, pods, asleep_types(s, name)))


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


@click.command("ps:sleep", short_help="sleep when idle: stop web processes until a request")
@click.option("--after", metavar="DURATION", help="Sleep after this long without a request.")
@click.option("--never", is_flag=True, help="Never sleep.")
@click.option("--default", "use_default", is_flag=True, help="Follow the platform's default.")
@click.option(
    "--all-types/--web-only",
    default=None,
    help="Stop every process type while asleep, or only web (the default).",
)
@click.option("--now", is_flag=True, help="Sleep at once; the next request wakes the app.")
@app_option
@output_option
def sleep_cmd(
    after: str | None,
    never: bool,
    use_default: bool,
    all_types: bool | None,
    now: bool,
    app: str | None,
    output: str,
) -> None:
    """Shows or changes when an application sleeps.

    An app whose web processes got no request for DURATION (like 30m, 2h or 1d)
    sleeps: its web processes stop (with --all-types, every type) while its scale
    stays as it is. The next request wakes it: the router holds the request while
    the processes start, and answers it when one is ready. A deploy to a sleeping
    app leaves it asleep.

    \b
    Examples:
      deis ps:sleep -a myapp
      deis ps:sleep --after 30m -a myapp
      deis ps:sleep --never
      deis ps:sleep --now
    """
    if sum(bool(x) for x in (after, never, use_default)) > 1:
        raise CLIError("give one of --after, --never, --default")
    s = session()
    name = s.app(app)
    body: dict[str, Any] = {}
    if after:
        body["after"] = after
    elif never:
        body["after"] = "never"
    elif use_default:
        body["default"] = True
    if all_types is not None:
        body["all_types"] = all_types
    sleep = s.api.post(f"/v2/apps/{name}/sleep", body) if body else None
    if now:
        with waiting("Stopping processes..."):
            sleep = s.api.post(f"/v2/apps/{name}/sleep/now")
    if sleep is None:
        sleep = s.api.get(f"/v2/apps/{name}/sleep")
    if output == "json":
        print_json(sleep)
    else:
        emit(format_sleep(name, sleep))


@click.command("ps:wake", short_help="wake a sleeping application")
@app_option
def wake(app: str | None) -> None:
    """Wakes a sleeping application now, without waiting for a request.

    \b
    Examples:
      deis ps:wake -a myapp
    """
    s = session()
    name = s.app(app)
    started = time.monotonic()
    with waiting("Waking..."):
        sleep = s.api.post(f"/v2/apps/{name}/sleep/wake")
    echo(f"Woke {name} in {time.monotonic() - started:.1f}s")
    emit(format_sleep(name, sleep))


TOPIC = Topic(
    "ps",
    "manage processes inside an app container",
    (list_ps, restart, scale, sleep_cmd, wake),
    default="ps:list",
)
