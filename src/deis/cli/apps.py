"""apps:create, apps:list, apps:info, apps:open, apps:logs, apps:run, apps:destroy, apps:transfer."""

from __future__ import annotations

import sys
import time
import webbrowser
from collections.abc import Iterable
from typing import Any

import click

from deis.cli import knownhosts, remotes, terminal
from deis.cli.context import Session, app_option, limit_option, output_option, session
from deis.cli.domains import format_domains
from deis.cli.errors import CLIError
from deis.cli.labels import format_labels
from deis.cli.output import echo, emit, heading, limit_count, page, print_json, waiting
from deis.cli.ps import asleep_types, format_processes
from deis.cli.topic import Topic

NO_DOMAIN = "No domain assigned to {app}"

# --- pure formatting -----------------------------------------------------------------------


def format_apps(apps: list[dict[str, Any]], total: int) -> str:
    lines = [heading("Apps") + limit_count(len(apps), total)]
    lines += [str(app.get("id", "")) for app in apps]
    return "\n".join(lines) + "\n"


def format_app(app: dict[str, Any], url: str) -> str:
    rows = [
        ("updated: ", app.get("updated", "")),
        ("uuid:    ", app.get("uuid", "")),
        ("created: ", app.get("created", "")),
        ("url:     ", url),
        ("owner:   ", app.get("owner", "")),
        ("id:      ", app.get("id", "")),
    ]
    lines = [heading(f"{app.get('id', '')} Application")]
    lines += [f"{label} {value}" for label, value in rows]
    return "\n".join(lines) + "\n"


def expand_url(domain: str, controller_host: str, platform_domain: str | None) -> str:
    """A domain without a dot is the app's default one: `APP` → `APP.<platform domain>`."""
    if "." in domain:
        return domain
    if platform_domain:
        return f"{domain}.{platform_domain}"
    labels = controller_host.split(".")
    labels[0] = domain
    return ".".join(labels)


def web_url(host: str) -> str:
    return host if host.startswith(("http://", "https://")) else f"http://{host}"


def new_lines(previous: list[str], current: list[str]) -> list[str]:
    """The lines of `current` not already shown: what follows the overlap with `previous`."""
    for size in range(min(len(previous), len(current)), 0, -1):
        if previous[-size:] == current[:size]:
            return current[size:]
    return current


def destroy_prompt(app: str) -> str:
    return (
        " !    WARNING: Potentially Destructive Action\n"
        f" !    This command will destroy the application: {app}\n"
        f' !    To proceed, type "{app}" or re-run this command with --confirm={app}\n'
    )


# --- helpers that call the API ------------------------------------------------------------


def app_url(s: Session, app: str, data: dict[str, Any] | None = None) -> str:
    """The app's URL from its first domain, as the Go client shows it ("" without one).

    The default domain (`APP`) is shown as the controller's own `url` of the app, which
    carries the router's port when it is not 80 (`APP.localhost:8080`); `data` is the app
    when already fetched."""
    domains, _ = s.api.get_list(f"/v2/apps/{app}/domains", limit=1)
    if not domains:
        return ""
    domain = str(domains[0].get("domain", ""))
    if "." not in domain:
        url = (data if data is not None else s.api.get(f"/v2/apps/{app}") or {}).get("url")
        if isinstance(url, str) and url.startswith(f"{domain}."):
            return url
    platform_domain = s.platform().get("domain")
    return expand_url(
        domain, s.settings.host, platform_domain if isinstance(platform_domain, str) else None
    )


def remove_app_remotes(s: Session, app: str) -> list[str]:
    """Remove the git remotes of this repository that point at the app."""
    expected = s.repository_url(app)
    names = [
        remote.name
        for remote in remotes.list_remotes() or []
        if remote.url == expected
        or (remote.name == remotes.DEFAULT_REMOTE and remotes.app_from_url(remote.url) == app)
    ]
    for name in names:
        remotes.remove_remote(name)
    return names


def create_remote(s: Session, app: str, remote: str) -> None:
    if not remotes.in_repository():
        echo(
            "No git repository here, so no git remote was added. To add one later, run "
            f"`deis git:remote -a {app}` inside the repository."
        )
        return
    if remotes.remote_url(remote) is not None:
        raise CLIError(
            f"A git remote with the name {remote} already exists. To overwrite this remote run:\n"
            f"deis git:remote --force --remote {remote} --app {app}"
        )
    remotes.add_remote(remote, s.repository_url(app))
    echo(f"Git remote {remote} successfully created for app {app}.")
    if (said := knownhosts.hint(s)) is not None:
        echo(said)


# --- commands --------------------------------------------------------------------------------


