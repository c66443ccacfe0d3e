"""Read a log file incrementally: the complete lines written since the last read,
following the file when it is rotated (renamed, then reopened by nginx on SIGUSR1)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import BinaryIO


class LogFollower:
    def __init__(self, path: Path, from_end: bool = False, drain_seconds: float = 10.0) -> None:
        self.path = path
        self.drain_seconds = drain_seconds
        self._file: BinaryIO | None = None
        self._inode: int | None = None
        self._partial = b""
        # a rotated file still read until nginx surely writes to the new one
        self._old: tuple[BinaryIO, float] | None = None
        self._open(from_end)

    def _open(self, at_end: bool) -> None:
        try:
            f = open(self.path, "rb")
        except FileNotFoundError:
            return
        st = os.fstat(f.fileno())
        if at_end:
            f.seek(st.st_size)
        self._file, self._inode = f, st.st_ino

    def _lines(self, data: bytes) -> bytes:
        """The complete lines of what was read (the rest waits for its newline)."""
        data = self._partial + data
        end = data.rfind(b"\n") + 1
        self._partial = data[end:]
        return data[:end]

    def read(self) -> list[str]:
        """The complete lines written since the last read, without their newline."""
        data = self.read_data()
        return [line.decode("utf-8", "replace") for line in data.split(b"\n") if line]

    def read_data(self) -> bytes:
        """The complete lines written since the last read, as bytes (each with its newline)."""
        lines = b""
        if self._old is not None:
            old, since = self._old
            lines += self._lines(old.read())
            if time.monotonic() - since > self.drain_seconds:
                old.close()
                self._old = None
        if self._file is None:
            self._open(False)
            if self._file is None:
                return lines
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            st = None
        if st is not None and st.st_ino != self._inode:
            # rotated: finish the old file later too, read the new one from its start
            lines += self._lines(self._file.read())
            if self._old is not None:  # rotated again: what the older file got last counts
                lines += self._lines(self._old[0].read())
                self._old[0].close()
            self._old = (self._file, time.monotonic())
            self._file, self._inode = None, None
            self._open(False)
            if self._file is None:
                return lines
        elif st is not None and st.st_size < self._file.tell():
            self._file.seek(0)  # truncated in place
        lines += self._lines(self._file.read())
        return lines

    def size(self) -> int:
        return self._file.tell() if self._file else 0

    def close(self) -> None:
        for f in (self._file, self._old[0] if self._old else None):
            if f is not None:
                f.close()
        self._file, self._old = None, None
