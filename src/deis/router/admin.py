"""The client of nginx's admin server (a unix socket served by deis_router.lua)."""

from __future__ import annotations

from pathlib import Path

import httpx


class AdminError(RuntimeError):
    """nginx could not be reached on its admin socket or refused a change."""


class AdminClient:
    def __init__(self, socket_path: Path, timeout: float = 5.0) -> None:
        self.socket_path = socket_path
        self._client = httpx.Client(
            transport=httpx.HTTPTransport(uds=str(socket_path)),
            base_url="http://deis-router-admin",
            timeout=timeout,
        )

    def close(self) -> None:
        self._client.close()

    def _call(self, method: str, path: str, body: str = "") -> str:
        try:
            response = self._client.request(method, path, content=body.encode())
        except httpx.HTTPError as exc:
            raise AdminError(f"{method} {path}: {exc}") from exc
        if response.status_code != 200:
            raise AdminError(f"{method} {path}: {response.status_code} {response.text.strip()}")
        return response.text

    def status(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for line in self._call("GET", "/status").splitlines():
            key, _, value = line.partition(" ")
            out[key] = int(value) if value.isdigit() else 0
        return out

    def put_app(self, app_id: str, body: str) -> None:
        self._call("PUT", f"/apps/{app_id}", body)

    def delete_app(self, app_id: str) -> None:
        self._call("DELETE", f"/apps/{app_id}")

    def describe(self, app_id: str) -> str:
        """What nginx holds for the app (never the keys): for tests and operators."""
        return self._call("GET", f"/apps/{app_id}")

    def put_peers(self, app_id: str, body: str) -> None:
        self._call("PUT", f"/peers/{app_id}", body)

    def put_platform(self, body: str) -> None:
        self._call("PUT", "/platform", body)

    def delete_platform(self) -> None:
        self._call("DELETE", "/platform")

    def describe_platform(self) -> str:
        """Whether nginx holds a platform certificate, and its names (never the key)."""
        return self._call("GET", "/platform")

    def put_challenge(self, token: str, host: str, key_authorization: str) -> None:
        self._call("PUT", f"/challenges/{token}", f"{host} {key_authorization}")

    def delete_challenge(self, token: str) -> None:
        self._call("DELETE", f"/challenges/{token}")

    def wakes(self, wait: float) -> list[str]:
        """The apps held requests asked to wake, as soon as there are any (else [] after
        `wait` seconds)."""
        text = self._call("GET", f"/wakes?wait={wait:g}")
        return [line for line in text.splitlines() if line]

    def wake_failed(self, app_id: str, seconds: float) -> None:
        """The app could not be woken (or was not asleep): its held requests, and those
        of the next `seconds`, get 503 at once."""
        self._call("DELETE", f"/wakes/{app_id}", f"{seconds:g}")

    def mark_synced(self, token: int) -> None:
        self._call("PUT", "/synced", str(token))

    def flush(self) -> None:
        self._call("DELETE", "/all")
