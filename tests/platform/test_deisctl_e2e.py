"""End to end: the installed `deisctl` starts, reports, backs up and stops real platforms.

Each test uses its own temporary HOME and state dir (deis-test-<random> under the system
temp dir) and free ports; the `make_instance` fixture stops whatever was started, by pid.
"""

from __future__ import annotations

import os
import socket
import stat
import tarfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from deis.platform.state import StateDir, process_cmdline, read_pid
from tests.router.helpers import make_cert

from .conftest import Instance, http, wait_for

pytestmark = pytest.mark.e2e

MakeInstance = Callable[[], Instance]
PASSWORD = "correct-horse-battery"


def login(instance: Instance, username: str, password: str) -> httpx.Response:
    return http(
        "POST",
        f"{instance.url}/v2/auth/login/",
        json={"username": username, "password": password},
    )


def answers(instance: Instance) -> bool:
    try:
        return http("GET", f"{instance.url}/healthz").status_code == 200
    except httpx.HTTPError:
        return False


def test_up_status_down(make_instance: MakeInstance) -> None:
    platform = make_instance()
    result = platform.up()
    assert result.returncode == 0, result.stderr
    assert "The platform is up (pid " in result.stdout
    assert platform.url in result.stdout
    assert answers(platform)
    pid = read_pid(StateDir(platform.state_dir))
    assert pid is not None

    # The state dir is private: it holds the database, the builder key, maybe a password.
    assert stat.S_IMODE(platform.state_dir.stat().st_mode) == 0o700
    files = [path for path in platform.state_dir.rglob("*") if path.is_file()]
    assert {"settings.json", "builder-key", "deis.db", "platform.pid"} <= {p.name for p in files}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path

    result = platform.deisctl("status")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"running (pid {pid})" in result.stdout
    assert "(answers /healthz)" in result.stdout

    result = platform.up()
    assert result.returncode == 0
    assert f"The platform is already running (pid {pid})" in result.stdout

    result = platform.deisctl("down")
    assert result.returncode == 0, result.stderr
    assert f"Stopped the platform (pid {pid})." in result.stdout
    assert process_cmdline(pid) is None
    assert not answers(platform)
    assert (
        "Application shutdown complete"
        in (platform.state_dir / "logs" / "controller.log").read_text()
    )

    result = platform.deisctl("status")
    assert result.returncode == 3
    assert "not running" in result.stdout

    result = platform.deisctl("down")
    assert result.returncode == 0
    assert "The platform is not running." in result.stdout


def test_up_on_a_port_in_use_says_so(make_instance: MakeInstance) -> None:
    platform = make_instance()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", platform.api_port))
        taken.listen()
        result = platform.up()
    assert result.returncode == 1
    assert f"port {platform.api_port} is already in use" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert platform.deisctl("status").returncode == 3


def test_up_with_an_unreachable_database_says_so_and_changes_nothing(
    make_instance: MakeInstance,
) -> None:
    platform = make_instance()
    url = "postgresql://nobody:pw@127.0.0.1:1/nothing"
    result = platform.up("--database-url", url)
    assert result.returncode == 1
    assert "the platform could not start: cannot migrate the database" in result.stderr
    assert "postgresql://nobody:***@127.0.0.1:1/nothing" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (platform.state_dir / "settings.json").exists()
    assert platform.deisctl("status").returncode == 3


def test_a_crashed_platform_is_reported_and_purged(make_instance: MakeInstance) -> None:
    platform = make_instance()
    assert platform.up().returncode == 0
    pid = read_pid(StateDir(platform.state_dir))
    assert pid is not None
    os.kill(pid, 9)
    assert wait_for(lambda: process_cmdline(pid) is None)

    result = platform.deisctl("status")
    assert result.returncode == 3
    assert f"stale pid file: pid {pid}" in result.stdout

    result = platform.deisctl("down", "--purge")
    assert result.returncode == 0
    assert f"Removed the stale pid file (pid {pid})." in result.stdout
    assert not (platform.state_dir / "platform.pid").exists()

    # And it starts again from the same state.
    assert platform.up().returncode == 0
    assert answers(platform)


