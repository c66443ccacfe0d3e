"""addons, addons:services, addons:create, addons:info, addons:attach, addons:detach,
addons:destroy, addons:upgrade, addons:backup(s), addons:backups:(un)schedule,
addons:restore, addons:connect (an extension): backing services attached to apps by config vars."""

from __future__ import annotations

import sys
from typing import Any

import click

from deis.cli.context import app_option, output_option, session
from deis.cli.errors import CLIError
from deis.cli.output import echo, heading, page, print_json, table, waiting
from deis.cli.topic import Topic


def _attached(addon: dict[str, Any]) -> str:
    return ", ".join(f"{a['app']} ({a['var']})" for a in addon.get("attachments", [])) or "-"


def format_list(title: str, addons: list[dict[str, Any]]) -> str:
    lines = heading(title) + "\n"
    if not addons:
        return lines + "No add-ons: `deis addons:create postgres -a APP` makes one.\n"
    rows = [(a["name"], a["service"], a["plan"], a["state"], _attached(a)) for a in addons]
    return lines + table(rows, ("NAME", "SERVICE", "PLAN", "STATE", "ATTACHED TO"))


def _disk(addon: dict[str, Any]) -> str:
    size = str(addon.get("disk") or "?")
    used = addon.get("disk_used")
    if not isinstance(used, int):
        return size
    return f"{size} ({used / 1_000_000:.1f} MB used)"


def describe_schedule(schedule: dict[str, Any]) -> str:
    """`daily at 02:00 (Europe/Paris), keeping the last 7`."""
    return f"daily at {schedule['at']} ({schedule['tz']}), keeping the last {schedule['keep']}"


def _backups(addon: dict[str, Any]) -> str:
    schedule = addon.get("backup_schedule")
    if not schedule:
        return "on demand only"
    last = schedule.get("last_run") or "not yet"
    return describe_schedule(schedule) + f" (last ran: {last}; next: {schedule['next_run']})"


def format_info(addon: dict[str, Any]) -> str:
    values = {
        "service": addon["service"],
        "plan": f"{addon['plan']} ({addon['memory']} memory, {addon['cpus']:g} CPU,"
        f" {addon['connections']} connections)",
        "state": addon["state"],
        "disk": _disk(addon),
        "app": f"{addon['app']} (its owner or an administrator may destroy it)",
        "created by": addon["owner"],
        "attached to": _attached(addon),
        "backups": _backups(addon),
    }
    rows = [(f"{key}:", value) for key, value in values.items()]
    return heading(addon["name"]) + "\n" + table(rows)


@click.command("addons:services", short_help="list the services and their plans")
@output_option
def services(output: str) -> None:
    """Lists the backing services this platform runs for apps, and their plans (sizes).

    \b
    Examples:
      deis addons:services
    """
    found, _ = session().api.get_list("/v2/addons/services")
    if output == "json":
        print_json(found)
        return
    rows = [
        (
            f"{s['name']}:{p['name']}",
            s["title"],
            p["description"] + (" (default)" if p.get("default") else ""),
        )
        for s in found
        for p in s["plans"]
    ]
    page(heading("Add-on Services") + "\n" + table(rows, ("SERVICE:PLAN", "SERVER", "SIZE")))


@click.command("addons:list", short_help="list add-ons")
@app_option
@output_option
def list_addons(app: str | None, output: str) -> None:
    """Lists the add-ons of an application (made for it or attached to it); without -a,
    every add-on you can see.

    \b
    Examples:
      deis addons -a myapp
      deis addons:list
    """
    s = session()
    path, title = ("/v2/addons", "Add-ons") if app is None else (f"/v2/apps/{app}/addons", "")
    found, _ = s.api.get_list(path)
    if output == "json":
        print_json(found)
    else:
        page(format_list(title or f"{app} Add-ons", found))


@click.command("addons:create", short_help="make an add-on and attach it")
@click.argument("service", metavar="SERVICE[:PLAN]")
@click.option("--as", "as_name", metavar="NAME", help="Attach as NAME_URL instead.")
@app_option
def create(service: str, as_name: str | None, app: str | None) -> None:
    """Makes a server of SERVICE (postgres or redis; see addons:services for the plans)
    for the application, waits until it accepts connections, and attaches it: a new
    release with DATABASE_URL (redis: REDIS_URL; with --as NAME: NAME_URL).

    \b
    Examples:
      deis addons:create postgres -a myapp
      deis addons:create redis:standard --as cache -a myapp
    """
    s = session()
    name = s.app(app)
    body: dict[str, Any] = {"service": service}
    if as_name:
        body["as"] = as_name
    with waiting(f"Creating {service} for {name}..."):
        made = s.api.post(f"/v2/apps/{name}/addons", body)
    echo(f"Creating {service} for {name}... done")
    var = next((a["var"] for a in made["attachments"] if a["app"] == name), "")
    echo(f"{made['name']} ({made['plan']}) is attached to {name} as {var}")


