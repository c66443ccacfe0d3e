"""The errors the core raises. The API turns them into HTTP once, at the edge."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the core raises on purpose."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Invalid(DomainError):
    """The input breaks a rule. `field` names the offending field when there is one."""

    def __init__(
        self,
        message: str = "Invalid input.",
        field: str | None = None,
        errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message, field)
        if errors is None:
            errors = {field: [message]} if field else {"detail": [message]}
        self.errors = errors


class NotFound(DomainError):
    """The thing does not exist, or the caller may not know that it does."""


class Conflict(DomainError):
    """The request clashes with the current state (duplicates, locks, owners)."""


class PermissionDenied(DomainError):
    """The caller is known but may not do this."""


class NotAuthenticated(DomainError):
    """No valid credentials were given."""


class RateLimited(DomainError):
    """Too many attempts; try again later."""


class Unavailable(DomainError):
    """A part of the platform is not there or not ready."""


class DeployFailed(DomainError):
    """The new release could not serve; the previous one keeps serving."""
