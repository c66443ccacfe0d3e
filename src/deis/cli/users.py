"""users:list (admins)."""

from __future__ import annotations

from typing import Any

import click

from deis.cli.context import limit_option, output_option, session
from deis.cli.output import heading, limit_count, page, print_json
from deis.cli.topic import Topic


def format_users(users: list[dict[str, Any]], total: int) -> str:
    lines = [heading("Users (*=admin)") + limit_count(len(users), total)]
    lines += [
        ("*" if user.get("is_superuser") else "") + str(user.get("username", "")) for user in users
    ]
    return "\n".join(lines) + "\n"


@click.command("users:list", short_help="list all registered users")
@limit_option
@output_option
def list_users(limit: int | None, output: str) -> None:
    """Lists all registered users. Requires admin privileges.

    \b
    Examples:
      deis users:list
      deis users -o json
    """
    s = session()
    users, total = s.api.get_list("/v2/users", limit)
    if output == "json":
        print_json(users)
    else:
        page(format_users(users, total))


TOPIC = Topic("users", "manage users", (list_users,), default="users:list")