@click.command("addons:info", short_help="show an add-on")
@click.argument("addon", metavar="NAME")
@output_option
def info(addon: str, output: str) -> None:
    """Shows an add-on: its service, plan, state, the app it belongs to and the apps it
    is attached to, with their config var.

    \b
    Examples:
      deis addons:info postgres-calm-1234
    """
    found = session().api.get(f"/v2/addons/{addon}")
    if output == "json":
        print_json(found)
    else:
        page(format_info(found))


@click.command("addons:attach", short_help="attach an add-on to another app")
@click.argument("addon", metavar="NAME")
@click.option("--as", "as_name", metavar="NAME", help="Attach as NAME_URL instead.")
@app_option
def attach(addon: str, as_name: str | None, app: str | None) -> None:
    """Attaches an existing add-on to the application (one database shared by two apps):
    a new release with its config var.

    \b
    Examples:
      deis addons:attach postgres-calm-1234 -a reports
      deis addons:attach postgres-calm-1234 --as shop -a reports
    """
    s = session()
    name = s.app(app)
    with waiting(f"Attaching {addon} to {name}..."):
        done = s.api.put(f"/v2/apps/{name}/addons/{addon}", {"as": as_name} if as_name else {})
    var = next((a["var"] for a in done["attachments"] if a["app"] == name), "")
    echo(f"Attaching {addon} to {name}... done, as {var}")


@click.command("addons:detach", short_help="detach an add-on from an app")
@click.argument("addon", metavar="NAME")
@app_option
def detach(addon: str, app: str | None) -> None:
    """Detaches an add-on from the application: a new release without its config var.
    The add-on and its data stay.

    \b
    Examples:
      deis addons:detach postgres-calm-1234 -a reports
    """
    s = session()
    name = s.app(app)
    with waiting(f"Detaching {addon} from {name}..."):
        s.api.delete(f"/v2/apps/{name}/addons/{addon}")
    echo(f"Detaching {addon} from {name}... done")


@click.command("addons:destroy", short_help="destroy an add-on and its data")
@click.argument("addon", metavar="NAME")
@click.option("--confirm", metavar="NAME", help="The add-on's name again, to confirm.")
@click.option("--force", is_flag=True, help="Detach it from every app first.")
def destroy(addon: str, confirm: str | None, force: bool) -> None:
    """Destroys an add-on: its server and its data are gone. Refused while it is attached
    to an app, unless --force (which detaches it first: new releases).

    \b
    Examples:
      deis addons:destroy postgres-calm-1234 --confirm postgres-calm-1234
    """
    if confirm is None:
        confirm = click.prompt(f"Type {addon} to destroy it and its data", default="")
    if confirm != addon:
        raise CLIError(f"Destroy aborted: confirm with the add-on's name ({addon}).")
    s = session()
    params = {"confirm": confirm, **({"force": "true"} if force else {})}
    with waiting(f"Destroying {addon}..."):
        s.api.delete(f"/v2/addons/{addon}", params=params)
    echo(f"Destroying {addon}... done")


def _change_plan(addon: str, plan: str) -> None:
    s = session()
    with waiting(f"Changing {addon} to {plan}..."):
        changed = s.api.patch(f"/v2/addons/{addon}", {"plan": plan})
    echo(f"Changing {addon} to {plan}... done")
    echo(f"{changed['name']} is on {_plan(changed)}")


def _plan(addon: dict[str, Any]) -> str:
    return (
        f"{addon['plan']} ({addon['memory']} memory, {addon['cpus']:g} CPU,"
        f" {addon['connections']} connections, {addon.get('disk', '?')} disk)"
    )


@click.command("addons:upgrade", short_help="move an add-on to another plan")
@click.argument("addon", metavar="NAME")
@click.argument("plan", metavar="PLAN")
def upgrade(addon: str, plan: str) -> None:
    """Moves an add-on to another plan of its service (see addons:services): its server
    restarts with the plan's memory, CPU and connections, on the same data, and its disk
    grows to the plan's. A disk never shrinks, so a plan with a smaller disk is refused
    (make a new add-on and restore a backup into it instead). The apps reconnect as
    after any restart of their database.

    \b
    Examples:
      deis addons:upgrade postgres-calm-1234 standard
    """
    _change_plan(addon, plan)


@click.command("addons:backup", short_help="back up an add-on's data now")
@click.argument("addon", metavar="NAME")
def backup(addon: str) -> None:
    """Takes a snapshot of an add-on's data now (pg_dump; a Redis RDB), kept in the
    platform's object store until the add-on is destroyed.

    \b
    Examples:
      deis addons:backup postgres-calm-1234
    """
    s = session()
    with waiting(f"Backing up {addon}..."):
        made = s.api.post(f"/v2/addons/{addon}/backups", {})
    echo(f"Backing up {addon}... done: {made['id']} ({_size(made['size'])})")


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


