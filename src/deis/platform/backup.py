"""Backups of one platform instance: its database (as JSON) and its small state files.

A backup is a .tar.gz holding `manifest.json`, `database.json` (from
`deis.store.dump.dump`) and the state dir's small files: `settings.json`,
`builder-key`, `dashboard-key`, the router's certificates and keys (`router/platform.*`,
the operator's certificate for deis.DOMAIN, and `router/default.*`, the default one),
`acme/account.key` (automatic TLS's ACME account), `acme/platform.json` (what
--acme-platform installed) and anything under `keys/`. Every file is restored 0600.
Never the live SQLite file: the dump is a consistent read that works while the platform
runs. Each add-on's data too, as a snapshot of its running server
(`addons/NAME/data/restore.dump` or `.../redis/restore.rdb`), which the platform loads
into the server at its next start after a restore.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tarfile
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deis.domain.errors import DomainError
from deis.platform.state import (
    StateDir,
    StateError,
    describe_database,
    is_sqlite,
    one_line,
    settings_from_json,
    settings_to_json,
    write_private_file,
)
from deis.settings import Settings

FORMAT = 1
MANIFEST = "manifest.json"
DATABASE = "database.json"
STATE_FILES = (
    "settings.json",
    "builder-key",
    "dashboard-key",
    "router/platform.crt",
    "router/platform.key",
    "router/default.crt",
    "router/default.key",
    "acme/account.key",  # automatic TLS's ACME account (the CA knows the account by it)
    "acme/platform.json",  # which platform certificate --acme-platform installed (renews it)
)
KEYS = "keys"
MAX_MEMBER_BYTES = 2 * 1024**3


@dataclass
class Archive:
    """What a backup holds, read into memory."""

    manifest: dict[str, Any]
    database: Any
    files: dict[str, bytes] = field(default_factory=dict)  # state files by relative path

    @property
    def settings(self) -> dict[str, Any] | None:
        raw = self.files.get("settings.json")
        if raw is None:
            return None
        try:
            return settings_from_json(json.loads(raw), "the backup's settings.json")
        except ValueError as exc:
            raise StateError(f"the backup's settings.json is not valid JSON: {exc}") from exc


# --- pure parts -----------------------------------------------------------------------------


def is_state_member(name: str) -> bool:
    """Whether an archive member is a state file we back up and restore (and safe to write)."""
    parts = name.split("/")
    if any(part in ("", ".", "..") or "\\" in part for part in parts):
        return False  # absolute, empty, relative or odd: never write it
    if name in STATE_FILES:
        return True
    if len(parts) >= 2 and parts[0] == KEYS:
        return True
    # an add-on's snapshot: addons/NAME/data/restore.dump, addons/NAME/data/redis/restore.rdb
    return parts[0] == "addons" and "/".join(parts[2:]) in (
        "data/restore.dump",
        "data/redis/restore.rdb",
    )


def make_manifest(settings: Settings, revision: str | None, now: datetime) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "created": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "database": describe_database(settings.effective_database_url),
        "revision": revision,
    }


def restored_settings(
    target_saved: Mapping[str, Any] | None,
    backup_saved: Mapping[str, Any] | None,
    target: Settings,
) -> dict[str, Any] | None:
    """The settings.json a restore leaves, or None to keep the target's own file.

    A state dir that has settings keeps them (its addresses), with the database the
    restore wrote into. A fresh one takes the backup's, but never its database URL: the
    restore must not write into the database the backup came from.
    """
    if target_saved:
        if target_saved.get("database_url", "") == target.database_url:
            return None
        return {**target_saved, "database_url": target.database_url}
    base = dict(backup_saved) if backup_saved else settings_to_json(target)
    base["database_url"] = target.database_url
    return base


def aside_name(name: str, stamp: str) -> str:
    """deis.db → deis.db.before-restore-STAMP; deis.db-wal → deis.db.before-restore-STAMP-wal."""
    for suffix in ("-wal", "-shm", "-journal"):
        if name.endswith(suffix):
            return f"{name[: -len(suffix)]}.before-restore-{stamp}{suffix}"
    return f"{name}.before-restore-{stamp}"


def sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL, or None for an in-memory database."""
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def timestamp(now: datetime) -> str:
    return now.strftime("%Y%m%d-%H%M%S")


# --- writing a backup ------------------------------------------------------------------------


