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

from deis.platform import acme_platform, control, doctor, service_unit, tls
from deis.platform import backup as backups
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
from deis.router.certs import PlatformCertificate
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
@click.option(
    "--router-body-size",
    metavar="SIZE",
    help="The largest request body of an app, like 1m (default 1m; an app's"
    " DEIS_ROUTER_BODY_SIZE config overrides it).",
)
@click.option(
    "--router-max-body-size",
    metavar="SIZE",
    help="The most any app's DEIS_ROUTER_BODY_SIZE may allow (default 1g).",
)
@click.option(
    "--router-connect-timeout",
    metavar="SECONDS",
    type=click.IntRange(1, 75),
    help="Seconds to connect to a replica (default 5).",
)
@click.option(
    "--router-read-timeout",
    metavar="SECONDS",
    type=click.IntRange(min=1),
    help="Seconds a replica may take to answer (default 60; then 504).",
)
@click.option(
    "--router-send-timeout",
    metavar="SECONDS",
    type=click.IntRange(min=1),
    help="Seconds a replica may take to read the request (default 60).",
)
@click.option(
    "--tls-cert",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The platform's certificate (PEM chain): https://deis.DOMAIN, and every app"
    " without its own when it covers *.DOMAIN. With --tls-key.",
)
@click.option(
    "--tls-key",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The private key of --tls-cert (PEM, unencrypted; kept 0600).",
)
@click.option(
    "--tls-enforce/--no-tls-enforce",
    default=None,
    help="Answer plain HTTP to deis.DOMAIN with a redirect (308) to https while the"
    " platform has a certificate (default: no; http:// clients keep working).",
)
@click.option(
    "--acme-email",
    help="Automatic TLS (deis tls:auto:enable): the contact email of the platform's"
    " ACME account (default: none, automatic TLS off).",
)
@click.option(
    "--acme-directory",
    help="The ACME CA's directory URL (default: Let's Encrypt's production directory).",
)
@click.option(
    "--acme-ca-bundle",
    help="A PEM bundle that verifies the ACME directory's HTTPS (a private CA; default:"
    " the system's).",
)
@click.option(
    "--acme-platform/--no-acme-platform",
    default=None,
    help="Also get (and renew) a certificate for the controller's name deis.DOMAIN from"
    " the ACME CA, unless one of your own is installed (default: no).",
)
@click.option(
    "--acme-eab-kid",
    help="External account binding, for a CA that requires one: the key id it gave."
    " With --acme-eab-hmac-key.",
)
@click.option(
    "--acme-eab-hmac-key",
    help="External account binding: the base64url HMAC key the CA gave (kept 0600).",
)
@click.option(
    "--sleep-after",
    metavar="DURATION",
    help="Apps without a request for this long sleep until the next one, like 30m or 2h"
    " (default: never; an app's `deis ps:sleep` overrides it).",
)
@database_option
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=control.START_TIMEOUT,
    show_default=True,
    help="Seconds to wait for the platform to answer.",
)
@reported
def up(
    state_dir: Path, timeout: float, tls_cert: Path | None, tls_key: Path | None, **flags: Any
) -> None:
    """Start the platform in the background; return once it answers."""
    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    prepare_state_dir(StateDir(resolve(state_dir)))
    settings = load_settings(resolve(state_dir), flags)
    cert = tls.checked(settings, tls_cert, tls_key) if tls_cert and tls_key else None
    previous = tls.Previous.save(settings)
    if cert is not None:
        tls.install(settings, cert)
    try:
        started = control.start(settings, timeout, preflight=machine_ready)
    except StateError:
        previous.restore(settings)  # a failed `up` changes nothing
        raise
    if started.already_running:
        click.echo(f"The platform is already running (pid {started.pid}): {started.url}")
        if any(value is not None for value in flags.values()):
            click.echo("Its settings are unchanged; `deisctl down` first to change them.")
        if cert is not None:
            _report_served(load_settings(resolve(state_dir)), cert)
        return
    click.echo(f"The platform is up (pid {started.pid}): {started.url}")
    if cert is not None:
        _report_served(settings, cert)
    if settings.tls_enforce and settings.router == "nginx":
        _report_enforced(settings)
    click.echo(f"State and logs: {settings.state_dir}")


def machine_ready(settings: Settings) -> None:
    """What `deisctl doctor` checks, before `up` starts anything: refuse when a piece is
    missing, with what it is and how to install it; warn about what can wait."""
    click.echo("Checking this machine (deisctl doctor)...")
    report = doctor.check(settings)
    for warning in report.warnings:
        click.echo(warning.line().replace("MISSING", "Warning:", 1), err=True)
    if not report.ok:
        raise StateError(doctor.failure_text(report))


