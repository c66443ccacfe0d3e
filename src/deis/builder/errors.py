"""Why a push or a build did not go through: a reason for the person pushing."""

from __future__ import annotations


class BuildRefused(Exception):
    """The push is refused before or during the build; `message` is shown as it is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BuildFailed(BuildRefused):
    """The build ran and failed (its own output has already been streamed)."""
