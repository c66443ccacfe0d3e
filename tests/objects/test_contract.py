"""The Objects port's contract: every adapter (the filesystem, S3) passes the same tests."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
from pathlib import Path

import pytest

from deis.objects.filesystem import InvalidKey
from deis.ports import Objects

KEY = "slugs/myapp/git-0123456789abcdef0123456789abcdef01234567.tgz"


def test_put_get_exists_delete(store: Objects) -> None:
    assert not store.exists(KEY)
    assert store.put(KEY, b"slug") == 4
    assert store.exists(KEY)
    assert store.get(KEY) == b"slug"
    store.delete(KEY)
    assert not store.exists(KEY)
    store.delete(KEY)  # deleting what is not there is no error


def test_put_replaces(store: Objects) -> None:
    store.put(KEY, b"first")
    store.put(KEY, b"second, longer")
    assert store.get(KEY) == b"second, longer"


def test_empty_object(store: Objects) -> None:
    assert store.put("caches/app/empty", b"") == 0
    assert store.exists("caches/app/empty")
    assert store.get("caches/app/empty") == b""


def test_put_from_a_file_and_a_stream(store: Objects, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(3000))
    assert store.put("caches/app/a.tgz", source) == 3000
    assert store.get("caches/app/a.tgz") == source.read_bytes()
    with source.open("rb") as handle:
        assert store.put("caches/app/b.tgz", handle) == 3000
    assert store.get("caches/app/b.tgz") == source.read_bytes()
    assert store.put("caches/app/c.tgz", io.BytesIO(b"abc")) == 3


def test_open_streams(store: Objects) -> None:
    data = os.urandom(200_000)
    store.put(KEY, data)
    with store.open(KEY) as handle:
        parts = []
        while chunk := handle.read(65536):
            assert len(chunk) <= 65536
            parts.append(chunk)
    assert b"".join(parts) == data


def test_missing_keys(store: Objects) -> None:
    with pytest.raises(KeyError):
        store.get("slugs/nothing/here.tgz")
    with pytest.raises(KeyError):
        store.open("slugs/nothing/here.tgz")
    assert not store.exists("slugs/nothing/here.tgz")
    assert not store.path("slugs/nothing/here.tgz").exists()


def test_keys_by_folder(store: Objects) -> None:
    for key in ("slugs/app/a.tgz", "slugs/app/b.tgz", "slugs/app2/c.tgz", "caches/app.tgz"):
        store.put(key, b"x")
    assert store.keys("slugs/app") == ["slugs/app/a.tgz", "slugs/app/b.tgz"]
    assert store.keys("slugs") == ["slugs/app/a.tgz", "slugs/app/b.tgz", "slugs/app2/c.tgz"]
    assert store.keys() == [
        "caches/app.tgz",
        "slugs/app/a.tgz",
        "slugs/app/b.tgz",
        "slugs/app2/c.tgz",
    ]
    assert store.keys("nothing") == []


@pytest.mark.parametrize("bad", ["", "/abs", "a/../b", "a//b", "../x", "a/./b", "x.part"])
def test_invalid_keys_are_refused(store: Objects, bad: str) -> None:
    with pytest.raises(InvalidKey):
        store.put(bad, b"x")
    with pytest.raises(InvalidKey):
        store.path(bad)


def test_path_is_a_local_copy(store: Objects) -> None:
    store.put(KEY, b"version one")
    assert store.path(KEY).read_bytes() == b"version one"
    store.put(KEY, b"version two!")
    assert store.path(KEY).read_bytes() == b"version two!"


def test_large_objects_stream_without_holding_them(store: Objects, tmp_path: Path) -> None:
    """A 48 MiB slug goes up and comes down while Python holds far less of it."""
    size = 48 * 1024 * 1024
    source = tmp_path / "big.tgz"
    digest = hashlib.sha256()
    with source.open("wb") as out:
        block = os.urandom(1024 * 1024)
        for n in range(size // len(block)):
            chunk = bytes([n % 256]) + block[1:]
            digest.update(chunk)
            out.write(chunk)
    tracemalloc.start()
    try:
        assert store.put(KEY, source) == size
        _, peak_up = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        copy = hashlib.sha256()
        with store.open(KEY) as handle:
            while chunk := handle.read(1024 * 1024):
                copy.update(chunk)
        local = store.path(KEY)
        _, peak_down = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert copy.hexdigest() == digest.hexdigest()
    assert local.stat().st_size == size
    assert peak_up < size // 2, f"upload held {peak_up} bytes"
    assert peak_down < size // 2, f"download held {peak_down} bytes"
