"""Backups: archive layout, what is restored where, and the store round trip (SQLite)."""

from __future__ import annotations

import io
import json
import stat
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from deis.platform import backup as bk
from deis.platform.state import StateDir, StateError, save_settings
from deis.settings import Settings

NOW = datetime(2024, 5, 1, 12, 30, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("settings.json", True),
        ("builder-key", True),
        ("keys/ssh_host_ed25519_key", True),
        ("keys/sub/dir/key", True),
        ("dashboard-key", True),
        ("router/platform.crt", True),
        ("router/platform.key", True),
        ("router/default.key", True),
        ("acme/account.key", True),
        ("router/table.json", False),
        ("router/access.log", False),
        ("router/../builder-key", False),
        ("keys", False),
        ("deis.db", False),
        ("../builder-key", False),
        ("/etc/passwd", False),
        ("keys/../../etc/passwd", False),
        ("keys/./x", False),
        ("addons/postgres-calm-1234/data/restore.dump", True),
        ("addons/redis-calm-1234/data/redis/restore.rdb", True),
        ("addons/postgres-calm-1234/data/pg/PG_VERSION", False),
        ("addons/../data/restore.dump", False),
        ("addons/x/restore.dump", False),
    ],
)
def test_only_known_state_files_are_restored(name: str, ok: bool) -> None:
    assert bk.is_state_member(name) is ok


def test_aside_names_keep_sqlite_companions_together() -> None:
    assert bk.aside_name("deis.db", "S") == "deis.db.before-restore-S"
    assert bk.aside_name("deis.db-wal", "S") == "deis.db.before-restore-S-wal"
    assert bk.aside_name("deis.db-shm", "S") == "deis.db.before-restore-S-shm"
    assert bk.timestamp(NOW) == "20240501-123005"


def test_sqlite_file() -> None:
    assert bk.sqlite_file("sqlite:////var/lib/deis/deis.db") == Path("/var/lib/deis/deis.db")
    assert bk.sqlite_file("sqlite://") is None
    assert bk.sqlite_file("sqlite:///:memory:") is None


def test_manifest(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, database_url="postgresql://u:pw@h/d")
    manifest = bk.make_manifest(settings, "0001", NOW)
    assert manifest == {
        "format": 1,
        "created": "2024-05-01T12:30:05Z",
        "database": "postgresql://u:***@h/d",
        "revision": "0001",
    }


def test_a_state_dir_with_settings_keeps_them(tmp_path: Path) -> None:
    target = Settings(state_dir=tmp_path)
    assert bk.restored_settings({"api_port": 9000}, {"api_port": 8000}, target) is None
    # ... but points at the database the restore wrote into.
    elsewhere = Settings(state_dir=tmp_path, database_url="postgresql://u:pw@new/deis")
    assert bk.restored_settings({"api_port": 9000}, None, elsewhere) == {
        "api_port": 9000,
        "database_url": "postgresql://u:pw@new/deis",
    }


def test_a_fresh_state_dir_takes_the_backups_settings_but_not_its_database(
    tmp_path: Path,
) -> None:
    target = Settings(state_dir=tmp_path)
    backup_saved = {"api_port": 8100, "database_url": "postgresql://u:pw@prod/deis"}
    assert bk.restored_settings({}, backup_saved, target) == {"api_port": 8100, "database_url": ""}
    chosen = Settings(state_dir=tmp_path, database_url="postgresql://u:pw@new/deis")
    restored = bk.restored_settings(None, backup_saved, chosen)
    assert restored is not None and restored["database_url"] == chosen.database_url
    restored = bk.restored_settings(None, None, target)
    assert restored is not None and restored["api_port"] == 8000


def _state(tmp_path: Path) -> StateDir:
    state = StateDir(tmp_path / "state")
    (state.keys_dir / "sub").mkdir(parents=True)
    (state.keys_dir / "host_key").write_text("HOST KEY")
    (state.keys_dir / "sub" / "other").write_text("OTHER")
    state.builder_key_file.write_text("the-key\n")
    (state.root / "dashboard-key").write_text("DASHBOARD KEY")
    (state.root / "router").mkdir()
    for name in ("platform.crt", "platform.key", "default.crt", "default.key"):
        (state.root / "router" / name).write_text(f"PEM {name}")
    (state.root / "router" / "table.json").write_text("{}")  # pushed again from the database
    (state.root / "acme").mkdir()
    (state.root / "acme" / "account.key").write_text("ACME ACCOUNT KEY")
    (state.root / "router" / "access.log").write_text("{}\n")
    save_settings(state, Settings(state_dir=state.root, api_port=8200))
    return state