@click.command("apps:create", short_help="create a new application")
@click.argument("app_id", metavar="[ID]", required=False)
@click.option("--no-remote", is_flag=True, help="Do not create a 'deis' git remote.")
@click.option("-b", "--buildpack", metavar="URL", help="A buildpack URL to use for this app.")
@click.option(
    "-r",
    "--remote",
    default=remotes.DEFAULT_REMOTE,
    show_default=True,
    help="Name of the git remote to create.",
)
def create(app_id: str | None, no_remote: bool, buildpack: str | None, remote: str) -> None:
    """Creates a new application.

    If no ID is given, the controller generates one. Unless --no-remote is given, a git
    remote pointing at the builder is added to the repository in the current directory.

    \b
    Examples:
      deis apps:create myapp
      deis create myapp --no-remote
      deis create --remote staging -b https://github.com/heroku/heroku-buildpack-python
    """
    s = session()
    with waiting("Creating Application..."):
        app = s.api.post("/v2/apps", {"id": app_id} if app_id else {})
    name = str(app.get("id", app_id))
    echo(f"Creating Application... done, created {name}")
    if buildpack:
        s.api.post(f"/v2/apps/{name}/config", {"values": {"BUILDPACK_URL": buildpack}})
    if no_remote:
        echo(f"If you want to add a git remote for this app later, use `deis git:remote -a {name}`")
    else:
        create_remote(s, name, remote)


@click.command("apps:list", short_help="list accessible applications")
@limit_option
@output_option
def list_apps(limit: int | None, output: str) -> None:
    """Lists applications visible to the current user.

    \b
    Examples:
      deis apps:list
      deis apps -o json
    """
    s = session()
    apps, total = s.api.get_list("/v2/apps", limit)
    if output == "json":
        print_json(apps)
    else:
        page(format_apps(apps, total))


@click.command("apps:info", short_help="view info about an application")
@app_option
@output_option
def info(app: str | None, output: str) -> None:
    """Prints info about the current application: details, processes, domains and labels.

    \b
    Examples:
      deis apps:info -a myapp
      deis info -o json
    """
    s = session()
    name = s.app(app)
    data = s.api.get(f"/v2/apps/{name}")
    if output == "json":
        print_json(data)
        return
    url = app_url(s, name, data) or NO_DOMAIN.format(app=name)
    emit(format_app(data, url))
    echo()
    try:
        pods, _ = s.api.get_list(f"/v2/apps/{name}/pods")
        emit(format_processes(name, pods, asleep_types(s, name)))
    except CLIError as exc:
        if exc.status != 503:
            raise
        emit(heading(f"{name} Processes") + f"\n(not available: {exc.message})\n")
    echo()
    try:
        emit(format_requests(name, s.api.get(f"/v2/apps/{name}/metrics")))
        echo()
    except CLIError as exc:
        if exc.status not in (404, 503):  # 404: a controller without the extension
            raise
    domains, total = s.api.get_list(f"/v2/apps/{name}/domains")
    emit(format_domains(name, domains, total))
    echo()
    settings = s.api.get(f"/v2/apps/{name}/settings") or {}
    emit(format_labels(name, settings.get("label") or {}))
    echo()


def format_requests(app: str, metrics: dict[str, Any]) -> str:
    """What the router counted: requests by status class and latency."""
    statuses = metrics.get("statuses") or {}
    latency = metrics.get("latency_ms") or {}
    classes = "  ".join(f"{k}: {statuses[k]}" for k in sorted(statuses)) or "none yet"
    lines = [
        heading(f"{app} Requests"),
        f"requests:  {metrics.get('requests', 0)}",
        f"statuses:  {classes}",
        f"latency:   p50 {latency.get('p50', 0)} ms, p99 {latency.get('p99', 0)} ms",
    ]
    return "\n".join(lines) + "\n"


@click.command("apps:open", short_help="open the application in a browser")
@app_option
def open_app(app: str | None) -> None:
    """Opens a URL to the application in the default browser ($BROWSER).

    \b
    Examples:
      deis apps:open -a myapp
      deis open
    """
    s = session()
    name = s.app(app)
    url = app_url(s, name)
    if not url:
        raise CLIError(NO_DOMAIN.format(app=name))
    if not webbrowser.open(web_url(url)):
        echo(f"Could not open a browser; the application's URL is {web_url(url)}")


@click.command("apps:logs", short_help="view aggregated application logs")
@app_option
@click.option(
    "-n",
    "--lines",
    type=click.IntRange(min=1),
    metavar="LINES",
    help="The number of lines to display.",
)
@click.option(
    "-f", "--follow", is_flag=True, help="Keep printing new lines as they come (Ctrl-C stops)."
)
@click.option(
    "-t",
    "--type",
    "proc_type",
    metavar="TYPE",
    help="Only what the replicas of this process type print (no platform events).",
)
@click.option(
    "-r",
    "--replica",
    metavar="NAME",
    help="Only what this replica prints, named as deis ps shows it.",
)
def logs(
    app: str | None, lines: int | None, follow: bool, proc_type: str | None, replica: str | None
) -> None:
    """Retrieves the most recent log events.

    \b
    Examples:
      deis apps:logs -a myapp
      deis logs -n 50
      deis logs -f
      deis logs --type web -f
      deis logs --replica myapp-web-1234567890-abcde
    """
    s = session()
    name = s.app(app)
    params: dict[str, Any] = {"log_lines": lines} if lines else {}
    if proc_type:
        params["type"] = proc_type
    if replica:
        params["replica"] = replica
    if follow:
        follow_logs(s, name, params)
        return
    text = s.api.get_text(f"/v2/apps/{name}/logs", params=params)
    page(text if text.endswith("\n") or not text else text + "\n")


