"""Collect what replicas print: one thread reads the files podman writes (k8s-file format,
one file per replica under CONTAINER_LOGS/APP/NAME.log) and appends their new lines to
the app's log. No process per replica.

Each replica's file stays open while it is read: conmon rotates a file that reaches its
cap by renaming a new one over it, and the open one still holds the lines not read yet.
Memory is bounded: at most `max_read` bytes per file per pass. When a replica writes
faster than that for long enough that more than `drop_behind` bytes wait unread, the
waiting lines are counted (never parsed) and dropped, and the exact count is written to
the app's log as `deis[logs]: dropped N lines from TYPE.HASH-ID`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from deis.logs.files import FileLogs, log_line
from deis.periodic import Periodic

log = logging.getLogger("deis.logs")

MAX_READ = 1 << 20  # bytes per file per pass: a noisy app cannot starve the others
DROP_BEHIND = 8 << 20  # unread bytes of one replica beyond which its backlog is dropped
MAX_LINE = 64 << 10  # a line longer than this (from partial records) is cut
IDLE_FILE_SECONDS = 15 * 60  # a replica's file unchanged this long, and fully read, goes
PARTIAL_RECORD = re.compile(rb"^\S+ \S+ P ", re.MULTILINE)


def replica_label(app: str, container: str) -> str:
    """`web.1234567890-abcde` for container `APP-web-1234567890-abcde` (as in deis ps)."""
    rest = container[len(app) + 1 :] if container.startswith(app + "-") else container
    parts = rest.rsplit("-", 2)
    if len(parts) == 3:
        return f"{parts[0]}.{parts[1]}-{parts[2]}"
    return rest


def parse_k8s_file(line: str) -> tuple[datetime | None, bool, str]:
    """`2026-11-27T08:00:00.123456789+00:00 stdout F text`: (time, complete?, text)."""
    stamp, _, rest = line.partition(" ")
    _stream, _, rest = rest.partition(" ")
    tag, _, text = rest.partition(" ")
    try:
        when = datetime.fromisoformat(stamp[:26] + stamp[29:] if len(stamp) > 32 else stamp)
    except ValueError:
        return None, True, line
    return when, tag != "P", text


class Stamps:
    """`2026-11-27T08:00:00Z` from conmon's stamps; UTC ones by slicing, others parsed once
    per second (thousands of lines a second share a second)."""

    def __init__(self) -> None:
        self._second = ""
        self._utc = ""

    def utc(self, stamp: str) -> str | None:
        if stamp.endswith(("+00:00", "Z")) and len(stamp) >= 19 and stamp[10] == "T":
            return stamp[:19] + "Z"
        second = stamp[:19] + stamp[-6:]
        if second != self._second:
            try:
                when = datetime.fromisoformat(stamp[:19] + stamp[-6:])
            except ValueError:
                return None
            self._second = second
            self._utc = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return self._utc


def format_records(
    app: str, label: str, data: bytes, partial: str, stamps: Stamps
) -> tuple[list[str], str]:
    """Complete k8s-file records → log lines; answers the lines and what is left of a line
    still being written in partial ("P") records."""
    out: list[str] = []
    prefix = f" {app}[{label}]: "
    now = ""
    for raw in data.decode("utf-8", "replace").split("\n"):
        if not raw:
            continue
        parts = raw.split(" ", 3)
        stamp = stamps.utc(parts[0]) if len(parts) >= 3 else None
        if stamp is None:
            now = now or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            stamp, tag, text = now, "F", raw
        else:
            tag, text = parts[2], parts[3] if len(parts) == 4 else ""
        if tag == "P":
            partial = (partial + text)[:MAX_LINE]
            continue
        if partial:
            text, partial = (partial + text)[:MAX_LINE], ""
        out.append(stamp + prefix + text)
    return out, partial


def format_block(
    app: str, label: str, data: bytes, partial: str, stamps: Stamps
) -> tuple[str, int, str]:
    """format_records as one block of text: (lines, how many, partial)."""
    lines, partial = format_records(app, label, data, partial, stamps)
    return "".join(line + "\n" for line in lines), len(lines), partial


def count_lines(data: bytes) -> int:
    """Lines in complete k8s-file records: records, less partial ones (they continue)."""
    return data.count(b"\n") - sum(1 for _ in PARTIAL_RECORD.finditer(data))


@dataclass
class Source:
    """One replica's file, as far as it was read."""

    handle: BinaryIO
    inode: int
    offset: int = 0
    partial: str = ""

    def close(self) -> None:
        self.handle.close()