def test_archive_round_trip(tmp_path: Path) -> None:
    state = _state(tmp_path)
    files = list(bk.state_files(state))
    assert [name for _, name in files] == [
        "settings.json",
        "builder-key",
        "dashboard-key",
        "router/platform.crt",
        "router/platform.key",
        "router/default.crt",
        "router/default.key",
        "acme/account.key",
        "keys/host_key",
        "keys/sub/other",
    ]
    target = tmp_path / "b.tar.gz"
    bk.write_archive(target, {"format": 1, "revision": "0001"}, {"tables": {}}, files)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    archive = bk.read_archive(target)
    assert archive.database == {"tables": {}}
    assert archive.manifest["revision"] == "0001"
    assert archive.files["keys/sub/other"] == b"OTHER"
    assert archive.settings is not None
    assert archive.settings["api_port"] == 8200


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_read_archive_skips_unsafe_members(tmp_path: Path) -> None:
    path = _tar(
        tmp_path / "b.tgz",
        {"database.json": b"{}", "../evil": b"x", "/etc/evil": b"x", "keys/k": b"k"},
    )
    assert bk.read_archive(path).files == {"keys/k": b"k"}


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"settings.json": b"{}"}, "no database.json"),
        ({"database.json": b"{broken"}, "damaged"),
        ({"database.json": b"{}", "manifest.json": b'{"format": 99}'}, "newer deisctl"),
    ],
)
def test_read_archive_refuses_what_is_not_a_backup(
    tmp_path: Path, members: dict[str, bytes], message: str
) -> None:
    with pytest.raises(StateError, match=message):
        bk.read_archive(_tar(tmp_path / "b.tgz", members))


def test_read_archive_explains_missing_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="does not exist"):
        bk.read_archive(tmp_path / "missing.tgz")
    (tmp_path / "text").write_text("hello")
    with pytest.raises(StateError, match="not a deisctl backup"):
        bk.read_archive(tmp_path / "text")


def test_move_sqlite_aside(tmp_path: Path) -> None:
    for name in ("deis.db", "deis.db-wal", "deis.db-shm"):
        (tmp_path / name).write_text(name)
    moved = bk.move_sqlite_aside(tmp_path / "deis.db", "S")
    assert sorted(p.name for p in moved) == [
        "deis.db.before-restore-S",
        "deis.db.before-restore-S-shm",
        "deis.db.before-restore-S-wal",
    ]
    assert not (tmp_path / "deis.db").exists()


def test_write_state_files_never_writes_outside_or_settings(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    written = bk.write_state_files(
        state, {"builder-key": b"k", "keys/a/b": b"b", "../x": b"x", "settings.json": b"{}"}
    )
    assert written == ["builder-key", "keys/a/b"]
    assert (tmp_path / "keys" / "a" / "b").read_text() == "b"
    assert stat.S_IMODE((tmp_path / "builder-key").stat().st_mode) == 0o600
    assert not (tmp_path.parent / "x").exists()
    assert not (tmp_path / "settings.json").exists()


def test_backup_refuses_a_state_dir_without_a_database(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="no database"):
        bk.backup(Settings(state_dir=tmp_path), tmp_path / "b.tgz")


def _admin(settings: Settings) -> None:
    from deis.platform.control import create_admin_user

    create_admin_user(settings, "alice", "alice@example.com", "a-long-password")


def _usernames(settings: Settings) -> list[str]:
    from deis.store.dump import dump

    return [row["username"] for row in dump(settings.effective_database_url)["tables"]["users"]]


def test_backup_and_restore_through_the_store(tmp_path: Path) -> None:
    source = _state(tmp_path)
    settings = Settings(state_dir=source.root)
    _admin(settings)
    target_file = tmp_path / "b.tar.gz"
    saved = bk.backup(settings, target_file, NOW)
    assert saved == [
        "database.json",
        "settings.json",
        "builder-key",
        "dashboard-key",
        "router/platform.crt",
        "router/platform.key",
        "router/default.crt",
        "router/default.key",
        "acme/account.key",
        "keys/host_key",
        "keys/sub/other",
    ]
    with tarfile.open(target_file) as tar:
        names = tar.getnames()
        member = tar.extractfile("manifest.json")
        assert member is not None
        manifest = json.load(member)
    assert "deis.db" not in names
    assert manifest["created"] == "2024-05-01T12:30:05Z"

    restored = Settings(state_dir=tmp_path / "restored")
    StateDir(restored.state_dir).root.mkdir()
    report = bk.restore(
        bk.read_archive(target_file), restored, target_saved={}, replace_database=False, now=NOW
    )
    assert report.moved_aside == []
    assert report.revision == manifest["revision"]
    assert report.settings_written
    assert _usernames(restored) == ["alice"]
    assert (restored.state_dir / "keys" / "sub" / "other").read_text() == "OTHER"
    assert (restored.state_dir / "builder-key").read_text() == "the-key\n"
    assert (restored.state_dir / "dashboard-key").read_text() == "DASHBOARD KEY"
    account_key = restored.state_dir / "acme" / "account.key"
    assert account_key.read_text() == "ACME ACCOUNT KEY"
    assert stat.S_IMODE(account_key.stat().st_mode) == 0o600
    router_dir = restored.state_dir / "router"
    assert stat.S_IMODE(router_dir.stat().st_mode) == 0o700
    for name in ("platform.crt", "platform.key", "default.crt", "default.key"):
        assert (router_dir / name).read_text() == f"PEM {name}"
    for path in (restored.state_dir / "dashboard-key", *router_dir.glob("*.key")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert not (router_dir / "table.json").exists()

    # Again, over the restored database: the old file is moved aside, the data is the same.
    report = bk.restore(
        bk.read_archive(target_file),
        restored,
        target_saved={"api_port": 1},
        replace_database=False,
        now=NOW,
    )
    assert [p.name for p in report.moved_aside][0] == "deis.db.before-restore-20240501-123005"
    assert not report.settings_written
    assert _usernames(restored) == ["alice"]