def state_files(state: StateDir) -> Iterator[tuple[Path, str]]:
    """The small state files to back up: (path on disk, name in the archive)."""
    for name in STATE_FILES:
        path = state.root / name
        if path.is_file():
            yield path, name
    if state.keys_dir.is_dir():
        for path in sorted(state.keys_dir.rglob("*")):
            if path.is_file() and not path.is_symlink():
                yield path, path.relative_to(state.root).as_posix()


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(mtime)
    tar.addfile(info, io.BytesIO(data))


def write_archive(
    target: Path, manifest: dict[str, Any], database: Any, files: list[tuple[Path, str]]
) -> None:
    """Write the backup to `target` (0600), atomically: a partial file never has its name."""
    now = time.time()
    try:
        database_json = json.dumps(database, separators=(",", ":")).encode()
    except (TypeError, ValueError) as exc:
        raise StateError(f"the database dump is not JSON: {exc}") from exc
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=2).encode(), now)
            _add_bytes(tar, DATABASE, database_json, now)
            for path, name in files:
                _add_bytes(tar, name, path.read_bytes(), path.stat().st_mtime)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StateError(f"cannot write the backup {target}: {exc.strerror or exc}") from exc


def backup(settings: Settings, target: Path, now: datetime | None = None) -> list[str]:
    """Back up the database and state files to `target`. Returns what was saved."""
    from deis.store.dump import dump
    from deis.store.migrate import current

    state = StateDir(settings.state_dir)
    url = settings.effective_database_url
    path = sqlite_file(url) if is_sqlite(settings) else None
    if path is not None and not path.is_file():
        raise StateError(f"there is no database at {path}: is --state-dir right?")
    with database_errors("back up", url):
        revision = current(url)
        if revision is None:
            raise StateError(
                f"the database {describe_database(url)} has no platform data (never migrated)"
            )
        database = dump(url)
    files = list(state_files(state))
    manifest = make_manifest(settings, revision, now or datetime.now(UTC))
    with tempfile.TemporaryDirectory(prefix="deis-backup-") as work:
        files += addon_snapshots(settings, database, Path(work))
        write_archive(target, manifest, database, files)
    return [DATABASE] + [name for _, name in files]


def addon_snapshots(settings: Settings, database: Any, work: Path) -> list[tuple[Path, str]]:
    """A snapshot of every add-on's data (pg_dump, a Redis RDB), taken from its running
    server; `deisctl restore` puts each where the platform loads it at its next start."""
    rows = database.get("tables", {}).get("addons", []) if isinstance(database, dict) else []
    if not rows or settings.addons_adapter != "podman":
        return []
    from deis.runtime.podman.addons import snapshot

    found = []
    for row in rows:
        target = work / f"{row['name']}.snapshot"
        try:
            member = snapshot(settings.state_dir, row["name"], row["service"], target)
        except Exception as exc:
            raise StateError(f"cannot back up the add-on {row['name']}: {one_line(exc)}") from exc
        found.append((target, member))
    return found


# --- reading and restoring a backup ----------------------------------------------------------


def read_archive(source: Path) -> Archive:
    try:
        with tarfile.open(source, mode="r:gz") as tar:
            return _read_members(tar)
    except FileNotFoundError as exc:
        raise StateError(f"{source} does not exist") from exc
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise StateError(f"{source} is not a deisctl backup (.tar.gz): {one_line(exc)}") from exc


def _read_members(tar: tarfile.TarFile) -> Archive:
    raw: dict[str, bytes] = {}
    for member in tar.getmembers():
        if not member.isfile():
            continue
        name = member.name
        if name not in (MANIFEST, DATABASE) and not is_state_member(name):
            continue
        if member.size > MAX_MEMBER_BYTES:
            raise StateError(f"the backup's {name} is too large")
        f = tar.extractfile(member)
        if f is not None:
            raw[name] = f.read()
    if DATABASE not in raw:
        raise StateError("the file is not a deisctl backup: it has no database.json")
    try:
        manifest = json.loads(raw.pop(MANIFEST, b"{}"))
        database = json.loads(raw.pop(DATABASE))
    except ValueError as exc:
        raise StateError(f"the backup is damaged: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format", FORMAT) > FORMAT:
        raise StateError("the backup was made by a newer deisctl; upgrade this one first")
    return Archive(manifest=manifest, database=database, files=raw)


