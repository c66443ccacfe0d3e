"""An add-on's disk on one machine (deis.runtime.podman.addon_disk): real ext4 files,
real loop mounts (root), each under the test's own temporary directory."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from deis.runtime.podman import addon_disk
from deis.runtime.podman.purge import mounts_under

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="loop mounts need root")

MIB = 1024 * 1024


@pytest.fixture
def addon_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "addons" / "postgres-test-0001"
    directory.mkdir(parents=True)
    yield directory
    addon_disk.detach_all(tmp_path / "addons")


def test_the_data_dir_is_a_disk_of_the_size_asked_and_cannot_outgrow_it(addon_dir: Path) -> None:
    data = addon_dir / "data"
    addon_disk.attach(addon_dir, data, 16)
    assert addon_disk.mounted(data)
    used, total = addon_disk.usage(data) or (0, 0)
    assert 12 * MIB < total <= 16 * MIB and used < 2 * MIB
    # sparse: the file on the state dir's disk takes what was written, not its size
    assert addon_disk.disk_file(addon_dir).stat().st_blocks * 512 < 8 * MIB
    with pytest.raises(OSError) as full, open(data / "fill", "wb") as out:
        for _ in range(32):
            out.write(os.urandom(MIB))
            out.flush()
            os.fsync(out.fileno())
    assert full.value.errno == errno.ENOSPC
    (data / "fill").unlink()
    addon_disk.attach(addon_dir, data, 16)  # mounted already: nothing to do
    assert mounts_under(data) == [str(data.resolve())]


def test_files_found_in_the_data_dir_move_onto_the_disk(addon_dir: Path) -> None:
    """An add-on made before disks had sizes, or a snapshot `deisctl restore` put in the
    data dir while the platform was down: not hidden under the mount."""
    data = addon_dir / "data"
    (data / "pg").mkdir(parents=True)
    (data / "pg" / "PG_VERSION").write_text("15\n")
    (data / "restore.dump").write_bytes(b"PGDMP")
    addon_disk.attach(addon_dir, data, 16)
    assert addon_disk.mounted(data)
    assert (data / "pg" / "PG_VERSION").read_text() == "15\n"
    assert (data / "restore.dump").read_bytes() == b"PGDMP"
    assert not (addon_dir / "disk-mount").exists()
    addon_disk.detach(data)
    assert not addon_disk.mounted(data) and list(data.iterdir()) == []  # all on the disk
    addon_disk.attach(addon_dir, data, 16)
    assert (data / "pg" / "PG_VERSION").read_text() == "15\n"


def test_a_bigger_plan_grows_the_disk_and_keeps_the_data(addon_dir: Path) -> None:
    data = addon_dir / "data"
    addon_disk.attach(addon_dir, data, 16)
    (data / "kept").write_text("rows")
    addon_disk.detach(data)
    addon_disk.attach(addon_dir, data, 32)
    _, total = addon_disk.usage(data) or (0, 0)
    assert total > 24 * MIB
    assert (data / "kept").read_text() == "rows"


def test_detach_all_unmounts_every_add_on_disk(tmp_path: Path) -> None:
    addons = tmp_path / "addons"
    for name in ("postgres-test-0002", "redis-test-0003"):
        addon_disk.attach(addons / name, addons / name / "data", 16)
    (addons / "forward.json").write_text("[]")  # a file beside them: left alone
    assert addon_disk.detach_all(addons) == ["postgres-test-0002", "redis-test-0003"]
    assert mounts_under(addons) == []
    assert addon_disk.detach_all(tmp_path / "nothing-here") == []


def test_a_disk_that_cannot_be_made_says_why(addon_dir: Path) -> None:
    with pytest.raises(addon_disk.DiskError, match="mkfs.ext4"):
        addon_disk.attach(addon_dir, addon_dir / "data", 0)  # an empty file holds no ext4
    assert not addon_disk.mounted(addon_dir / "data")