@dataclass
class Collector:
    """Reads new lines of every replica's file; `pass_once` is one round over them."""

    container_logs: Path
    sink: FileLogs
    max_read: int = MAX_READ
    drop_behind: int = DROP_BEHIND
    sources: dict[str, Source] = field(default_factory=dict)
    saved: dict[str, tuple[int, int]] = field(default_factory=dict)  # key → (inode, offset)
    stamps: Stamps = field(default_factory=Stamps)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def state_file(self) -> Path:
        return self.container_logs / ".cursors.json"

    def load(self) -> None:
        try:
            data = json.loads(self.state_file.read_text())
            self.saved = {k: (int(v["inode"]), int(v["offset"])) for k, v in data.items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            self.saved = {}

    def save(self) -> None:
        with self.lock:
            data = {k: {"inode": s.inode, "offset": s.offset} for k, s in self.sources.items()}
            data |= {k: {"inode": i, "offset": o} for k, (i, o) in self.saved.items()}
        temporary = self.state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(data))
        os.replace(temporary, self.state_file)

    def pass_once(self) -> int:
        """Collect what is new; answers how many lines were appended."""
        total = 0
        for app_dir in sorted(p for p in self.container_logs.glob("*") if p.is_dir()):
            with self.lock:
                blocks: list[str] = []
                count = 0
                for path in sorted(app_dir.glob("*.log")):
                    block, lines = self.read_new(app_dir.name, path)
                    blocks.append(block)
                    count += lines
                if count:
                    self.sink.append_block(app_dir.name, "".join(blocks), count)
                    total += count
        return total

    def open(self, app: str, key: str, path: Path) -> Source | None:
        try:
            handle = open(path, "rb")
        except FileNotFoundError:
            return None
        source = Source(handle, os.fstat(handle.fileno()).st_ino)
        inode, offset = self.saved.pop(key, (source.inode, 0))
        if inode == source.inode and offset <= os.fstat(handle.fileno()).st_size:
            source.offset = offset
        elif offset:
            self.sink.write(
                app,
                "logs",
                f"{replica_label(app, path.stem)}: its log file was rotated while the platform"
                " was stopped; some lines may be lost",
            )
        self.sources[key] = source
        return source

    def read_new(self, app: str, path: Path) -> tuple[str, int]:
        """New lines of one replica's file, as one block of text, and how many."""
        key = f"{app}/{path.name}"
        source = self.sources.get(key) or self.open(app, key, path)
        if source is None:
            return "", 0
        label = replica_label(app, path.stem)
        if os.fstat(source.handle.fileno()).st_size < source.offset:
            self.sink.write(app, "logs", f"{label}: its log file was cut; some lines may be lost")
            source.offset, source.partial = 0, ""
        out: list[str] = []
        count = 0
        budget = self.max_read
        while budget > 0:
            rotated = self._rotated(source, path)  # asked before reading: then it is final
            source.handle.seek(source.offset)
            chunk = source.handle.read(budget)
            at_end = len(chunk) < budget
            complete = chunk[: chunk.rfind(b"\n") + 1] or (b"" if at_end else chunk)
            source.offset += len(complete)
            budget -= len(chunk)
            if complete:
                block, lines, source.partial = format_block(
                    app, label, complete, source.partial, self.stamps
                )
                out.append(block)
                count += lines
            if not at_end or not rotated:
                break
            source = self._next_file(app, key, path, source)
            if source is None:
                return "".join(out), count
        dropped = self._drop_backlog(app, key, path, source)
        if dropped:
            message = (
                f"dropped {dropped} lines from {label} (it wrote faster than the collector reads)"
            )
            out.append(log_line(datetime.now(UTC), "deis", "logs", message) + "\n")
            count += 1
        if not count:
            self._forget_if_idle(key, path, source)
        return "".join(out), count

    def _rotated(self, source: Source, path: Path) -> bool:
        try:
            return os.stat(path).st_ino != source.inode
        except FileNotFoundError:
            return True

    def _next_file(self, app: str, key: str, path: Path, old: Source) -> Source | None:
        old.close()
        del self.sources[key]
        self.saved.pop(key, None)
        return self.open(app, key, path)

    def _unread(self, source: Source, path: Path) -> int:
        behind = os.fstat(source.handle.fileno()).st_size - source.offset
        if self._rotated(source, path):
            try:
                behind += os.stat(path).st_size
            except FileNotFoundError:
                pass
        return behind

    def _drop_backlog(self, app: str, key: str, path: Path, source: Source | None) -> int:
        """Past `drop_behind` unread bytes, count the waiting lines and skip them."""
        if source is None or self._unread(source, path) <= self.drop_behind:
            return 0
        dropped = 0
        source.partial = ""
        while source is not None:
            rotated = self._rotated(source, path)
            while True:
                source.handle.seek(source.offset)
                chunk = source.handle.read(self.max_read)
                complete = chunk[: chunk.rfind(b"\n") + 1]
                dropped += count_lines(complete)
                source.offset += len(complete)
                if len(chunk) < self.max_read or not complete:
                    break
            if not rotated:
                break
            source = self._next_file(app, key, path, source)
        return dropped

    def _forget_if_idle(self, key: str, path: Path, source: Source | None) -> None:
        if source is None:
            return
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            return
        if stat.st_size == source.offset and time.time() - stat.st_mtime > IDLE_FILE_SECONDS:
            path.unlink(missing_ok=True)
            source.close()
            self.sources.pop(key, None)

    def forget(self, app: str) -> None:
        """Close what is open of the app's files (it is being removed)."""
        with self.lock:
            for key in [k for k in self.sources if k.startswith(app + "/")]:
                self.sources.pop(key).close()
            for key in [k for k in self.saved if k.startswith(app + "/")]:
                del self.saved[key]

    def close(self) -> None:
        with self.lock:
            for source in self.sources.values():
                source.close()
            self.sources.clear()


