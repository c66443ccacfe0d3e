"""The object store on the local disk: one file per key under STATE/objects/.

Keys are relative, '/'-separated paths of plain names (`slugs/myapp/<sha>/slug.tgz`).
Writes are atomic: a temporary file in the same directory, then a rename.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path
from typing import BinaryIO

_PART_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+=-]{0,254}")
CHUNK = 1024 * 1024


class InvalidKey(ValueError):
    pass


def validate_key(key: str) -> str:
    if not isinstance(key, str) or not key or len(key) > 1024:
        raise InvalidKey(f"not an object key: {key!r}")
    parts = key.split("/")
    for part in parts:
        if not _PART_RE.fullmatch(part) or part in (".", "..") or part.endswith(".part"):
            raise InvalidKey(f"not an object key: {key!r}")
    return key


class FilesystemObjects:
    """put/get/delete/exists by key; `path(key)` gives the file for local readers."""

    name = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).split("/"))

    def put(self, key: str, data: bytes | BinaryIO | Path) -> int:
        """Store data (bytes, a readable binary file, or a local file's path); its size."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
        size = 0
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                if isinstance(data, bytes):
                    out.write(data)
                    size = len(data)
                elif isinstance(data, Path):
                    with data.open("rb") as src:
                        shutil.copyfileobj(src, out, CHUNK)
                    size = out.tell()
                else:
                    shutil.copyfileobj(data, out, CHUNK)
                    size = out.tell()
                out.flush()
                os.fsync(out.fileno())
            temporary.replace(target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return size

    def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    def open(self, key: str) -> BinaryIO:
        try:
            return self.path(key).open("rb")
        except FileNotFoundError:
            raise KeyError(key) from None

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def keys(self, prefix: str = "") -> list[str]:
        base = self.path(prefix) if prefix else self.root
        if not base.is_dir():
            return []
        found = []
        for path in base.rglob("*"):
            if path.is_file() and not path.name.startswith("."):
                found.append(path.relative_to(self.root).as_posix())
        return sorted(found)
