"""`deisctl`: start, stop and look after one platform instance on this machine.

Every command takes --state-dir (default ~/.deis-platform); `up` saves the effective
settings there, so the other commands need nothing else.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from deis.platform import backup as backups
from deis.platform import control, service_unit
from deis.platform.state import (
    StateDir,
    StateError,
    api_url,
    describe_database,
    load_settings,
    prepare_state_dir,
    read_saved_settings,
    running_pid,
)
from deis.settings import REGISTRATION_MODES, Settings, default_state_dir

F = TypeVar("F", bound=Callable[..., Any])

PORT = click.IntRange(1, 65535)
EXIT_NOT_RUNNING = 3  # like `systemctl status`


def reported(command: F) -> F:
    """Expected failures become one clear line on stderr and exit 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from deis.domain.errors import DomainError, Invalid

        try:
            return command(*args, **kwargs)
        except StateError as exc:
            raise click.ClickException(str(exc)) from exc
        except Invalid as exc:
            raise click.ClickException(invalid_text(exc.errors)) from exc
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc

    return wrapper  # type: ignore[return-value]


def invalid_text(errors: dict[str, list[str]]) -> str:
    return "; ".join(
        " ".join(messages) if name == "detail" else f"{name}: {' '.join(messages)}"
        for name, messages in errors.items()
    )


def state_dir_option(command: F) -> F:
    return click.option(
        "--state-dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=default_state_dir,
        show_default="~/.deis-platform",
        envvar="DEIS_STATE_DIR",
        help="The instance's state directory.",
    )(command)


def database_option(command: F) -> F:
    return click.option(
        "--database-url",
        metavar="URL",
        help="postgresql://USER:PASSWORD@HOST:PORT/NAME (default: SQLite in the state dir;"
        " also DEIS_DATABASE_URL).",
    )(command)


def resolve(state_dir: Path) -> Path:
    return Path(state_dir).expanduser().resolve()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="deis-platform", prog_name="deisctl")
def cli() -> None:
    """Run the Deis platform on this machine."""


@cli.command()
@state_dir_option
@click.option("--api-port", type=PORT, help="The controller API's port (default 8000).")
@click.option(
    "--bind", metavar="ADDRESS", help="The address to serve on (default 127.0.0.1; 0.0.0.0: all)."
)
@click.option("--ssh-port", type=PORT, help="The builder's SSH port (default 2222).")
@click.option("--router-port", type=PORT, help="The router's HTTP port (default 8080).")
@click.option("--router-https-port", type=PORT, help="The router's HTTPS port (default 8443).")
@click.option(
    "--runtime",
    type=click.Choice(["podman", "kubernetes", "record"]),
    help="What runs apps (default podman; record: keep releases, run nothing).",
)
@click.option(
    "--router",
    type=click.Choice(["nginx", "kubernetes", "none"]),
    help="What routes requests to apps (default nginx).",
)
@click.option(
    "--builder", type=click.Choice(["git", "none"]), help="Accept git pushes (default git)."
)
@click.option(
    "--egress/--no-egress",
    default=None,
    help="Let apps open connections to the outside (default: no).",
)
@click.option("--registry-port", type=PORT, help="The image registry's port (default 5000).")
@click.option("--domain", help="Apps answer at APP.DOMAIN (default localhost).")
@click.option("--registration-mode", type=click.Choice(REGISTRATION_MODES))
@database_option
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=control.START_TIMEOUT,
    show_default=True,
    help="Seconds to wait for the platform to answer.",
)
@reported
def up(state_dir: Path, timeout: float, **flags: Any) -> None:
    """Start the platform in the background; return once it answers."""
    prepare_state_dir(StateDir(resolve(state_dir)))
    settings = load_settings(resolve(state_dir), flags)
    started = control.start(settings, timeout)
    if started.already_running:
        click.echo(f"The platform is already running (pid {started.pid}): {started.url}")
        if any(value is not None for value in flags.values()):
            click.echo("Its settings are unchanged; `deisctl down` first to change them.")
        return
    click.echo(f"The platform is up (pid {started.pid}): {started.url}")
    click.echo(f"State and logs: {settings.state_dir}")


@cli.command()
@state_dir_option
@click.option(
    "--purge", is_flag=True, help="Also remove what a crashed run left (a stale pid file)."
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=control.STOP_GRACE,
    show_default=True,
    help="Seconds to wait after SIGTERM before SIGKILL.",
)
@reported
def down(state_dir: Path, purge: bool, timeout: float) -> None:
    """Stop the platform."""
    for line in control.stop(StateDir(resolve(state_dir)), timeout, purge):
        click.echo(line)


@cli.command()
@state_dir_option
@reported
def status(state_dir: Path) -> None:
    """Say whether the platform runs (exit 0) or not (exit 3), and where."""
    state = StateDir(resolve(state_dir))
    settings: Settings | None = None
    problem = None
    try:
        settings = load_settings(state.root)
    except StateError as exc:
        problem = str(exc)
    report = control.status(state, settings, problem)
    click.echo(control.format_lines(report.lines))
    if not report.running:
        raise SystemExit(EXIT_NOT_RUNNING)


@cli.command()
@state_dir_option
@database_option
@reported
def migrate(state_dir: Path, database_url: str | None) -> None:
    """Bring the database schema up to date."""
    settings = load_settings(resolve(state_dir), {"database_url": database_url})
    revision = control.migrate_database(settings)
    where = describe_database(settings.effective_database_url)
    click.echo(f"The database {where} is at revision {revision}.")