class CollectingLogs(FileLogs):
    """The file logs adapter, collecting replicas' output as well (start/stop)."""

    def __init__(
        self,
        directory: Path,
        retention: int,
        container_logs: Path,
        interval: float = 0.05,
        *,
        max_read: int = MAX_READ,
        drop_behind: int = DROP_BEHIND,
    ) -> None:
        super().__init__(directory, retention)
        self.container_logs = container_logs
        self.collector = Collector(container_logs, self, max_read, drop_behind)
        self.interval = interval
        self._last_save = 0.0
        self._loop = Periodic(
            "log-collector", self._collect, interval, on_exit=self._finish, join_timeout=10
        )

    def start(self) -> None:
        self.container_logs.mkdir(parents=True, exist_ok=True)
        self.collector.load()
        self._loop.start()

    def _collect(self) -> None:
        collected = self.collector.pass_once()
        if collected and time.monotonic() - self._last_save > 1.0:
            self.collector.save()
            self._last_save = time.monotonic()

    def _finish(self) -> None:
        self.collector.save()
        self.collector.close()

    def stop(self) -> None:
        self._loop.stop()

    def remove(self, app_id: str) -> None:
        self.collector.forget(app_id)
        with self.collector.lock:
            super().remove(app_id)
            shutil.rmtree(self.container_logs / app_id, ignore_errors=True)