@contextlib.contextmanager
def database_errors(what: str, url: str) -> Iterator[None]:
    """Turn a database failure into one clear line (the store raises many kinds)."""
    try:
        yield
    except (StateError, DomainError):
        raise
    except Exception as exc:
        raise StateError(
            f"cannot {what} the database {describe_database(url)}: {one_line(exc)}"
        ) from exc


def move_sqlite_aside(path: Path, stamp: str) -> list[Path]:
    """Move deis.db and its -wal/-shm companions aside. Returns the new names."""
    moved = []
    for suffix in ("", "-wal", "-shm", "-journal"):
        old = path.with_name(path.name + suffix)
        if old.exists():
            new = old.with_name(aside_name(old.name, stamp))
            old.rename(new)
            moved.append(new)
    return moved


def database_rows(url: str) -> int | None:
    """How many rows the database's tables hold (migrations' own excepted); None: no tables."""
    import sqlalchemy

    from deis.store.engine import make_engine

    engine = make_engine(url)
    try:
        metadata = sqlalchemy.MetaData()
        with engine.connect() as conn:
            metadata.reflect(conn)
            if not metadata.tables:
                return None
            count = sqlalchemy.func.count()
            return sum(
                conn.scalar(sqlalchemy.select(count).select_from(table)) or 0
                for name, table in metadata.tables.items()
                if name != "alembic_version"
            )
    finally:
        engine.dispose()


def drop_all_tables(url: str) -> None:
    """Empty a (PostgreSQL) database of every table, so that migrations start afresh."""
    import sqlalchemy

    from deis.store.engine import make_engine

    engine = make_engine(url)
    try:
        metadata = sqlalchemy.MetaData()
        with engine.begin() as conn:
            metadata.reflect(conn)
            metadata.drop_all(conn)
    finally:
        engine.dispose()


def write_state_files(state: StateDir, files: Mapping[str, bytes]) -> list[str]:
    written = []
    for name, data in sorted(files.items()):
        if name == "settings.json" or not is_state_member(name):
            continue
        path = state.root / name
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(f"cannot create {path.parent}: {exc.strerror or exc}") from exc
        if name.startswith("addons/"):  # a snapshot: bytes, as they were
            _write_bytes(path, data)
        else:
            write_private_file(path, data.decode(errors="surrogateescape"))
        written.append(name)
    return written


def _write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StateError(f"cannot write {path}: {exc.strerror or exc}") from exc


@dataclass
class RestoreReport:
    database: str
    source_revision: str | None
    created: str | None
    revision: str | None = None
    moved_aside: list[Path] = field(default_factory=list)
    dropped_tables: bool = False
    files: list[str] = field(default_factory=list)
    settings_written: bool = False


def restore(
    archive: Archive,
    settings: Settings,
    *,
    target_saved: Mapping[str, Any],
    replace_database: bool,
    now: datetime | None = None,
) -> RestoreReport:
    """Restore into the database and state dir of `settings` (the platform must be stopped).

    SQLite: the old file is moved aside. PostgreSQL: a database that has tables is only
    emptied when replace_database is set.
    """
    from deis.platform.state import save_settings
    from deis.store.dump import load
    from deis.store.migrate import current

    state = StateDir(settings.state_dir)
    url = settings.effective_database_url
    report = RestoreReport(
        database=describe_database(url),
        source_revision=archive.manifest.get("revision"),
        created=archive.manifest.get("created"),
    )
    with database_errors("restore into", url):
        if is_sqlite(settings):
            path = sqlite_file(url)
            if path is not None:
                stamp = timestamp(now or datetime.now(UTC))
                report.moved_aside = move_sqlite_aside(path, stamp)
        else:
            rows = database_rows(url)
            if rows and not replace_database:
                raise StateError(
                    f"the database {report.database} holds data ({rows} rows); restoring"
                    " drops every table first: pass --force to do that"
                )
            if rows is not None:
                drop_all_tables(url)
                report.dropped_tables = True
        load(url, archive.database)  # migrates the empty database to the dump's revision
        report.revision = current(url)
    report.files = write_state_files(state, archive.files)
    new_settings = restored_settings(target_saved, archive.settings, settings)
    if new_settings is not None:
        save_settings(state, settings.with_changes(**new_settings))
        report.settings_written = True
    return report
