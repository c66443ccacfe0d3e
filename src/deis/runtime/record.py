"""The runtime used until a real one is chosen: it records the desired state of each app
as a JSON file, and says plainly that it runs no processes."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from deis.domain.deploys import Deployed
from deis.domain.desired import DesiredApp, Pod, RunResult
from deis.domain.errors import Unavailable
from deis.domain.terminal import Opening
from deis.ports import Terminal

NO_PROCESSES = (
    "This platform records releases but runs no processes: its runtime is 'record'. "
    "Start it with a runtime that runs apps to use ps, run and logs."
)


class RecordingRuntime:
    name = "record"

    def __init__(self, state_dir: Path) -> None:
        self.directory = state_dir / "runtime" / "desired"

    def path(self, app_id: str) -> Path:
        return self.directory / f"{app_id}.json"

    def deploy(self, desired: DesiredApp) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.path(desired.app)
        temporary = target.with_suffix(".tmp")
        # Config values can be secrets: only the platform's user may read them.
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(asdict(desired), out, indent=2, sort_keys=True)
        temporary.replace(target)

    def desired(self, app_id: str) -> DesiredApp | None:
        try:
            fields = json.loads(self.path(app_id).read_text())
        except FileNotFoundError:
            return None
        fields["asleep"] = tuple(fields.get("asleep", ()))
        return DesiredApp(**fields)

    def remove(self, app_id: str) -> None:
        self.path(app_id).unlink(missing_ok=True)

    def deployed(self, app_id: str) -> Deployed | None:
        desired = self.desired(app_id)
        return None if desired is None else Deployed(desired.version, dict(desired.structure))

    def pods(self, app_id: str, proc_type: str | None = None) -> list[Pod]:
        raise Unavailable(NO_PROCESSES)

    def restart(
        self, app_id: str, proc_type: str | None = None, name: str | None = None
    ) -> list[Pod]:
        raise Unavailable(NO_PROCESSES)

    def run(self, desired: DesiredApp, command: str, timeout: float | None = None) -> RunResult:
        raise Unavailable(NO_PROCESSES)

    def terminal(self, desired: DesiredApp, opening: Opening) -> Terminal:
        raise Unavailable(NO_PROCESSES)
