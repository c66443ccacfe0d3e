"""Per-app logs in plain files: one line per event, newest last, kept to a retention.

Each app has a current segment and one previous segment; when the current one reaches
the retention, it becomes the previous one. So at least `retention` lines are always
kept, at most twice that, and writing never rewrites old lines.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from deis.domain.errors import Invalid


def log_line(when: datetime, app_or_platform: str, source: str, message: str) -> str:
    stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{stamp} {app_or_platform}[{source}]: {message.rstrip()}"


class FileLogs:
    name = "file"

    def __init__(self, directory: Path, retention: int = 10_000) -> None:
        self.directory = directory
        self.retention = retention
        self._locks: dict[str, threading.Lock] = {}
        self._counts: dict[str, int] = {}
        self._guard = threading.Lock()

    def _lock(self, app_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(app_id, threading.Lock())

    def current(self, app_id: str) -> Path:
        return self.directory / f"{app_id}.log"

    def previous(self, app_id: str) -> Path:
        return self.directory / f"{app_id}.log.1"

    def write(self, app_id: str, source: str, message: str) -> None:
        """A platform event about the app: `deis[controller]: alice deployed v3`."""
        lines = [log_line(datetime.now(UTC), "deis", source, part) for part in message.splitlines()]
        self.append(app_id, lines or [log_line(datetime.now(UTC), "deis", source, "")])

    def append(self, app_id: str, lines: Iterable[str]) -> None:
        """Lines already formatted (the collector formats replicas' lines)."""
        batch = [line.replace("\n", " ") + "\n" for line in lines]
        if not batch:
            return
        with self._lock(app_id):
            self.directory.mkdir(parents=True, exist_ok=True)
            count = self._counts.get(app_id)
            if count is None:
                count = _count_lines(self.current(app_id))
            if count >= self.retention:
                os.replace(self.current(app_id), self.previous(app_id))
                count = 0
            with open(self.current(app_id), "a", encoding="utf-8") as out:
                out.writelines(batch)
            self._counts[app_id] = count + len(batch)

    def tail(self, app_id: str, lines: int) -> str:
        if lines < 1:
            raise Invalid("Must be at least 1.", field="log_lines")
        last: deque[str] = deque(maxlen=lines)
        for path in (self.previous(app_id), self.current(app_id)):
            try:
                with open(path, encoding="utf-8", errors="replace") as source:
                    last.extend(source)
            except FileNotFoundError:
                continue
        return "".join(last)

    def follow(self, app_id: str, lines: int, *, poll: float = 0.1) -> Iterator[str]:
        """The last `lines` lines, then each new line as it is written (never ends)."""
        backlog = self.tail(app_id, lines)
        if backlog:
            yield backlog
        path = self.current(app_id)
        position = path.stat().st_size if path.exists() else 0
        inode = path.stat().st_ino if path.exists() else None
        while True:
            try:
                stat = path.stat()
            except FileNotFoundError:
                time.sleep(poll)
                continue
            if stat.st_ino != inode:  # rotated: read the new segment from its start
                inode, position = stat.st_ino, 0
            if stat.st_size > position:
                with open(path, encoding="utf-8", errors="replace") as source:
                    source.seek(position)
                    chunk = source.read()
                    complete = chunk[: chunk.rfind("\n") + 1]
                    position += len(complete.encode())
                if complete:
                    yield complete
                    continue
            yield ""  # a heartbeat, so the caller can notice a closed connection
            time.sleep(poll)

    def remove(self, app_id: str) -> None:
        with self._lock(app_id):
            for path in (self.current(app_id), self.previous(app_id)):
                path.unlink(missing_ok=True)
            self._counts.pop(app_id, None)


def _count_lines(path: Path) -> int:
    try:
        with open(path, "rb") as source:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: source.read(1 << 16), b""))
    except FileNotFoundError:
        return 0
