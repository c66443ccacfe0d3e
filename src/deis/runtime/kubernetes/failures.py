"""What the Kubernetes adapters make of failures: API errors that retries did not cure
(Unavailable, the API's 503), and containers that will never start by waiting longer."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

from deis.domain.errors import Unavailable
from deis.runtime.kubernetes.client import ApiError

P = ParamSpec("P")
R = TypeVar("R")

# a container waiting for one of these will not start by waiting longer
HOPELESS = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)


def unavailable_on_api_error(method: Callable[P, R]) -> Callable[P, R]:
    """API failures that retries did not cure become Unavailable for the API's 503."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except ApiError as error:
            raise Unavailable(f"The Kubernetes API failed: {error}") from None

    return wrapper


def waiting_reason(pod: Mapping[str, Any]) -> tuple[str, str]:
    """Why the pod's container waits (reason, message), or ("", "")."""
    for item in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = (item.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            return str(waiting["reason"]), str(waiting.get("message") or "")
    return "", ""
