"""A router whose every route answers with and without the trailing slash, no redirect,
and signs its caller in within the route's own worker thread (deis.api.signin)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from deis.api.signin import one_trip


class SlashRouter(APIRouter):
    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        endpoint = one_trip(endpoint)
        bare = path.rstrip("/")
        if not bare and not self.prefix:
            super().add_api_route("/", endpoint, **kwargs)
            return
        super().add_api_route(bare, endpoint, **kwargs)
        kwargs["include_in_schema"] = False
        kwargs.pop("operation_id", None)
        super().add_api_route(bare + "/", endpoint, **kwargs)
