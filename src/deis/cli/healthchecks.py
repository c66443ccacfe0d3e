"""healthchecks:list, healthchecks:set, healthchecks:unset: Kubernetes-style probes per type."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from deis.cli.context import Session, app_option, output_option, session
from deis.cli.errors import CLIError
from deis.cli.output import echo, emit, heading, print_json, waiting
from deis.cli.topic import Topic

HEALTH_TYPES = ("liveness", "readiness")
PROBE_TYPES = ("httpGet", "exec", "tcpSocket")
DEFAULT_TYPE = "web"

# --- pure ---------------------------------------------------------------------------------


def probe_key(health_type: str) -> str:
    """`liveness` → `livenessProbe`, the Kubernetes name the controller stores."""
    if health_type not in HEALTH_TYPES:
        raise CLIError(f"probe type {health_type} is invalid. Must be one of [liveness readiness]")
    return f"{health_type}Probe"


def parse_headers(headers: str | None) -> list[dict[str, str]]:
    """`X-A: 1,X-B: 2` → [{"name": "X-A", "value": "1"}, ...]."""
    parsed = []
    for header in (headers or "").split(","):
        if not header.strip():
            continue
        name, sep, value = header.partition(":")
        if not sep:
            raise CLIError(
                f"could not parse headers: could not find separator in header ({header})"
            )
        parsed.append({"name": name.strip(), "value": value.strip()})
    return parsed


def parse_port(text: str) -> int:
    if not text.isdigit():
        raise CLIError(f"could not parse port: {text} is not a number")
    return int(text)


def build_probe(
    probe_type: str,
    args: tuple[str, ...],
    path: str,
    headers: str | None,
    timings: Mapping[str, int],
) -> dict[str, Any]:
    """The Kubernetes probe for `healthchecks:set`."""
    probe: dict[str, Any] = dict(timings)
    if probe_type == "httpGet":
        probe["httpGet"] = {
            "path": path,
            "port": parse_port(args[0]),
            "httpHeaders": parse_headers(headers),
        }
    elif probe_type == "tcpSocket":
        probe["tcpSocket"] = {"port": parse_port(args[0])}
    elif probe_type == "exec":
        probe["exec"] = {"command": list(args)}
    else:
        raise CLIError('Invalid probe type. Must be one of: "httpGet", "exec", "tcpSocket"')
    return probe


def default_type(structure: Mapping[str, Any]) -> str:
    """The Go client's `web/cmd`: `web`, or `cmd` for an app running an image's own command."""
    return "cmd" if "cmd" in structure and DEFAULT_TYPE not in structure else DEFAULT_TYPE


def format_probe(probe: Mapping[str, Any]) -> str:
    http = probe.get("httpGet")
    tcp = probe.get("tcpSocket")
    exe = probe.get("exec")
    http_text = "N/A"
    if http:
        headers = " ".join(
            f"{h.get('name', '')}={h.get('value', '')}" for h in http.get("httpHeaders") or []
        )
        http_text = (
            f'Path="{http.get("path", "")}" Port={http.get("port", "")} HTTPHeaders=[{headers}]'
        )
    exec_text = f"Command=[{' '.join(str(c) for c in exe.get('command') or [])}]" if exe else "N/A"
    tcp_text = f"Port={tcp.get('port', '')}" if tcp else "N/A"
    return "\n".join(
        [
            f"Initial Delay (seconds): {probe.get('initialDelaySeconds', 0)}",
            f"Timeout (seconds): {probe.get('timeoutSeconds', 0)}",
            f"Period (seconds): {probe.get('periodSeconds', 0)}",
            f"Success Threshold: {probe.get('successThreshold', 0)}",
            f"Failure Threshold: {probe.get('failureThreshold', 0)}",
            f"Exec Probe: {exec_text}",
            f"HTTP GET Probe: {http_text}",
            f"TCP Socket Probe: {tcp_text}",
        ]
    )


def format_type_checks(checks: Mapping[str, Any]) -> str:
    lines = ["--- Liveness"]
    live = checks.get("livenessProbe")
    lines.append(format_probe(live) if live else "No liveness probe configured.")
    lines += ["", "--- Readiness"]
    ready = checks.get("readinessProbe")
    lines.append(format_probe(ready) if ready else "No readiness probe configured.")
    return "\n".join(lines)


def format_healthchecks(app: str, healthchecks: Mapping[str, Any], proc_type: str | None) -> str:
    lines = [heading(f"{app} Healthchecks")]
    if proc_type:
        lines += ["", f"{proc_type}:", format_type_checks(healthchecks.get(proc_type) or {})]
    elif not healthchecks:
        lines.append("No health checks configured.")
    else:
        for kind in sorted(healthchecks):
            lines += ["", f"{kind}:", format_type_checks(healthchecks[kind] or {})]
    return "\n".join(lines) + "\n"


# --- helpers ------------------------------------------------------------------------------------


def resolve_type(s: Session, app: str, given: str | None) -> str:
    if given:
        return given
    data = s.api.get(f"/v2/apps/{app}") or {}
    structure = data.get("structure") if isinstance(data, dict) else None
    return default_type(structure if isinstance(structure, dict) else {})


def show(s: Session, app: str, proc_type: str | None, config: Any = None) -> None:
    if not isinstance(config, dict) or "healthcheck" not in config:
        config = s.api.get(f"/v2/apps/{app}/config") or {}
    emit(format_healthchecks(app, config.get("healthcheck") or {}, proc_type))


# --- commands --------------------------------------------------------------------------------


@click.command("healthchecks:list", short_help="list healthchecks for an app")
@app_option
@click.option(
    "--type", "proc_type", metavar="TYPE", help="The process type whose health checks to list."
)
@output_option
def list_checks(app: str | None, proc_type: str | None, output: str) -> None:
    """Lists healthchecks for an application.

    \b
    Examples:
      deis healthchecks:list -a myapp
      deis healthchecks --type web -o json
    """
    s = session()
    name = s.app(app)
    config = s.api.get(f"/v2/apps/{name}/config") or {}
    checks = config.get("healthcheck") or {}
    if output == "json":
        print_json(checks.get(proc_type) or {} if proc_type else checks)
    else:
        show(s, name, proc_type, config)


@click.command(
    "healthchecks:set",
    short_help="set healthchecks for an app",
    context_settings={"ignore_unknown_options": True},
)
@click.argument("health_type", metavar="HEALTH-TYPE", type=click.Choice(HEALTH_TYPES))
@click.argument("probe_type", metavar="PROBE-TYPE", type=click.Choice(PROBE_TYPES))
@click.argument("args", metavar="ARGS...", nargs=-1, required=True)
@app_option
@click.option(
    "-p",
    "--path",
    default="/",
    show_default=True,
    help="The relative URL path for 'httpGet' probes.",
)
@click.option(
    "--type",
    "proc_type",
    metavar="TYPE",
    help="The process type to check (default: web, or cmd for an app without a Procfile).",
)
@click.option(
    "--headers", help="HTTP headers for 'httpGet' probes, 'Name: value' separated by commas."
)
@click.option(
    "--initial-delay-timeout",
    type=int,
    default=50,
    show_default=True,
    help="The initial delay for the probe, in seconds.",
)
@click.option(
    "--timeout-seconds",
    type=int,
    default=50,
    show_default=True,
    help="Seconds after which the probe times out.",
)
@click.option(
    "--period-seconds",
    type=int,
    default=10,
    show_default=True,
    help="How often (in seconds) to perform the probe.",
)
@click.option(
    "--success-threshold",
    type=int,
    default=1,
    show_default=True,
    help="Consecutive successes to count as healthy again.",
)
@click.option(
    "--failure-threshold",
    type=int,
    default=3,
    show_default=True,
    help="Consecutive failures to count as failed.",
)
def set_check(
    health_type: str,
    probe_type: str,
    args: tuple[str, ...],
    app: str | None,
    path: str,
    proc_type: str | None,
    headers: str | None,
    initial_delay_timeout: int,
    timeout_seconds: int,
    period_seconds: int,
    success_threshold: int,
    failure_threshold: int,
) -> None:
    """Sets a healthcheck for a process type of an application.

    A 'liveness' probe restarts a process that fails it; a 'readiness' probe takes a
    process out of the router until it passes again. An 'httpGet' probe passes on an
    answer in 200-399 and takes a PORT; a 'tcpSocket' probe passes when a connection
    opens and takes a PORT; an 'exec' probe runs a COMMAND in the container and
    passes when it exits 0 (put the command after `--`).

    \b
    Examples:
      deis healthchecks:set liveness httpGet 5000 --path /health --type web -a myapp
      deis healthchecks:set readiness tcpSocket 5000
      deis healthchecks:set liveness exec -- cat /tmp/healthy
    """
    timings = {
        "initialDelaySeconds": initial_delay_timeout,
        "timeoutSeconds": timeout_seconds,
        "periodSeconds": period_seconds,
        "successThreshold": success_threshold,
        "failureThreshold": failure_threshold,
    }
    probe = build_probe(probe_type, args, path, headers, timings)
    key = probe_key(health_type)
    s = session()
    name = s.app(app)
    kind = resolve_type(s, name, proc_type)
    with waiting(f"Applying {key} healthcheck..."):
        config = s.api.post(f"/v2/apps/{name}/config", {"healthcheck": {kind: {key: probe}}})
    echo(f"Applying {key} healthcheck... done\n")
    show(s, name, kind, config)


@click.command("healthchecks:unset", short_help="unset healthchecks for an app")
@click.argument("health_types", metavar="HEALTH-TYPE...", nargs=-1, required=True)
@app_option
@click.option(
    "--type",
    "proc_type",
    metavar="TYPE",
    help="The process type to change (default: web, or cmd for an app without a Procfile).",
)
def unset_check(health_types: tuple[str, ...], app: str | None, proc_type: str | None) -> None:
    """Unsets healthchecks ('liveness', 'readiness') of a process type of an application.

    \b
    Examples:
      deis healthchecks:unset liveness -a myapp
      deis healthchecks:unset liveness readiness --type worker
    """
    keys = [probe_key(kind) for kind in health_types]
    s = session()
    name = s.app(app)
    kind = resolve_type(s, name, proc_type)
    with waiting("Removing healthchecks..."):
        config = s.api.post(f"/v2/apps/{name}/config", {"healthcheck": {kind: dict.fromkeys(keys)}})
    echo("Removing healthchecks... done\n")
    show(s, name, kind, config)


TOPIC = Topic(
    "healthchecks",
    "manage healthchecks for applications",
    (list_checks, set_check, unset_check),
    default="healthchecks:list",
)
