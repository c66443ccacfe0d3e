"""Collect what replicas print: one thread reads the files podman writes (k8s-file format,
one file per replica under CONTAINER_LOGS/APP/NAME.log) and appends their new lines to
the app's log. No process per replica; memory bounded by one read per file per pass.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from deis.logs.files import FileLogs

log = logging.getLogger("deis.logs")

MAX_READ = 1 << 20  # bytes per file per pass: a noisy app cannot starve the others
IDLE_FILE_SECONDS = 15 * 60  # a replica's file unchanged this long, and fully read, goes


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


@dataclass
class Cursor:
    inode: int = 0
    offset: int = 0
    partial: str = ""


@dataclass
class Collector:
    """Reads new lines of every replica's file; `pass_once` is one round over them."""

    container_logs: Path
    sink: FileLogs
    cursors: dict[str, Cursor] = field(default_factory=dict)

    @property
    def state_file(self) -> Path:
        return self.container_logs / ".cursors.json"

    def load(self) -> None:
        try:
            saved = json.loads(self.state_file.read_text())
            self.cursors = {k: Cursor(v["inode"], v["offset"]) for k, v in saved.items()}
        except (OSError, ValueError, KeyError, TypeError):
            self.cursors = {}

    def save(self) -> None:
        data = {k: {"inode": c.inode, "offset": c.offset} for k, c in self.cursors.items()}
        temporary = self.state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(data))
        os.replace(temporary, self.state_file)

    def pass_once(self) -> int:
        """Collect what is new; answers how many lines were appended."""
        total = 0
        for app_dir in sorted(p for p in self.container_logs.glob("*") if p.is_dir()):
            lines: list[str] = []
            for path in sorted(app_dir.glob("*.log")):
                lines.extend(self.read_new(app_dir.name, path))
            if lines:
                self.sink.append(app_dir.name, lines)
                total += len(lines)
        return total

    def read_new(self, app: str, path: Path) -> list[str]:
        key = f"{app}/{path.name}"
        try:
            stat = path.stat()
        except FileNotFoundError:
            self.cursors.pop(key, None)
            return []
        cursor = self.cursors.setdefault(key, Cursor(stat.st_ino, 0))
        if stat.st_ino != cursor.inode or stat.st_size < cursor.offset:
            if cursor.offset and stat.st_size < cursor.offset:
                self.sink.write(
                    app, "logs", f"{path.stem}: log file rotated; some lines may be lost"
                )
            cursor.inode, cursor.offset, cursor.partial = stat.st_ino, 0, ""
        if stat.st_size == cursor.offset:
            self.forget_if_idle(key, path, stat.st_mtime)
            return []
        with open(path, "rb") as source:
            source.seek(cursor.offset)
            chunk = source.read(MAX_READ)
        complete = chunk[: chunk.rfind(b"\n") + 1]
        cursor.offset += len(complete)
        label = replica_label(app, path.stem)
        out = []
        for raw in complete.decode("utf-8", "replace").splitlines():
            when, whole, text = parse_k8s_file(raw)
            if not whole:
                cursor.partial += text
                continue
            text, cursor.partial = cursor.partial + text, ""
            stamp = (when or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            out.append(f"{stamp} {app}[{label}]: {text}")
        return out

    def forget_if_idle(self, key: str, path: Path, mtime: float) -> None:
        if time.time() - mtime > IDLE_FILE_SECONDS:
            path.unlink(missing_ok=True)
            self.cursors.pop(key, None)


class CollectingLogs(FileLogs):
    """The file logs adapter, collecting replicas' output as well (start/stop)."""

    def __init__(
        self, directory: Path, retention: int, container_logs: Path, interval: float = 0.1
    ) -> None:
        super().__init__(directory, retention)
        self.container_logs = container_logs
        self.collector = Collector(container_logs, self)
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.container_logs.mkdir(parents=True, exist_ok=True)
        self.collector.load()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="log-collector", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        last_save = 0.0
        while not self._stop.is_set():
            try:
                collected = self.collector.pass_once()
                if collected and time.monotonic() - last_save > 1.0:
                    self.collector.save()
                    last_save = time.monotonic()
            except Exception:
                log.exception("collecting app logs failed; trying again")
            self._stop.wait(self.interval)
        self.collector.save()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def remove(self, app_id: str) -> None:
        super().remove(app_id)
        shutil.rmtree(self.container_logs / app_id, ignore_errors=True)