@cli.command("create-admin")
@state_dir_option
@click.option("--username", required=True)
@click.option("--email", required=True)
@click.option(
    "--password",
    envvar="DEIS_ADMIN_PASSWORD",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted for when not given (also DEIS_ADMIN_PASSWORD).",
)
@reported
def create_admin(state_dir: Path, username: str, email: str, password: str) -> None:
    """Create an administrator (the platform may run or not)."""
    settings = load_settings(resolve(state_dir))
    control.create_admin_user(settings, username, email, password)
    click.echo(f"Created the administrator {username}.")
    click.echo(f"Log in with: deis login {api_url(settings)} --username={username}")


@cli.command("backup")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@state_dir_option
@reported
def backup_command(file: Path, state_dir: Path) -> None:
    """Write the database and state files to FILE (.tar.gz), even while the platform runs."""
    settings = load_settings(resolve(state_dir))
    saved = backups.backup(settings, file)
    click.echo(f"Backed up {', '.join(saved)} to {file}.")


@cli.command("restore")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@state_dir_option
@database_option
@click.option(
    "--force",
    is_flag=True,
    help="Restore even while the platform runs, or over a PostgreSQL database that has tables.",
)
@reported
def restore_command(file: Path, state_dir: Path, database_url: str | None, force: bool) -> None:
    """Replace the database and state files with those of a backup."""
    state = StateDir(resolve(state_dir))
    archive = backups.read_archive(file)
    prepare_state_dir(state)
    with control.control_lock(state):
        pid = running_pid(state)
        if pid is not None and not force:
            raise StateError(
                f"the platform runs (pid {pid}): `deisctl down` first (or pass --force)"
            )
        target_saved = read_saved_settings(state)
        settings = load_settings(state.root, {"database_url": database_url})
        report = backups.restore(
            archive, settings, target_saved=target_saved, replace_database=force
        )
    for path in report.moved_aside:
        click.echo(f"Moved the old database aside to {path}.")
    if report.dropped_tables:
        click.echo(f"Dropped the tables of {report.database}.")
    taken = f" (taken {report.created})" if report.created else ""
    click.echo(
        f"Restored the database{taken} into {report.database}, now at revision {report.revision}."
    )
    if report.files:
        click.echo(f"Restored {', '.join(report.files)}.")
    if report.settings_written:
        click.echo(f"Wrote {state.settings_file}.")


@cli.command("install-service")
@state_dir_option
@click.option(
    "--unit-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where to write the unit (default /etc/systemd/system, where systemd runs).",
)
@click.option(
    "--name",
    default=service_unit.DEFAULT_NAME,
    show_default=True,
    help="The unit's name (NAME.service).",
)
@click.option("--force", is_flag=True, help="Replace a different unit of that name.")
@reported
def install_service(state_dir: Path, unit_dir: Path | None, name: str, force: bool) -> None:
    """Write a systemd unit that runs `deisctl up` for this state dir at boot."""
    try:
        file_name = service_unit.unit_file_name(name)
        if unit_dir is None:
            if not service_unit.SYSTEMD_RUNNING.is_dir():
                raise service_unit.UnitError(
                    "this machine does not run systemd (no /run/systemd/system): there is no"
                    " service manager to install into; start the platform with `deisctl up`"
                    " from your init system, or write the unit anyway with --unit-dir DIR"
                )
            unit_dir = service_unit.DEFAULT_UNIT_DIR
        root = resolve(state_dir)
        text = service_unit.render(deisctl_executable(), root)
    except service_unit.UnitError as exc:
        raise click.ClickException(str(exc)) from exc
    target = unit_dir / file_name
    if target.exists() and target.read_text() != text and not force:
        raise click.ClickException(f"{target} exists and differs: pass --force to replace it")
    unit_dir.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    target.chmod(0o644)
    click.echo(f"Wrote {target}: `deisctl up --state-dir {root}` at boot.")
    if not StateDir(root).settings_file.exists():
        click.echo(f"Note: {root} has no saved settings yet; run `deisctl up` once with yours.")
    click.echo("Enable it (and start it now) with:")
    click.echo(f"  systemctl daemon-reload && systemctl enable --now {file_name}")


def deisctl_executable() -> Path:
    """The deisctl being run (the unit runs the same one), by its absolute path."""
    import shutil
    import sys

    beside = Path(sys.executable).parent / "deisctl"
    if beside.is_file():
        return beside
    found = shutil.which("deisctl")
    if found is None:
        raise service_unit.UnitError("cannot find the deisctl executable")
    return Path(found).resolve()


@cli.group()
def stack() -> None:
    """The stack images apps are built and run on (once per machine)."""


@stack.command("build")
@click.option("--force", is_flag=True, help="Build again even when the images exist.")
def stack_build(force: bool) -> None:
    """Build the stack images missing from this machine (several minutes the first time)."""
    from deis.stack.__main__ import main as stack_main

    raise SystemExit(stack_main(["build", *(["--force"] if force else [])]))


def _add_kubernetes() -> None:
    from deis.platform.kubernetes.cli import kubernetes

    cli.add_command(kubernetes)


_add_kubernetes()


def main() -> None:
    os.umask(0o077)  # what deisctl writes (database, backups, keys) is for its user only
    cli(prog_name="deisctl")