@cli.command("doctor")
@state_dir_option
@click.option(
    "--static",
    is_flag=True,
    help="Only look for the programs and files; start no container and no nginx.",
)
@reported
def doctor_command(state_dir: Path, static: bool) -> None:
    """Check that this machine has everything the platform will use (exit 1 if not).

    Looks for every program, file and Python module the configured adapters run, loads
    the router's Lua module with `nginx -t`, and starts one real container the way an
    app's replica starts. `deisctl up` runs the same checks first."""
    root = resolve(state_dir)
    prepare_state_dir(StateDir(root))
    settings = load_settings(root)
    report = doctor.check(settings, live=not static)
    for line in report.lines():
        click.echo(line)
    if not report.ok:
        raise click.ClickException(doctor.failure_text(report))
    click.echo("This machine has everything the platform needs.")


def _report_enforced(settings: Settings) -> None:
    host = f"deis.{settings.domain}"
    if tls.installed(settings):
        click.echo(f"Plain HTTP to {host} is redirected to https (308).")
    else:
        click.echo(
            f"TLS is enforced once the platform has a certificate (deisctl certs:set);"
            f" until then {host} answers plain HTTP."
        )


def _report_served(settings: Settings, cert: PlatformCertificate) -> None:
    host = f"deis.{settings.domain}"
    url = f"https://{host}" + (
        "" if settings.router_https_port == 443 else f":{settings.router_https_port}"
    )
    if settings.router != "nginx":
        click.echo(
            f"The certificate is kept for the nginx router; this platform runs {settings.router!r}."
        )
    elif tls.wait_served(settings, cert):
        click.echo(f"The router serves the certificate for {', '.join(cert.names)}: {url}")
    else:
        raise click.ClickException(
            f"the certificate is installed but the router does not serve it at {url}"
            f" yet: see {settings.state_dir / 'router' / 'error.log'}"
        )


@cli.command("certs:set")
@click.argument("cert_file", metavar="CERT", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("key_file", metavar="KEY", type=click.Path(path_type=Path, dir_okay=False))
@state_dir_option
@reported
def certs_set(cert_file: Path, key_file: Path, state_dir: Path) -> None:
    """Serve the controller at https://deis.DOMAIN with CERT (PEM chain) and KEY (PEM).

    A certificate that also covers *.DOMAIN is the default one for every app without its
    own. A running router takes it within a second, without a restart."""
    prepare_state_dir(StateDir(resolve(state_dir)))
    settings = load_settings(resolve(state_dir))
    cert = tls.checked(settings, cert_file, key_file)
    tls.install(settings, cert)
    click.echo(
        f"Installed the certificate for {', '.join(cert.names)} (until {cert.not_after:%Y-%m-%d})."
    )
    if running_pid(StateDir(settings.state_dir)) is None:
        click.echo("The router serves it from the next `deisctl up`.")
    else:
        _report_served(settings, cert)


@cli.command("certs:info")
@state_dir_option
@reported
def certs_info(state_dir: Path) -> None:
    """Show the platform's certificate."""
    settings = load_settings(resolve(state_dir))
    click.echo(f"deis.{settings.domain}: {tls.describe(settings)}")
    click.echo(f"Automatic (ACME): {acme_platform.describe(settings)}")


@cli.command("certs:unset")
@state_dir_option
@reported
def certs_unset(state_dir: Path) -> None:
    """Go back to the self-signed certificate (a running router takes it within a second)."""
    settings = load_settings(resolve(state_dir))
    if tls.remove(settings):
        click.echo("Removed the platform's certificate; the router serves a self-signed one.")
    else:
        click.echo("The platform has no certificate of its own.")


@cli.command()
@state_dir_option
@click.option(
    "--purge", is_flag=True, help="Also remove what a crashed run left (a stale pid file)."
)
@click.option(
    "--apps",
    is_flag=True,
    help="Also stop every app and remove this instance's containers, network namespaces"
    " and mounts (kept: database, releases, config, images; `up` starts the apps again).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=control.STOP_GRACE,
    show_default=True,
    help="Seconds to wait after SIGTERM before SIGKILL.",
)
@reported
def down(state_dir: Path, purge: bool, apps: bool, timeout: float) -> None:
    """Stop the platform (apps keep running unless --apps)."""
    for line in control.stop(StateDir(resolve(state_dir)), timeout, purge, apps):
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
@click.option(
    "--addons", is_flag=True, help="Also the add-ons' stack (else made at the first create)."
)
def stack_build(force: bool, addons: bool) -> None:
    """Build the stack images missing from this machine (several minutes the first time)."""
    from deis.stack.__main__ import main as stack_main

    flags = [*(["--force"] if force else []), *(["--addons"] if addons else [])]
    raise SystemExit(stack_main(["build", *flags]))


def _add_kubernetes() -> None:
    from deis.platform.kubernetes.cli import kubernetes

    cli.add_command(kubernetes)


_add_kubernetes()


def main() -> None:
    os.umask(0o077)  # what deisctl writes (database, backups, keys) is for its user only
    cli(prog_name="deisctl")