@click.command("addons:backups", short_help="list an add-on's backups")
@click.argument("addon", metavar="NAME")
@output_option
def backups(addon: str, output: str) -> None:
    """Lists the backups of an add-on, newest first.

    \b
    Examples:
      deis addons:backups postgres-calm-1234
    """
    found, _ = session().api.get_list(f"/v2/addons/{addon}/backups")
    if output == "json":
        print_json(found)
        return
    rows = [(b["id"], b["created"], _size(b["size"]), b["owner"]) for b in found]
    text = table(rows, ("ID", "TAKEN", "SIZE", "BY")) if rows else "No backups.\n"
    page(heading(f"{addon} Backups") + "\n" + text)


@click.command("addons:backups:schedule", short_help="back up an add-on every day")
@click.argument("addon", metavar="NAME")
@click.option("--at", "at", metavar="HH:MM", required=True, help="The time of day.")
@click.option("--tz", "tz", metavar="ZONE", help="Its time zone, like Europe/Paris (default UTC).")
@click.option("--keep", type=int, metavar="N", help="Scheduled backups kept, 1 to 90 (default 7).")
def schedule(addon: str, at: str, tz: str | None, keep: int | None) -> None:
    """Backs up an add-on every day at a time of day (of a time zone), keeping the last N
    backups the schedule took (older ones are deleted; backups taken with addons:backup
    are kept). Scheduling again changes the schedule.

    \b
    Examples:
      deis addons:backups:schedule postgres-calm-1234 --at 02:00
      deis addons:backups:schedule postgres-calm-1234 --at 02:00 --tz Europe/Paris --keep 14
    """
    body: dict[str, Any] = {"at": at}
    if tz:
        body["tz"] = tz
    if keep is not None:
        body["keep"] = keep
    made = session().api.put(f"/v2/addons/{addon}/backups/schedule", body)
    echo(f"Backups of {addon}: {describe_schedule(made)}")


@click.command("addons:backups:unschedule", short_help="stop an add-on's daily backups")
@click.argument("addon", metavar="NAME")
def unschedule(addon: str) -> None:
    """Stops an add-on's daily backups: it is backed up on demand only (addons:backup).
    The backups taken stay.

    \b
    Examples:
      deis addons:backups:unschedule postgres-calm-1234
    """
    session().api.delete(f"/v2/addons/{addon}/backups/schedule")
    echo(f"Backups of {addon}: on demand only")


@click.command("addons:restore", short_help="restore an add-on's data from a backup")
@click.argument("addon", metavar="NAME")
@click.argument("backup_id", metavar="BACKUP")
@click.option("--confirm", metavar="NAME", help="The add-on's name again, to confirm.")
def restore(addon: str, backup_id: str, confirm: str | None) -> None:
    """Replaces an add-on's data with a backup's: what was written since is lost. The
    attached apps see the restored data at once.

    \b
    Examples:
      deis addons:restore postgres-calm-1234 b20261206173008 --confirm postgres-calm-1234
    """
    if confirm is None:
        confirm = click.prompt(f"Type {addon} to replace its data", default="")
    if confirm != addon:
        raise CLIError(f"Restore aborted: confirm with the add-on's name ({addon}).")
    s = session()
    with waiting(f"Restoring {addon} from {backup_id}..."):
        s.api.post(f"/v2/addons/{addon}/backups/{backup_id}/restore", {})
    echo(f"Restoring {addon} from {backup_id}... done")


@click.command("addons:connect", short_help="psql or redis-cli to an add-on")
@click.argument("addon", metavar="NAME")
def connect(addon: str) -> None:
    """Opens the add-on's own client on your terminal, signed in: psql for PostgreSQL,
    redis-cli for Redis. It runs on the platform (as `deis run` does), so the add-on is
    never published; exit it to come back.

    \b
    Examples:
      deis addons:connect postgres-calm-1234
    """
    from urllib.parse import quote

    from deis.cli import terminal

    s = session()
    client = "redis-cli" if addon.startswith("redis-") else "psql"
    route = f"addons/{quote(addon, safe='')}/connect"
    try:
        code = terminal.run(
            s.settings, addon, client, sys.stdin.fileno(), sys.stdout.fileno(), route
        )
    except terminal.NotOffered as exc:
        raise CLIError(str(exc)) from None
    sys.exit(code)


TOPIC = Topic(
    "addons",
    "backing services (PostgreSQL, Redis) attached to your applications",
    (
        list_addons,
        services,
        create,
        info,
        attach,
        detach,
        destroy,
        upgrade,
        backup,
        backups,
        schedule,
        unschedule,
        restore,
        connect,
    ),
    default="addons:list",
)
