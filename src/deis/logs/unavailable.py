"""The logs adapter used until log collection exists: reading logs is refused plainly."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from deis.domain.errors import Unavailable

NO_LOGS = (
    "This platform does not collect logs yet: its runtime runs no processes. "
    "Start it with a runtime that runs apps to read their logs."
)


class UnavailableLogs:
    def tail(self, app_id: str, lines: int, keep: Callable[[str], bool] | None = None) -> str:
        raise Unavailable(NO_LOGS)

    def follow(
        self, app_id: str, lines: int, keep: Callable[[str], bool] | None = None
    ) -> Iterator[str]:
        raise Unavailable(NO_LOGS)

    def write(self, app_id: str, source: str, message: str, *, by_app: bool = False) -> None:
        """Platform events have nowhere to go yet; they are dropped, not invented."""

    def remove(self, app_id: str) -> None:
        """Nothing is kept, so there is nothing to remove."""
