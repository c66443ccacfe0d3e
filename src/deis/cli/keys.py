"""keys:list, keys:add, keys:remove: the SSH keys used for `git push`."""

from __future__ import annotations

import base64
import binascii
import os
import struct
from pathlib import Path
from typing import Any

import click

from deis.cli.context import limit_option, output_option, session
from deis.cli.errors import CLIError
from deis.cli.output import echo, heading, key_text, limit_count, page, print_json, table
from deis.cli.topic import Topic

KEY_TYPES = (
    "ssh-rsa",
    "ssh-dss",
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)

# --- pure ---------------------------------------------------------------------------------


def parse_public_key(text: str, backup_id: str) -> tuple[str, str]:
    """An OpenSSH public key line → (key id, `type base64`). The id is the comment, else
    `backup_id` (the file's name without extension)."""
    parts = text.strip().split(None, 2)
    if len(parts) < 2 or parts[0] not in KEY_TYPES:
        raise ValueError("not an OpenSSH public key")
    kind, blob = parts[0], parts[1]
    try:
        raw = base64.b64decode(blob, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the key is not valid base64") from None
    if len(raw) < 4:
        raise ValueError("the key is too short")
    (size,) = struct.unpack(">I", raw[:4])
    if raw[4 : 4 + size].decode("ascii", "replace") != kind:
        raise ValueError("the key's type does not match its contents")
    comment = parts[2].strip() if len(parts) > 2 else ""
    key_id = comment if comment and " " not in comment else backup_id
    return key_id, f"{kind} {blob}"


def backup_id(path: Path) -> str:
    return path.name.split(".")[0]


def default_key_path(home: Path) -> Path | None:
    """The first `~/.ssh/id_*.pub`, by name."""
    candidates = sorted((home / ".ssh").glob("id_*.pub"))
    return candidates[0] if candidates else None


def format_keys(username: str, keys: list[dict[str, Any]], total: int) -> str:
    title = heading(f"{username} Keys") + limit_count(len(keys), total) + "\n"
    return title + table((key.get("id", ""), key_text(str(key.get("public", "")))) for key in keys)


def choose_args(first: str | None, second: str | None) -> tuple[str | None, Path | None]:
    """keys:add takes [NAME] [PATH] in either order: whichever is an existing file is the path."""
    name, path = first, second
    if first and not second and Path(first).expanduser().is_file():
        return None, Path(first).expanduser()
    if (
        first
        and second
        and Path(first).expanduser().is_file()
        and not Path(second).expanduser().is_file()
    ):
        name, path = second, first
    return name, Path(path).expanduser() if path else None


def read_key(path: Path) -> tuple[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CLIError(f"Could not read {path}: {exc.strerror}") from None
    try:
        return parse_public_key(text, backup_id(path))
    except ValueError:
        raise CLIError(f"{path} is not a valid ssh key") from None


# --- commands --------------------------------------------------------------------------------


@click.command("keys:list", short_help="list SSH keys for the logged in user")
@limit_option
@output_option
def list_keys(limit: int | None, output: str) -> None:
    """Lists SSH keys for the logged in user.

    \b
    Examples:
      deis keys:list
      deis keys -o json
    """
    s = session()
    keys, total = s.api.get_list("/v2/keys", limit)
    if output == "json":
        print_json(keys)
    else:
        page(format_keys(s.settings.username, keys, total))


@click.command("keys:add", short_help="add an SSH key")
@click.argument("name", required=False)
@click.argument("key", metavar="[KEY]", required=False)
def add(name: str | None, key: str | None) -> None:
    """Adds an SSH public key for the logged in user, for `git push`.

    NAME (the key's id; default: the key's comment) and KEY (a path to a public key file;
    default: the first ~/.ssh/id_*.pub) are both optional and can come in either order.

    \b
    Examples:
      deis keys:add
      deis keys:add ~/.ssh/id_ed25519.pub
      deis keys:add laptop ~/.ssh/id_ed25519.pub
    """
    key_name, path = choose_args(name, key)
    if path is None:
        path = default_key_path(Path(os.path.expanduser("~")))
        if path is None:
            raise CLIError(
                "No SSH public key found in ~/.ssh (id_*.pub); give the path: deis keys:add PATH"
            )
    key_id, public = read_key(path)
    s = session()
    s.api.post("/v2/keys", {"id": key_name or key_id, "public": public})
    echo(f"Uploading {path.name} to deis... done")


@click.command("keys:remove", short_help="remove an SSH key")
@click.argument("key")
def remove(key: str) -> None:
    """Removes an SSH key for the logged in user.

    KEY is the key's id, as keys:list shows it.

    \b
    Examples:
      deis keys:remove alice@laptop
    """
    s = session()
    s.api.delete(f"/v2/keys/{key}")
    echo(f"Removing {key} SSH Key... done")


TOPIC = Topic(
    "keys",
    "manage ssh keys used for 'git push' deployments",
    (list_keys, add, remove),
    default="keys:list",
)
