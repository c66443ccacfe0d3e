"""Deploy settings an app may give in its config values, read purely."""

from __future__ import annotations

from collections.abc import Mapping

BATCHES_KEY = "DEIS_DEPLOY_BATCHES"
TIMEOUT_KEY = "DEIS_DEPLOY_TIMEOUT"
DEFAULT_TIMEOUT = 120.0


def deploy_batches(env: Mapping[str, str], default: int | None = None) -> int | None:
    """New replicas started at a time (DEIS_DEPLOY_BATCHES); None: all at once."""
    try:
        value = int(env.get(BATCHES_KEY, ""))
    except ValueError:
        return default
    return value if value > 0 else default


def deploy_timeout(env: Mapping[str, str], default: float = DEFAULT_TIMEOUT) -> float:
    """Seconds a batch of new replicas has to become ready (DEIS_DEPLOY_TIMEOUT)."""
    try:
        value = float(env.get(TIMEOUT_KEY, ""))
    except ValueError:
        return default
    return value if value > 0 else default
