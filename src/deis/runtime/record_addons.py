"""RecordingAddons: the AddonServers port that keeps what it was asked and runs nothing
(DEIS_ADDONS=record, the tests of the API)."""

from __future__ import annotations

import threading

from deis.domain.addons import Addon
from deis.domain.errors import Unavailable
from deis.domain.terminal import Opening
from deis.ports import Terminal


class RecordingAddons:
    name = "record"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.servers: dict[str, Addon] = {}
        self.reached: dict[str, list[str]] = {}
        self.backups: dict[str, str] = {}
        self.restored: list[tuple[str, str]] = []

    def url(self, addon: Addon) -> str:
        return addon.url()

    def provision(self, addon: Addon) -> None:
        with self._lock:
            self.servers[addon.name] = addon

    def deprovision(self, name: str) -> None:
        with self._lock:
            self.servers.pop(name, None)
            self.reached.pop(name, None)

    def change_plan(self, old: Addon, new: Addon) -> None:
        with self._lock:
            self.servers[new.name] = new

    def state(self, name: str) -> str:
        with self._lock:
            return "available" if name in self.servers else "missing"

    def disk_used(self, name: str) -> int | None:
        return None

    def reach(self, addon: Addon, apps: list[str]) -> None:
        with self._lock:
            self.reached[addon.name] = sorted(set(apps))

    def adopt(self, addons: list[tuple[Addon, list[str]]]) -> None:
        with self._lock:
            for addon, apps in addons:
                self.servers[addon.name] = addon
                self.reached[addon.name] = sorted(set(apps))

    def backup(self, addon: Addon, key: str) -> int:
        with self._lock:
            self.backups[key] = addon.name
        return 0

    def restore(self, addon: Addon, key: str) -> None:
        with self._lock:
            self.restored.append((addon.name, key))

    def terminal(self, addon: Addon, opening: Opening) -> Terminal:
        raise Unavailable("The record adapter runs no add-on, so it gives no terminal.")