def test_backup_while_running_and_restore_elsewhere(
    make_instance: MakeInstance, tmp_path: Path
) -> None:
    source = make_instance()
    pem, key = make_cert("deis.localhost")
    (tmp_path / "deis.pem").write_text(pem)
    (tmp_path / "deis.key").write_text(key)
    result = source.deisctl("certs:set", str(tmp_path / "deis.pem"), str(tmp_path / "deis.key"))
    assert result.returncode == 0, result.stderr
    assert source.up().returncode == 0
    result = source.deisctl(
        "create-admin",
        "--username",
        "ops",
        "--email",
        "ops@example.com",
        env={"DEIS_ADMIN_PASSWORD": PASSWORD},
    )
    assert result.returncode == 0, result.stderr
    assert login(source, "ops", PASSWORD).status_code == 200

    backup = source.root / "backup.tar.gz"
    result = source.deisctl("backup", str(backup))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    with tarfile.open(backup) as tar:
        names = set(tar.getnames())
    private = ("builder-key", "dashboard-key", "router/platform.key")
    assert {"database.json", "settings.json", "manifest.json", *private} <= names
    assert "router/platform.crt" in names
    assert not any(name.endswith(".db") for name in names)

    # Restoring over a running platform is refused.
    result = source.deisctl("restore", str(backup))
    assert result.returncode == 1
    assert "the platform runs" in result.stderr

    target = make_instance()
    result = target.deisctl("restore", str(backup))
    assert result.returncode == 0, result.stderr
    assert "Restored the database" in result.stdout
    assert target.up().returncode == 0
    response = login(target, "ops", PASSWORD)
    assert response.status_code == 200, response.text
    assert response.json()["token"]
    for name in (*private, "router/platform.crt"):
        assert (target.state_dir / name).read_bytes() == (source.state_dir / name).read_bytes()
    for name in private:
        assert stat.S_IMODE((target.state_dir / name).stat().st_mode) == 0o600, name
    result = target.deisctl("certs:info")
    assert "deis.localhost: deis.localhost, valid until " in result.stdout, result.stdout

    # A second restore (stopped first) moves the previous database aside.
    assert target.deisctl("down").returncode == 0
    result = target.deisctl("restore", str(backup))
    assert result.returncode == 0, result.stderr
    assert "Moved the old database aside to" in result.stdout
    assert list(target.state_dir.glob("deis.db.before-restore-*"))


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A database of its own on the test PostgreSQL server (DEIS_TEST_DATABASE_URL)."""
    server = os.environ.get("DEIS_TEST_DATABASE_URL")
    if not server:
        pytest.skip("DEIS_TEST_DATABASE_URL is not set")
    import psycopg

    name = f"deis_test_{uuid.uuid4().hex[:12]}"
    admin = make_url(server).set(drivername="postgresql")
    conninfo = admin.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_postgres_platform_backs_up_into_sqlite(
    make_instance: MakeInstance, postgres_url: str
) -> None:
    source = make_instance()
    result = source.up("--database-url", postgres_url)
    assert result.returncode == 0, result.stderr
    status = source.deisctl("status")
    password = make_url(postgres_url).password
    assert ":***@" in status.stdout
    assert f":{password}@" not in status.stdout
    result = source.deisctl(
        "create-admin",
        "--username",
        "pgops",
        "--email",
        "pg@example.com",
        env={"DEIS_ADMIN_PASSWORD": PASSWORD},
    )
    assert result.returncode == 0, result.stderr
    backup = source.root / "pg.tar.gz"
    assert source.deisctl("backup", str(backup)).returncode == 0

    target = make_instance()
    result = target.deisctl("restore", str(backup))
    assert result.returncode == 0, result.stderr
    assert "sqlite:///" in result.stdout
    assert target.up().returncode == 0
    assert login(target, "pgops", PASSWORD).status_code == 200

    # Back into PostgreSQL: a database with data is only replaced with --force.
    assert source.deisctl("down").returncode == 0
    result = source.deisctl("restore", str(backup))
    assert result.returncode == 1
    assert "pass --force" in result.stderr
    result = source.deisctl("restore", str(backup), "--force")
    assert result.returncode == 0, result.stderr
    assert source.up().returncode == 0
    assert login(source, "pgops", PASSWORD).status_code == 200
