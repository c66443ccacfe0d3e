"""git:remote, git:remove: the git remote that `git push` deploys through."""

from __future__ import annotations

import click

from deis.cli import knownhosts, remotes
from deis.cli.apps import remove_app_remotes
from deis.cli.context import app_option, session
from deis.cli.errors import CLIError
from deis.cli.output import echo
from deis.cli.topic import Topic


@click.command("git:remote", short_help="adds git remote of application to repository")
@app_option
@click.option(
    "-r",
    "--remote",
    default=remotes.DEFAULT_REMOTE,
    show_default=True,
    help="Name of the remote to create.",
)
@click.option("-f", "--force", is_flag=True, help="Overwrite a remote of the same name.")
def remote(app: str | None, remote: str, force: bool) -> None:
    """Adds the git remote of an application to the repository in the current directory.

    The URL comes from the controller (GET /v2/platform), else from the Deis
    convention ssh://git@<controller's first label>-builder.<rest of host>:2222/APP.git.

    \b
    Examples:
      deis git:remote -a myapp
      deis git:remote -a myapp --remote staging --force
    """
    s = session()
    name = s.app(app)
    if not remotes.in_repository():
        raise CLIError("Not a git repository (run `git init` first).")
    expected = s.repository_url(name)
    current = remotes.remote_url(remote)
    if current is None:
        remotes.add_remote(remote, expected)
        echo(f"Git remote {remote} successfully created for app {name}.")
        if (said := knownhosts.hint(s)) is not None:
            echo(said)
        return
    if current == expected:
        echo(f"Remote {remote} already exists and is correctly configured for app {name}.")
        return
    if not force:
        raise CLIError(
            f"Remote {remote} already exists, please run 'deis git:remote -f' to overwrite\n"
            f"Existing remote URL: {current}\n"
            f"When forced, will overwrite with: {expected}"
        )
    echo(f"Deleting git remote {remote}.")
    remotes.remove_remote(remote)
    remotes.add_remote(remote, expected)
    echo(f"Git remote {remote} successfully created for app {name}.")
    if (said := knownhosts.hint(s)) is not None:
        echo(said)


@click.command("git:known-hosts", short_help="trust the builder's SSH host key for git push")
@click.option("--print", "print_only", is_flag=True, help="Print the line; write nothing.")
def known_hosts(print_only: bool) -> None:
    """Adds the builder's SSH host key to ~/.ssh/known_hosts, so that a first `git push`
    over SSH (in a script or CI job too) does not fail with "Host key verification failed".

    The key comes from the controller (GET /v2/platform); compare its fingerprint with
    the one `deisctl status` shows on the platform's machine.

    \b
    Examples:
      deis git:known-hosts
      deis git:known-hosts --print >> ~/.ssh/known_hosts
    """
    s = session()
    line = knownhosts.builder_line(s)
    if line is None:
        raise CLIError(
            "The controller does not give the builder's SSH host key (a Deis v2 controller,"
            " or a builder that has not started yet)."
        )
    if print_only:
        echo(line)
        return
    found = knownhosts.fingerprint(line.split(" ", 1)[1])
    if knownhosts.is_known(line):
        echo(f"The builder's SSH host key ({found}) is already in {knownhosts.known_hosts_file()}.")
        return
    path = knownhosts.add(line)
    echo(f"Added the builder's SSH host key ({found}) to {path}:\n{line}")


@click.command("git:remove", short_help="removes git remote of application from repository")
@app_option
def remove(app: str | None) -> None:
    """Removes the git remotes of an application from the repository in the current directory.

    \b
    Examples:
      deis git:remove -a myapp
    """
    s = session()
    name = s.app(app)
    if not remove_app_remotes(s, name):
        raise CLIError("Could not find remote matching app in 'git remote -v'")
    echo(f"Git remotes for app {name} removed.")


TOPIC = Topic("git", "manage git for applications", (remote, remove, known_hosts))
