"""Build attempts and their output in plain files, never in the database:
DIRECTORY/APP/UUID.json (the attempt's fields) and DIRECTORY/APP/UUID.log (its output,
as `git push` showed it). The last `keep` attempts of each app are kept."""

from __future__ import annotations

import json
import os
import shutil
import threading
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from deis.domain.attempts import BUILDING, BuildAttempt

MAX_OUTPUT = 16 << 20  # bytes of one build's output; more is cut, and the output says so
CUT = "-----> (the rest of this build's output was not kept: over 16 MiB)\n"


def _to_json(attempt: BuildAttempt) -> dict[str, Any]:
    data = asdict(attempt)
    for name in ("started", "finished"):
        if data[name] is not None:
            data[name] = data[name].isoformat()
    return data


def _from_json(data: dict[str, Any]) -> BuildAttempt:
    data = dict(data)
    data["started"] = datetime.fromisoformat(data["started"])
    if data.get("finished"):
        data["finished"] = datetime.fromisoformat(data["finished"])
    return BuildAttempt(**data)


class FileBuildOutputs:
    def __init__(self, directory: Path, keep: int = 20) -> None:
        self.directory = directory
        self.keep = max(1, keep)
        self._sizes: dict[str, int] = {}
        self._lock = threading.Lock()

    def _paths(self, app_id: str, uuid: str) -> tuple[Path, Path]:
        folder = self.directory / app_id
        return folder / f"{uuid}.json", folder / f"{uuid}.log"

    def _save(self, attempt: BuildAttempt) -> None:
        meta, _ = self._paths(attempt.app, attempt.uuid)
        temporary = meta.with_suffix(".tmp")
        temporary.write_text(json.dumps(_to_json(attempt)))
        os.replace(temporary, meta)

    def start(self, attempt: BuildAttempt) -> None:
        """Record a new attempt (with an empty output) and forget the oldest beyond `keep`."""
        with self._lock:
            meta, output = self._paths(attempt.app, attempt.uuid)
            meta.parent.mkdir(parents=True, exist_ok=True)
            output.touch()
            self._save(attempt)
            self._sizes[attempt.uuid] = 0
            for old in self.list(attempt.app)[self.keep :]:
                for path in self._paths(old.app, old.uuid):
                    path.unlink(missing_ok=True)

    def write(self, app_id: str, uuid: str, text: str) -> None:
        """Append lines of output (up to MAX_OUTPUT bytes per attempt)."""
        data = text.encode("utf-8", "replace")
        with self._lock:
            size = self._sizes.get(uuid, MAX_OUTPUT)
            if size >= MAX_OUTPUT:
                return
            if size + len(data) >= MAX_OUTPUT:
                data = CUT.encode()
            _, output = self._paths(app_id, uuid)
            try:
                with open(output, "ab") as out:
                    out.write(data)
            except FileNotFoundError:  # the app was destroyed meanwhile
                return
            self._sizes[uuid] = MAX_OUTPUT if data == CUT.encode() else size + len(data)

    def finish(self, attempt: BuildAttempt) -> None:
        with self._lock:
            self._sizes.pop(attempt.uuid, None)
            if (self.directory / attempt.app).is_dir():
                self._save(attempt)

    def end_unfinished(self, when: datetime, reason: str) -> int:
        """Attempts still building when the builder stopped (it died): failed, with the
        reason. Answers how many."""
        ended = 0
        with self._lock:
            for folder in self.directory.glob("*"):
                for attempt in self.list(folder.name):
                    if attempt.status == BUILDING:
                        self._save(attempt.failed(when, reason))
                        ended += 1
        return ended

    def list(self, app_id: str) -> list[BuildAttempt]:
        """The app's attempts, newest first."""
        found = []
        for meta in (self.directory / app_id).glob("*.json"):
            try:
                found.append(_from_json(json.loads(meta.read_text())))
            except (OSError, ValueError, TypeError, KeyError):
                continue
        return sorted(found, key=lambda a: a.started, reverse=True)

    def get(self, app_id: str, uuid: str) -> BuildAttempt | None:
        meta, _ = self._paths(app_id, uuid)
        try:
            return _from_json(json.loads(meta.read_text()))
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def output(self, app_id: str, uuid: str) -> str:
        _, output = self._paths(app_id, uuid)
        try:
            return output.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def remove(self, app_id: str) -> None:
        with self._lock:
            shutil.rmtree(self.directory / app_id, ignore_errors=True)
