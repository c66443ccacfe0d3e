"""Per-app logs in plain files: one line per event, newest last, kept to a retention.

Each app has a current segment and one previous segment; when the current one reaches
the retention, it becomes the previous one. So at least `retention` lines are always
kept, at most twice that, and writing never rewrites old lines.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from deis.domain.errors import Invalid

Keep = Callable[[str], bool]
FOLLOW_READ = 1 << 20  # bytes a follower reads at once: a slow reader holds no more


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
        self._appended = threading.Condition()  # wakes followers as soon as lines are in

    def _lock(self, app_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(app_id, threading.Lock())

    def current(self, app_id: str) -> Path:
        return self.directory / f"{app_id}.log"

    def previous(self, app_id: str) -> Path:
        return self.directory / f"{app_id}.log.1"

    def write(self, app_id: str, source: str, message: str, *, by_app: bool = False) -> None:
        """A platform event about the app: `deis[controller]: alice deployed v3`; by_app:
        what a process of the app printed (a cron job's output: `shop[cron.backup]: ...`)."""
        who = app_id if by_app else "deis"
        now = datetime.now(UTC)
        lines = [log_line(now, who, source, part) for part in message.splitlines()]
        self.append(app_id, lines or [log_line(now, who, source, "")])

    def append(self, app_id: str, lines: Iterable[str]) -> None:
        """Lines already formatted (the collector formats replicas' lines)."""
        batch = [line.replace("\n", " ") + "\n" for line in lines]
        if batch:
            self.append_block(app_id, "".join(batch), len(batch))

    def append_block(self, app_id: str, block: str, added: int) -> None:
        """`added` whole lines, each ending in a newline (the collector's fast path)."""
        if not added:
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
                out.write(block)
            self._counts[app_id] = count + added
        with self._appended:
            self._appended.notify_all()

    def tail(self, app_id: str, lines: int, keep: Keep | None = None) -> str:
        """The last `lines` lines (of those `keep` answers true for), oldest first."""
        if lines < 1:
            raise Invalid("Must be at least 1.", field="log_lines")
        last: deque[str] = deque(maxlen=lines)
        for path in (self.previous(app_id), self.current(app_id)):
            try:
                with open(path, encoding="utf-8", errors="replace") as source:
                    last.extend(source if keep is None else filter(keep, source))
            except FileNotFoundError:
                continue
        return "".join(last)

    def follow(
        self, app_id: str, lines: int, keep: Keep | None = None, *, poll: float = 0.5
    ) -> Iterator[str]:
        """The last `lines` lines, then each new line as it is written (never ends).

        The segment being read stays open, so lines written just before the current
        segment becomes the previous one are still read; at most FOLLOW_READ bytes are
        read at once, so a slow reader costs no more memory than a fast one."""
        if lines < 1:
            raise Invalid("Must be at least 1.", field="log_lines")
        path = self.current(app_id)
        source = _open_at_start(path)  # before the backlog: no line falls between the two
        try:
            backlog = self._backlog(app_id, lines, keep, source)
            if backlog:
                yield backlog
            while True:
                if source is None:
                    source = _open_at_start(path)
                if source is not None:
                    rotated = _rotated(source, path)
                    chunk = source.read(FOLLOW_READ)
                    complete = chunk[: chunk.rfind(b"\n") + 1]
                    if not complete and len(chunk) == FOLLOW_READ:
                        complete = chunk  # a line longer than a read: in pieces
                    if len(complete) < len(chunk):
                        source.seek(len(complete) - len(chunk), os.SEEK_CUR)
                    if complete:
                        text = complete.decode("utf-8", "replace")
                        if keep is not None:
                            text = "".join(filter(keep, text.splitlines(keepends=True)))
                        yield text
                        continue
                    if rotated:
                        source.close()
                        source = _open_at_start(path)
                        continue
                yield ""  # a heartbeat, so the caller can notice a closed connection
                with self._appended:
                    self._appended.wait(poll)
        finally:
            if source is not None:
                source.close()

    def _backlog(self, app_id: str, lines: int, keep: Keep | None, source: BinaryIO | None) -> str:
        """The last lines up to where `source` (the open current segment) now ends."""
        last: deque[str] = deque(maxlen=lines)
        try:
            with open(self.previous(app_id), encoding="utf-8", errors="replace") as previous:
                last.extend(previous if keep is None else filter(keep, previous))
        except FileNotFoundError:
            pass
        if source is not None:
            end, position, rest = os.fstat(source.fileno()).st_size, 0, b""
            while position < end:  # in bounded reads: only the last lines are held
                chunk = source.read(min(FOLLOW_READ, end - position))
                if not chunk:
                    break
                position += len(chunk)
                data = rest + chunk
                cut = data.rfind(b"\n") + 1
                rest = data[cut:]
                current = data[:cut].decode("utf-8", "replace").splitlines(keepends=True)
                last.extend(current if keep is None else filter(keep, current))
            source.seek(position - len(rest))
        return "".join(last)

    def remove(self, app_id: str) -> None:
        with self._lock(app_id):
            for path in (self.current(app_id), self.previous(app_id)):
                path.unlink(missing_ok=True)
            self._counts.pop(app_id, None)


def _open_at_start(path: Path) -> BinaryIO | None:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        return None


def _rotated(source: BinaryIO, path: Path) -> bool:
    """Whether `path` is now another file than the one open (or gone)."""
    try:
        return os.stat(path).st_ino != os.fstat(source.fileno()).st_ino
    except FileNotFoundError:
        return True


def _count_lines(path: Path) -> int:
    try:
        with open(path, "rb") as source:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: source.read(1 << 16), b""))
    except FileNotFoundError:
        return 0
