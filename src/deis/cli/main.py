"""The `deis` command: colon commands (`deis apps:create`), topics, shortcuts and plug-ins.

`deis apps` runs `apps:list` (the topic's default), `deis apps --help` lists the topic's
commands, `deis create` is the shortcut of `apps:create`, and an unknown `deis foo:bar`
runs `deis-foo bar` from PATH, as the Go client does.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from typing import Any

import click

from deis.cli import (
    addons,
    apps,
    auth,
    autoscale,
    builds,
    certs,
    config,
    cron,
    domains,
    git,
    healthchecks,
    keys,
    labels,
    limits,
    maintenance,
    perms,
    ps,
    registry,
    releases,
    remotes,
    routing,
    tags,
    tls,
    users,
    version,
    whitelist,
)
from deis.cli.context import State, output_option
from deis.cli.errors import CLIError
from deis.cli.output import print_json
from deis.cli.topic import Topic

TOPICS: tuple[Topic, ...] = (
    auth.TOPIC,
    addons.TOPIC,
    apps.TOPIC,
    autoscale.TOPIC,
    builds.TOPIC,
    certs.TOPIC,
    config.TOPIC,
    cron.TOPIC,
    domains.TOPIC,
    git.TOPIC,
    healthchecks.TOPIC,
    keys.TOPIC,
    labels.TOPIC,
    limits.TOPIC,
    maintenance.TOPIC,
    perms.TOPIC,
    ps.TOPIC,
    registry.TOPIC,
    releases.TOPIC,
    routing.TOPIC,
    tags.TOPIC,
    tls.TOPIC,
    users.TOPIC,
    version.TOPIC,
    whitelist.TOPIC,
)
TOPIC_BY_NAME = {topic.name: topic for topic in TOPICS}
COMMANDS: dict[str, click.Command] = {
    command.name: command for topic in TOPICS for command in topic.commands if command.name
}

SHORTCUTS = {
    "create": "apps:create",
    "destroy": "apps:destroy",
    "info": "apps:info",
    "login": "auth:login",
    "logout": "auth:logout",
    "logs": "apps:logs",
    "open": "apps:open",
    "passwd": "auth:passwd",
    "pull": "builds:create",
    "register": "auth:register",
    "rollback": "releases:rollback",
    "run": "apps:run",
    "scale": "ps:scale",
    "sharing": "perms:list",
    "sharing:list": "perms:list",
    "sharing:add": "perms:create",
    "sharing:remove": "perms:delete",
    "whoami": "auth:whoami",
}
SHORTCUT_HELP = {
    "create": "create a new application",
    "destroy": "destroy an application",
    "info": "view information about the current app",
    "logs": "view aggregated log info for the app",
    "open": "open a URL to the app in a browser",
    "pull": "imports an image and deploys as a new release",
    "rollback": "roll back to a previous release",
    "run": "run a command in an ephemeral app container",
    "scale": "scale processes by type (web=2, worker=1)",
    "sharing": "list the users an app is shared with",
}
AUTH_HELP = {
    "register": "register a new user with a controller",
    "login": "login to a controller",
    "logout": "logout from the current controller",
}


# --- pure: argv handling and help ----------------------------------------------------------


def split_config_flag(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """Take `-c NAME` / `--config NAME` / `--config=NAME` out of argv, wherever it is.

    Nothing after `--` is touched, nor anything after the command word of `run`.
    """
    config: str | None = None
    kept: list[str] = []
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--" or (kept and kept[0] in ("run", "apps:run") and not arg.startswith("-")):
            kept += args[i:]
            break
        if arg in ("-c", "--config") and i + 1 < len(args):
            config = args[i + 1]
            i += 2
            continue
        if arg.startswith("--config="):
            config = arg.split("=", 1)[1]
        else:
            kept.append(arg)
        i += 1
    return config, kept


def rewrite_argv(argv: list[str]) -> list[str]:
    """`deis help X` → `deis X --help`; `deis -v` → `deis version`; `deis -h` → help."""
    if not argv:
        return argv
    first = argv[0]
    if first in ("help", "-h", "--help"):
        return [*argv[1:], "--help"] if len(argv) > 1 else ["--help"]
    if first in ("-v", "--version") and len(argv) == 1:
        return ["version"]
    return argv


def command_name(word: str) -> str:
    return SHORTCUTS.get(word, word)


def main_usage(prog: str = "deis") -> str:
    def block(rows: dict[str, str]) -> list[str]:
        return [f"  {name.ljust(14)}{text}" for name, text in rows.items()]

    subcommands = {t.name: t.summary for t in TOPICS if t.name not in ("auth",)}
    lines = [
        f"The {prog} command-line client issues API calls to a Deis controller.",
        "",
        f"Usage: {prog} <command> [<args>...]",
        "",
        "Options:",
        "  -h --help",
        "    display help information",
        "  -v --version",
        "    display client version",
        "  -c --config=<config>",
        "    the profile to use: a name (~/.deis/<name>.json) or the path to a file.",
        "    Equivalent to setting $DEIS_PROFILE. Defaults to ~/.deis/client.json.",
        "",
        f"Auth commands, use '{prog} help auth' to learn more::",
        "",
        *block(AUTH_HELP),
        "",
        f"Subcommands, use '{prog} help [subcommand]' to learn more::",
        "",
        *block(subcommands),
        "",
        f"Shortcut commands, use '{prog} shortcuts' to see all::",
        "",
        *block(SHORTCUT_HELP),
        "",
        f"Use 'git push deis master' to deploy to an application; an unknown '{prog} foo'",
        f"runs the plug-in '{prog}-foo' from PATH.",
    ]
    return "\n".join(lines) + "\n"


def shortcuts_text() -> str:
    return "".join(f"{name} -> {SHORTCUTS[name]}\n" for name in sorted(SHORTCUTS))


def plugin_argv(word: str, rest: Sequence[str]) -> tuple[str, list[str]]:
    """`foo:bar x` → (`deis-foo`, [`deis-foo`, `bar`, `x`]); `foo x` → (`deis-foo`, [`deis-foo`, `x`])."""
    topic, _, sub = word.partition(":")
    program = f"deis-{topic}"
    return program, [program, *([sub] if sub else []), *rest]


# --- commands the group builds ---------------------------------------------------------------


class TopicCommand(click.Command):
    """The bare topic word: runs the topic's default command, or lists the topic's commands."""

    def __init__(self, topic: Topic) -> None:
        super().__init__(
            topic.name,
            help=topic.summary,
            add_help_option=False,
            context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        )
        self.topic = topic

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.args = list(args)
        return []

    def invoke(self, ctx: click.Context) -> Any:
        args = list(ctx.args)
        if self.topic.default is None or "--help" in args or "-h" in args:
            click.echo(self.topic.usage(), nl=False)
            return None
        target = COMMANDS[self.topic.default]
        with target.make_context(self.topic.default, args, parent=ctx.parent) as sub:
            return target.invoke(sub)


@click.command("shortcuts", short_help="list the shortcut commands")
@output_option
def shortcuts(output: str) -> None:
    """Lists the shortcut commands and what they stand for (also `deis shortcuts:list`).

    \b
    Examples:
      deis shortcuts
      deis shortcuts:list -o json
    """
    if output == "json":
        print_json(SHORTCUTS)
    else:
        click.echo(shortcuts_text(), nl=False)


class DeisGroup(click.Group):
    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        name = command_name(cmd_name)
        if name in COMMANDS:
            return COMMANDS[name]
        if name in ("shortcuts", "shortcuts:list"):
            return shortcuts
        if name in TOPIC_BY_NAME:
            return TopicCommand(TOPIC_BY_NAME[name])
        return None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        word = args[0]
        if self.get_command(ctx, word) is None and not word.startswith("-"):
            run_plugin(word, args[1:], ctx.find_object(State))
            raise click.UsageError(f"'{word}' is not a deis command. See 'deis help'.", ctx)
        return super().resolve_command(ctx, args)

    def get_usage(self, ctx: click.Context) -> str:
        return f"Usage: {ctx.command_path} <command> [<args>...]"

    def get_help(self, ctx: click.Context) -> str:
        return main_usage(ctx.command_path).rstrip("\n")


def run_plugin(word: str, rest: Sequence[str], st: State | None) -> None:
    """Replace this process with `deis-<topic>` from PATH, when there is one."""
    program, argv = plugin_argv(word, rest)
    binary = shutil.which(program)
    if binary is None:
        return
    env = dict(os.environ)
    if st is not None and st.config:
        env["DEIS_PROFILE"] = st.config
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(binary, argv, env)


@click.group(
    "deis",
    cls=DeisGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.pass_context
def cli(ctx: click.Context) -> None:
    if ctx.invoked_subcommand is None:
        click.echo(main_usage(ctx.command_path), nl=False)
        ctx.exit(2)


# --- entry point -------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    profile, args = split_config_flag(args)
    args = rewrite_argv(args)
    flags = State(profile)
    try:
        result = cli.main(args, prog_name="deis", standalone_mode=False, obj=flags)
    except click.ClickException as exc:
        named = flags.app_from_directory
        if (
            isinstance(exc, CLIError)
            and exc.status == 404
            and named
            and exc.message == f"App {named} not found."
        ):
            hint = remotes.directory_hint(named, remotes.in_repository())
            exc = CLIError(f"{exc.message}\n{hint}", status=404)
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("Aborted!", err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("", err=True)
        return 130
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as exc:
        CLIError(os_error_text(exc)).show()
        return 1
    except Exception as exc:
        if os.environ.get("DEIS_DEBUG"):
            raise
        CLIError(unexpected_text(exc)).show()
        return 1
    return result if isinstance(result, int) else 0


def os_error_text(exc: OSError) -> str:
    """`[Errno 2] No such file ...: '/x'` → `/x: No such file or directory`."""
    if exc.filename and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return exc.strerror or str(exc) or type(exc).__name__


def unexpected_text(exc: Exception) -> str:
    reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return f"The deis client failed unexpectedly ({reason}). DEIS_DEBUG=1 shows the traceback."


if __name__ == "__main__":
    sys.exit(main())
