"""Git remotes: finding the app of the current directory and adding the `deis` remote.

Pure functions parse `git remote -v` and build builder URLs; `git()` is the one place
that runs git.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from deis.cli.errors import CLIError

DEFAULT_REMOTE = "deis"
BUILDER_PORT = 2222


@dataclass(frozen=True)
class Remote:
    name: str
    url: str


# --- pure -------------------------------------------------------------------------------


def parse_remotes(output: str) -> list[Remote]:
    """The push remotes of `git remote -v`."""
    remotes = []
    for line in output.splitlines():
        if not line.endswith("(push)"):
            continue
        parts = line.split("\t")
        if len(parts) < 2:
            continue
        remotes.append(Remote(parts[0], parts[1].split(" ")[0]))
    return remotes


def builder_hostname(controller_host: str) -> str:
    """The Deis convention: `deis.example.com` → `deis-builder.example.com`."""
    labels = controller_host.split(":")[0].split(".")
    labels[0] = f"{labels[0]}-builder"
    return ".".join(labels)


def conventional_builder(controller_host: str) -> str:
    return f"ssh://git@{builder_hostname(controller_host)}:{BUILDER_PORT}"


def repository_url(builder: str, app: str) -> str:
    """`ssh://git@HOST:PORT` + app → `ssh://git@HOST:PORT/APP.git`."""
    return f"{builder.rstrip('/')}/{app}.git"


def app_from_url(url: str) -> str:
    """`ssh://git@host:2222/myapp.git` → `myapp`."""
    last = url.rstrip("/").split("/")[-1].split(":")[-1]
    return last.removesuffix(".git")


def app_from_remotes(remotes: list[Remote], name: str, builder_host: str | None) -> str | None:
    """The app named by the remote `name`, else by any remote pointing at the builder."""
    for remote in remotes:
        if remote.name == name:
            return app_from_url(remote.url)
    if builder_host:
        for remote in remotes:
            if builder_host in remote.url:
                return app_from_url(remote.url)
    return None


def app_from_directory(path: Path) -> str:
    return path.resolve().name.lower()


# --- running git ----------------------------------------------------------------------------


def git(*args: str, cwd: Path | None = None) -> str:
    """Run `git ARGS` and return its output; a failure says which git command failed."""
    binary = shutil.which("git")
    if binary is None:
        raise CLIError("git is not installed or not on PATH.")
    result = subprocess.run(  # noqa: S603 - fixed binary, arguments passed as a list
        [binary, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "LC_ALL": "C"},
    )
    if result.returncode != 0:
        message = f"Error when running 'git {' '.join(args)}'"
        if result.stderr.strip():
            message += "\n" + result.stderr.strip()
        raise CLIError(message)
    return result.stdout


def list_remotes() -> list[Remote] | None:
    """The remotes of the repository here, or None outside a git repository."""
    try:
        return parse_remotes(git("remote", "-v"))
    except CLIError:
        return None


def detect_app(remote: str = DEFAULT_REMOTE, builder_host: str | None = None) -> str:
    """The app of the current directory: git remote `deis`, else the directory's name."""
    return detect_app_and_source(remote, builder_host)[0]


def detect_app_and_source(
    remote: str = DEFAULT_REMOTE, builder_host: str | None = None
) -> tuple[str, str]:
    """The app of the current directory and where its name came from: "remote" or
    "directory"."""
    remotes = list_remotes() or []
    app = app_from_remotes(remotes, remote, builder_host)
    if app:
        return app, "remote"
    return app_from_directory(Path.cwd()), "directory"


def directory_hint(app: str, in_repository: bool) -> str:
    """Why an app named after the directory may not exist, and what to do instead."""
    where = (
        f"this git repository has no remote `{DEFAULT_REMOTE}`"
        if in_repository
        else "this is not a git checkout of an app"
    )
    return (
        f"The app name {app} came from this directory's name ({where}): give the app with"
        f" -a APP (deis apps lists yours), or run deis in the app's git checkout."
    )


def remote_url(name: str) -> str | None:
    for remote in list_remotes() or []:
        if remote.name == name:
            return remote.url
    return None


def in_repository() -> bool:
    return list_remotes() is not None


def add_remote(name: str, url: str) -> None:
    git("remote", "add", name, url)


def remove_remote(name: str) -> None:
    git("remote", "remove", name)


def remotes_for(url: str) -> list[str]:
    return [remote.name for remote in list_remotes() or [] if remote.url == url]
