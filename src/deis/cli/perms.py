"""perms:list, perms:create, perms:delete (`deis sharing`)."""

from __future__ import annotations

from typing import Any

import click

from deis.cli.context import Session, app_option, limit_option, output_option, session
from deis.cli.output import echo, heading, limit_count, page, print_json
from deis.cli.topic import Topic

# --- pure ---------------------------------------------------------------------------------


def format_app_users(app: str, users: list[str]) -> str:
    return "\n".join([heading(f"{app}'s Users"), *users]) + "\n"


def format_admins(users: list[str], total: int) -> str:
    return "\n".join([heading("Administrators") + limit_count(len(users), total), *users]) + "\n"


def usernames(items: list[Any]) -> list[str]:
    return [
        str(item.get("username", "")) if isinstance(item, dict) else str(item) for item in items
    ]


def admin_option(func: Any) -> Any:
    return click.option(
        "--admin", is_flag=True, help="Work on system administrator privileges instead."
    )(func)


def app_of(s: Session, app: str | None, admin: bool) -> str:
    return "" if admin else s.app(app)


# --- commands --------------------------------------------------------------------------------


@click.command("perms:list", short_help="list permissions granted on an app")
@app_option
@admin_option
@limit_option
@output_option
def list_perms(app: str | None, admin: bool, limit: int | None, output: str) -> None:
    """Lists all users with permission to use an app, or all system administrators (--admin).

    \b
    Examples:
      deis perms:list -a myapp
      deis perms:list --admin
      deis sharing -o json
    """
    s = session()
    if admin:
        items, total = s.api.get_list("/v2/admin/perms", limit)
        if output == "json":
            print_json(items)
        else:
            page(format_admins(usernames(items), total))
        return
    name = app_of(s, app, admin)
    data = s.api.get(f"/v2/apps/{name}/perms") or {}
    users = usernames(data.get("users", []) if isinstance(data, dict) else data)
    if output == "json":
        print_json(users)
    else:
        page(format_app_users(name, users))


@click.command("perms:create", short_help="create a new permission for a user")
@click.argument("username")
@app_option
@admin_option
def create(username: str, app: str | None, admin: bool) -> None:
    """Gives another user permission to use an app, or system administrator privileges (--admin).

    \b
    Examples:
      deis perms:create bob -a myapp
      deis perms:create bob --admin
      deis sharing:add bob
    """
    s = session()
    if admin:
        s.api.post("/v2/admin/perms", {"username": username})
        echo(f"Adding {username} to system administrators... done")
        return
    name = app_of(s, app, admin)
    s.api.post(f"/v2/apps/{name}/perms", {"username": username})
    echo(f"Adding {username} to {name} collaborators... done")


@click.command("perms:delete", short_help="delete a permission for a user")
@click.argument("username")
@app_option
@admin_option
def delete(username: str, app: str | None, admin: bool) -> None:
    """Revokes another user's permission to use an app, or their administrator privileges.

    \b
    Examples:
      deis perms:delete bob -a myapp
      deis perms:delete bob --admin
      deis sharing:remove bob
    """
    s = session()
    if admin:
        s.api.delete(f"/v2/admin/perms/{username}")
        echo(f"Removing {username} from system administrators... done")
        return
    name = app_of(s, app, admin)
    s.api.delete(f"/v2/apps/{name}/perms/{username}")
    echo(f"Removing {username} from {name} collaborators... done")


TOPIC = Topic(
    "perms",
    "manage permissions for applications",
    (list_perms, create, delete),
    default="perms:list",
)
