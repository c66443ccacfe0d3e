"""The router used when none runs (tests of the API, or an operator without nginx): it
keeps the latest routes and peers in memory so that they can be inspected."""

from __future__ import annotations

from typing import Any

from deis.domain.errors import Unavailable
from deis.domain.routing import AppRoute


class RecordingRouter:
    name = "none"

    def __init__(self) -> None:
        self.routes: dict[str, AppRoute] = {}
        self.peers: dict[str, list[str]] = {}
        self.challenges: dict[str, tuple[str, str]] = {}

    def apply(self, route: AppRoute) -> None:
        self.routes[route.app] = route

    def remove(self, app_id: str) -> None:
        self.routes.pop(app_id, None)
        self.peers.pop(app_id, None)

    def set_peers(self, app_id: str, peers: list[str]) -> None:
        self.peers[app_id] = list(peers)

    def set_challenge(self, host: str, token: str, key_authorization: str) -> None:
        self.challenges[token] = (host, key_authorization)

    def remove_challenge(self, token: str) -> None:
        self.challenges.pop(token, None)

    def challenge_answer(self, host: str, token: str) -> str | None:
        named, answer = self.challenges.get(token, ("", ""))
        return answer if answer and named.lower() == host.lower().rstrip(".") else None

    def metrics(self, app_id: str) -> dict[str, Any]:
        raise Unavailable("This platform runs no router, so it counts no requests.")
