"""deisctl's commands in-process (click's runner): messages and exit codes, no tracebacks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from deis.platform.deisctl import cli, invalid_text

Run = Callable[..., Result]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("DEIS_DATABASE_URL", "DEIS_STATE_DIR", "DEIS_API_PORT", "DEIS_ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)

    def run(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)

    return run


def test_status_of_nothing_is_exit_3(run: Run, tmp_path: Path) -> None:
    result = run("status", "--state-dir", str(tmp_path / "none"))
    assert result.exit_code == 3
    assert "Platform:" in result.output and "not running" in result.output


def test_down_when_nothing_runs(run: Run, tmp_path: Path) -> None:
    result = run("down", "--state-dir", str(tmp_path / "none"))
    assert result.exit_code == 0
    assert "does not exist" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--database-url", "mysql://root@localhost/x"], "must be PostgreSQL or SQLite"),
        (["--database-url", "no url"], "is not a valid URL"),
        (["--registration-mode", "sometimes"], "Invalid value for '--registration-mode'"),
        (["--api-port", "70000"], "Invalid value for '--api-port'"),
        (["--sleep-after", "5x"], "--sleep-after (DEIS_SLEEP_AFTER): after is a duration"),
    ],
)
def test_up_refuses_bad_settings(run: Run, tmp_path: Path, args: list[str], message: str) -> None:
    result = run("up", "--state-dir", str(tmp_path / "s"), *args)
    assert result.exit_code in (1, 2)
    assert message in result.output
    assert "Traceback" not in result.output


def test_up_refuses_an_unusable_state_dir(run: Run, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    result = run("up", "--state-dir", str(tmp_path / "file" / "s"))
    assert result.exit_code == 1
    assert "cannot use" in result.output and "as the state directory" in result.output


def test_migrate_create_admin_and_backup(run: Run, tmp_path: Path) -> None:
    state = str(tmp_path / "s")
    result = run("migrate", "--state-dir", state)
    assert result.exit_code == 0, result.output
    assert "is at revision" in result.output

    args = ["create-admin", "--state-dir", state, "--username", "root1", "--email", "r@example.com"]
    result = run(*args, input="a-long-password\na-long-password\n")
    assert result.exit_code == 0, result.output
    assert "Created the administrator root1." in result.output
    assert "deis login http://127.0.0.1:8000 --username=root1" in result.output

    result = run(*args, "--password", "a-long-password")
    assert result.exit_code == 1
    assert "already exists" in result.output

    result = run("backup", str(tmp_path / "b.tgz"), "--state-dir", state)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Backed up database.json")


def test_backup_of_nothing(run: Run, tmp_path: Path) -> None:
    result = run("backup", str(tmp_path / "b.tgz"), "--state-dir", str(tmp_path / "none"))
    assert result.exit_code == 1
    assert "there is no database" in result.output


def test_restore_of_something_else(run: Run, tmp_path: Path) -> None:
    (tmp_path / "b.tgz").write_text("not a backup")
    result = run("restore", str(tmp_path / "b.tgz"), "--state-dir", str(tmp_path / "s"))
    assert result.exit_code == 1
    assert "is not a deisctl backup" in result.output


def test_invalid_text() -> None:
    assert invalid_text({"username": ["Taken."]}) == "username: Taken."
    assert (
        invalid_text({"detail": ["Bad."], "email": ["No.", "Never."]}) == "Bad.; email: No. Never."
    )