def follow_logs(s: Session, app: str, params: dict[str, Any]) -> None:
    """Stream with the extension `?follow=true` where the controller offers it (it answers
    `GET /v2/platform`); poll a Deis v2 controller, which would ignore `follow`, or one that
    refuses it."""
    try:
        if s.platform():
            try:
                print_lines(
                    s.api.stream_lines(f"/v2/apps/{app}/logs", {**params, "follow": "true"})
                )
                return
            except CLIError as exc:
                if exc.status not in (400, 405, 501):
                    raise
        poll_logs(s, app, params)
    except KeyboardInterrupt:
        return


def print_lines(lines: Iterable[str]) -> None:
    for line in lines:
        echo(line)
        sys.stdout.flush()


def poll_logs(s: Session, app: str, params: dict[str, Any], interval: float = 2.0) -> None:
    shown: list[str] = []
    try:
        while True:
            current = s.api.get_text(f"/v2/apps/{app}/logs", params=params).splitlines()
            print_lines(new_lines(shown, current))
            shown = current
            time.sleep(interval)
    except KeyboardInterrupt:
        return


@click.command(
    "apps:run",
    short_help="run a command in an ephemeral app container",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@app_option
@click.option(
    "-i/-T",
    "--interactive/--no-interactive",
    "interactive",
    default=None,
    help="Run on a terminal (-i) or not (-T). Default: on a terminal when stdin and "
    "stdout are terminals and the controller offers it.",
)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run(app: str | None, interactive: bool | None, command: tuple[str, ...]) -> None:
    """Runs a command inside an ephemeral app container; exits with the command's exit code.

    On a terminal, the command gets one too (`deis run bash` is a shell in the app's
    container); elsewhere, as in scripts, its output is shown when it ends.

    Options of deis (-a, -i, -T) come before the command: everything from the command's
    first word on is the command, options included (`--` may separate them too).

    \b
    Examples:
      deis apps:run -a myapp python manage.py migrate
      deis run bash
      deis run ls -la /app
      deis run -a myapp -- env
    """
    s = session()
    name = s.app(app)
    text = " ".join(command)
    if terminal.wants_terminal(interactive, sys.stdin.isatty(), sys.stdout.isatty()):
        try:
            code = terminal.run(s.settings, name, text, sys.stdin.fileno(), sys.stdout.fileno())
        except terminal.NotOffered:
            if interactive:
                raise
        else:
            sys.exit(code)
    echo(f"Running '{text}'...")
    with waiting(f"Running '{text}'..."):
        result = s.api.post(f"/v2/apps/{name}/run", {"command": text}) or {}
    output = str(result.get("output", ""))
    code = int(result.get("exit_code", 0) or 0)
    click.echo(output, nl=False, err=code != 0)
    if code != 0:
        sys.exit(code)


@click.command("apps:destroy", short_help="destroy an application")
@app_option
@click.option("--confirm", metavar="APP", help="Skips the prompt for the application name.")
def destroy(app: str | None, confirm: str | None) -> None:
    """Destroys an application and everything it runs.

    Asks for the application's name unless --confirm gives it. When the app was found
    from the git remote, the app's git remotes are removed too.

    \b
    Examples:
      deis apps:destroy -a myapp --confirm=myapp
      deis destroy
    """
    s = session()
    name = s.app(app)
    # Whether it may be destroyed by this user, before asking and saying "Destroying...":
    # the app exists for them (404 otherwise) and they own it or are an administrator.
    owner = (s.api.get(f"/v2/apps/{name}") or {}).get("owner")
    if owner != s.settings.username and not (s.api.get("/v2/auth/whoami") or {}).get(
        "is_superuser"
    ):
        raise CLIError(
            f"Only the app's owner ({owner}) or an administrator can destroy {name}.", status=403
        )
    if confirm is None:
        echo(destroy_prompt(name))
        confirm = click.prompt(">", default="", show_default=False, prompt_suffix=" ")
    if confirm != name:
        raise CLIError(f"App {name} does not match confirm {confirm}, aborting.")
    started = time.monotonic()
    echo(f"Destroying {name}...")
    with waiting(f"Destroying {name}..."):
        s.api.delete(f"/v2/apps/{name}")
    echo(f"done in {int(time.monotonic() - started)}s")
    if app is None and remove_app_remotes(s, name):
        echo(f"Git remotes for app {name} removed.")


@click.command("apps:transfer", short_help="transfer app ownership to another user")
@click.argument("username")
@app_option
def transfer(username: str, app: str | None) -> None:
    """Transfers app ownership to another user (owner or admin only).

    \b
    Examples:
      deis apps:transfer bob -a myapp
    """
    s = session()
    name = s.app(app)
    s.api.post(f"/v2/apps/{name}", {"owner": username})
    echo(f"Transferring {name} to {username}... done")


TOPIC = Topic(
    "apps",
    "manage applications used to provide services",
    (create, list_apps, info, open_app, logs, run, destroy, transfer),
    default="apps:list",
)
