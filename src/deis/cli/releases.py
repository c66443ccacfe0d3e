"""releases:list, releases:info, releases:rollback."""

from __future__ import annotations

from typing import Any

import click

from deis.cli.context import app_option, limit_option, output_option, session
from deis.cli.errors import CLIError
from deis.cli.output import echo, emit, heading, limit_count, page, print_json, table, waiting
from deis.cli.topic import Topic
from deis.cli.waking import wake_if_asleep, wake_option

# --- pure ---------------------------------------------------------------------------------


def parse_version(text: str) -> int:
    """`v3` or `3` → 3."""
    digits = text[1:] if text.startswith("v") else text
    if not digits.isdigit():
        raise CLIError(f"{text} is not in the form 'v#'")
    return int(digits)


def format_releases(app: str, releases: list[dict[str, Any]], total: int) -> str:
    title = heading(f"{app} Releases") + limit_count(len(releases), total) + "\n"
    rows = [
        (
            f"v{r.get('version', '')}",
            r.get("created", ""),
            f"{r.get('summary', '')}{' (failed)' if r.get('failed') else ''}",
        )
        for r in releases
    ]
    return title + table(rows)


def format_release(app: str, release: dict[str, Any]) -> str:
    lines = [heading(f"{app} Release v{release.get('version', '')}")]
    if release.get("build"):
        lines.append(f"build:    {release['build']}")
    for label in ("config", "owner", "created", "summary", "updated", "uuid"):
        lines.append(f"{(label + ':').ljust(9)} {release.get(label, '')}")
    if release.get("failed"):
        lines.append("failed:   true")
        failure = str(release.get("failure") or "").rstrip()
        if failure:
            first, *rest = failure.splitlines()
            lines.append(f"failure:  {first}")
            lines.extend(f"          {line}" for line in rest)
    return "\n".join(lines) + "\n"


def rollback_message(version: int | None) -> str:
    return "Rolling back one release..." if version is None else f"Rolling back to v{version}..."


# --- commands --------------------------------------------------------------------------------


@click.command("releases:list", short_help="list an application's release history")
@app_option
@limit_option
@output_option
def list_releases(app: str | None, limit: int | None, output: str) -> None:
    """Lists release history for an application.

    \b
    Examples:
      deis releases:list -a myapp
      deis releases -l 5
      deis releases -o json
    """
    s = session()
    name = s.app(app)
    releases, total = s.api.get_list(f"/v2/apps/{name}/releases", limit)
    if output == "json":
        print_json(releases)
    else:
        page(format_releases(name, releases, total))


@click.command("releases:info", short_help="print information about a specific release")
@click.argument("version")
@app_option
@output_option
def info(version: str, app: str | None, output: str) -> None:
    """Prints info about a particular release.

    VERSION is the release of the application, such as 'v1'.

    \b
    Examples:
      deis releases:info v1 -a myapp
      deis releases:info 3 -o json
    """
    number = parse_version(version)
    s = session()
    name = s.app(app)
    release = s.api.get(f"/v2/apps/{name}/releases/v{number}")
    if output == "json":
        print_json(release)
    else:
        emit(format_release(name, release))


@click.command("releases:rollback", short_help="return to a previous release")
@click.argument("version", required=False)
@app_option
@wake_option
def rollback(version: str | None, app: str | None, wake: bool) -> None:
    """Rolls back to a previous application release, by making a new release from it.

    Without VERSION, rolls back to the release before the current one.

    \b
    Examples:
      deis releases:rollback -a myapp
      deis rollback v2
    """
    number = parse_version(version) if version else None
    s = session()
    name = s.app(app)
    message = rollback_message(number)
    with waiting(message):
        result = (
            s.api.post(f"/v2/apps/{name}/releases/rollback", {"version": number} if number else {})
            or {}
        )
    echo(f"{message} done, v{result.get('version', '?')}")
    if wake:
        wake_if_asleep(s, name)


TOPIC = Topic(
    "releases",
    "manage releases of an application",
    (list_releases, info, rollback),
    default="releases:list",
)
