"""SQLite writers of every process queue on a file lock beside the database."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from deis.store.engine import sqlite_lock_path
from deis.store.migrate import upgrade
from deis.store.sqlalchemy_store import SqlStore


def other_writer_would_wait(path: Path) -> bool:
    """Whether another process (another open file) would wait for the writers' lock."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def test_a_write_transaction_holds_the_file_lock_until_it_ends(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'deis.db'}"
    upgrade(url)
    store = SqlStore(url)
    lock = sqlite_lock_path(url)
    assert lock == tmp_path / "deis.db.writers"
    try:
        with store.transaction(write=True) as uow:
            assert other_writer_would_wait(lock)
            assert uow.users.count() == 0
        assert not other_writer_would_wait(lock)
        with store.transaction() as uow:  # readers take no lock
            assert not other_writer_would_wait(lock)
    finally:
        store.close()


def test_a_failed_write_releases_the_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'deis.db'}"
    upgrade(url)
    store = SqlStore(url)
    try:
        with pytest.raises(RuntimeError), store.transaction(write=True):
            raise RuntimeError("boom")
        assert not other_writer_would_wait(tmp_path / "deis.db.writers")
    finally:
        store.close()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "postgresql://u@h/db"])
def test_databases_without_a_file_have_no_file_lock(url: str) -> None:
    assert sqlite_lock_path(url) is None
