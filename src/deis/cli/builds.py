"""builds:list, builds:info, builds:create (`deis pull`)."""

from __future__ import annotations

import json
from typing import Any

import click

from deis.cli.apps import app_url, web_url
from deis.cli.context import app_option, limit_option, output_option, session
from deis.cli.errors import CLIError
from deis.cli.output import echo, heading, limit_count, page, print_json, table, waiting
from deis.cli.topic import Topic
from deis.cli.waking import wake_if_asleep, wake_option

# --- pure ---------------------------------------------------------------------------------


def parse_procfile(text: str) -> dict[str, str]:
    """A Procfile (`web: cmd` lines, or a one-line YAML/JSON map) → {type: command}."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        return parse_procfile_mapping(text)
    procfile: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        kind, sep, command = line.partition(":")
        if not sep or not kind.strip() or not command.strip():
            raise CLIError(f"'{line}' is not a Procfile line of the form 'type: command'")
        procfile[kind.strip()] = unquote(command.strip())
    return procfile


def parse_procfile_mapping(text: str) -> dict[str, str]:
    try:
        data = json.loads(text)
    except ValueError:
        inner = text.strip("{} ")
        return parse_procfile("\n".join(part for part in inner.split(",")))
    if not isinstance(data, dict):
        raise CLIError("The procfile must map process types to commands")
    return {str(key): str(value) for key, value in data.items()}


def unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def format_builds(app: str, builds: list[dict[str, Any]], total: int) -> str:
    title = heading(f"{app} Builds") + limit_count(len(builds), total) + "\n"
    return title + table((b.get("uuid", ""), b.get("created", "")) for b in builds)


def format_attempts(app: str, attempts: list[dict[str, Any]], total: int) -> str:
    """Every push the builder handled: id, status, when, commit, release or reason."""
    title = heading(f"{app} Build Attempts") + limit_count(len(attempts), total) + "\n"
    rows = [
        (
            a.get("uuid", ""),
            a.get("status", ""),
            a.get("started", ""),
            str(a.get("sha") or "")[:7] or "-",
            f"v{a['version']}" if a.get("version") else str(a.get("reason") or "")[:60],
        )
        for a in attempts
    ]
    return title + table(rows)


def format_build_info(attempt: dict[str, Any] | None, build: dict[str, Any] | None) -> str:
    """The build's fields (and the attempt's), for `builds:info`."""
    uuid = (attempt or build or {}).get("uuid", "")
    rows: list[tuple[str, Any]] = [("uuid:", uuid)]
    if attempt is not None:
        rows += [
            ("status:", attempt.get("status", "")),
            ("owner:", attempt.get("owner", "")),
            ("sha:", attempt.get("sha", "")),
            ("started:", attempt.get("started", "")),
            ("finished:", attempt.get("finished") or "-"),
        ]
        if attempt.get("version"):
            rows.append(("release:", f"v{attempt['version']}"))
        if attempt.get("reason"):
            rows.append(("reason:", attempt["reason"]))
    if build is not None:
        if attempt is None:
            rows += [("owner:", build.get("owner", "")), ("sha:", build.get("sha") or "-")]
        rows += [
            ("image:", build.get("image", "")),
            ("procfile:", json.dumps(build.get("procfile") or {}, sort_keys=True)),
            ("created:", build.get("created", "")),
        ]
    lines = [heading(f"Build {uuid}")]
    lines += [f"{name.ljust(10)} {value}" for name, value in rows]
    return "\n".join(lines) + "\n"


# --- commands --------------------------------------------------------------------------------


@click.command("builds:list", short_help="list build history for an application")
@app_option
@limit_option
@output_option
@click.option(
    "--all",
    "every",
    is_flag=True,
    help="Every push the builder handled, failed ones too (the last ones are kept).",
)
def list_builds(app: str | None, limit: int | None, output: str, every: bool) -> None:
    """Lists build history for an application.

    \b
    Examples:
      deis builds:list -a myapp
      deis builds -o json
      deis builds --all
    """
    s = session()
    name = s.app(app)
    path = f"/v2/apps/{name}/attempts" if every else f"/v2/apps/{name}/builds"
    found, total = s.api.get_list(path, limit)
    if output == "json":
        print_json(found)
    elif every:
        page(format_attempts(name, found, total))
    else:
        page(format_builds(name, found, total))


@click.command("builds:info", short_help="print a build's details and its output")
@click.argument("build_id", metavar="UUID")
@app_option
@output_option
def info(build_id: str, app: str | None, output: str) -> None:
    """Prints a build's details and what it printed, also for a push that failed.

    UUID is the build's uuid (deis builds) or the 8 characters git push showed
    (-----> Build 1a2b3c4d started).

    \b
    Examples:
      deis builds:info 1a2b3c4d -a myapp
      deis builds:info 4a0bd6bb-6e7b-4d5e-9c59-2f8b5e0e9d4f -o json
    """
    s = session()
    name = s.app(app)
    attempt: dict[str, Any] | None = None
    unknown: CLIError | None = None
    try:
        attempt = s.api.get(f"/v2/apps/{name}/attempts/{build_id}")
    except CLIError as exc:
        if exc.status not in (404, 503):
            raise
        unknown = exc
    build_uuid = attempt["uuid"] if attempt else build_id
    build: dict[str, Any] | None = None
    if attempt is None or attempt.get("version"):
        try:
            build = s.api.get(f"/v2/apps/{name}/builds/{build_uuid}")
        except CLIError as exc:
            if exc.status != 404:
                raise
            if attempt is None:  # neither an attempt kept nor a Build: say the first
                raise (unknown or exc) from None
    text = ""
    if attempt is not None:
        text = s.api.get_text(f"/v2/apps/{name}/builds/{build_uuid}/log")
    if output == "json":
        print_json({**(build or {}), **(attempt or {}), "output": text})
        return
    shown = format_build_info(attempt, build) + "\n"
    shown += text if attempt is not None else "(no output was kept for this build)\n"
    page(shown)


@click.command("builds:create", short_help="imports an image and deploys as a new release")
@click.argument("image")
@app_option
@click.option(
    "-p", "--procfile", metavar="PROCFILE", help="A Procfile as a string, e.g. 'web: ./server'."
)
@wake_option
def create(image: str, app: str | None, procfile: str | None, wake: bool) -> None:
    """Creates a new build of an application: imports IMAGE and deploys it as a new release.

    IMAGE is a fully-qualified image with its tag, from a registry the platform can reach
    (e.g. registry.example.com:5000/example-go:latest).

    \b
    Examples:
      deis builds:create registry.example.com/example-go:latest -a myapp
      deis pull example/go:1.0 --procfile 'web: ./server'
    """
    body: dict[str, Any] = {"image": image}
    if procfile:
        body["procfile"] = parse_procfile(procfile)
    s = session()
    name = s.app(app)
    before = s.api.get(f"/v2/apps/{name}") or {}
    with waiting("Creating build..."):
        s.api.post(f"/v2/apps/{name}/builds", body)
    echo("Creating build... done")
    # As a push ends: the release, what runs, the URL.
    latest, _ = s.api.get_list(f"/v2/apps/{name}/releases", 1)
    after = s.api.get(f"/v2/apps/{name}") or {}
    url = app_url(s, name, after)
    echo(
        format_deployed(
            name,
            latest[0].get("version") if latest else None,
            web_url(url) if url else "",
            before.get("structure") or {},
            after.get("structure") or {},
        ),
        nl=False,
    )
    if wake:
        wake_if_asleep(s, name)


def format_deployed(
    app: str, version: object, url: str, before: dict[str, int], after: dict[str, int]
) -> str:
    """What `deis pull` says once deployed, as the end of a push does: the release, the
    types that run and how to start those a new build left at 0, the URL."""
    lines = [f"Done, {app}:v{version} deployed to Deis"] if version is not None else []
    new = [t for t in sorted(after) if t not in before]
    if new:
        running = " ".join(f"{t}={n}" for t, n in sorted(after.items()) if n > 0)
        lines.append(f"Running: {running}" if running else "Nothing runs: every type is at 0")
        lines += [f"{t}=0: `deis scale {t}=1` starts it" for t in new if not after[t]]
    if url:
        lines += ["", url]
    return "\n".join(lines) + "\n" if lines else ""


TOPIC = Topic(
    "builds",
    "manage builds created using 'git push'",
    (list_builds, info, create),
    default="builds:list",
)
