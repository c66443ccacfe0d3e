"""What routes depend on: the services' context, the signed-in user, a page of a list."""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request

from deis.api.responses import JSONResponse
from deis.domain.errors import Invalid, NotAuthenticated, PermissionDenied
from deis.domain.records import User
from deis.services import users
from deis.services.context import Context

DEFAULT_PAGE = 100
MAX_PAGE = 1000


# The dependencies that do no I/O are async: FastAPI runs a sync one in a worker thread.


async def get_context(request: Request) -> Context:
    ctx: Context = request.app.state.context
    return ctx


def bearer(authorization: str | None) -> str | None:
    """The token from `Authorization: token KEY` (DRF's form) or `Bearer KEY`."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() not in ("token", "bearer") or not token.strip():
        raise NotAuthenticated("Invalid token header. Use 'Authorization: token <key>'.")
    return token.strip()


def optional_user(
    ctx: Annotated[Context, Depends(get_context)],
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> User | None:
    token = bearer(authorization)
    return users.authenticate(ctx, token) if token else None


def required(user: User | None) -> User:
    if user is None:
        raise NotAuthenticated("Authentication credentials were not provided.")
    return user


async def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    return required(user)


class Credentials:
    """A request's token, not looked up yet: `signed_in` looks it up in the route's own
    worker thread, just before the route runs (one thread hop per request, not two)."""

    __slots__ = ("ctx", "token")

    def __init__(self, ctx: Context, token: str) -> None:
        self.ctx = ctx
        self.token = token

    def user(self, *, keep: bool = False) -> User:
        return users.authenticate(self.ctx, self.token, keep=keep)

    def done(self) -> None:
        """The route has returned: end a transaction `user(keep=True)` left open."""
        self.ctx.store.release()


UNCHECKED = "deis.unchecked_credentials"  # in the scope until the route has checked them


async def credentials(request: Request) -> Credentials:
    """No header (or a malformed one) is refused here at once, as `current_user` does."""
    token = required_token(request.headers.get("authorization"))
    found = Credentials(request.app.state.context, token)
    request.scope[UNCHECKED] = found
    return found


def required_token(authorization: str | None) -> str:
    token = bearer(authorization)
    if token is None:
        raise NotAuthenticated("Authentication credentials were not provided.")
    return token


def unchecked_credentials(request: Request) -> Credentials | None:
    """The token of a request refused before its route ran (a parameter failed
    validation): it must still be checked, since a wrong token answers 401 first."""
    found: Credentials | None = request.scope.get(UNCHECKED)
    return found


def builder(
    request: Request,
    x_deis_builder_auth: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> None:
    expected: str = request.app.state.builder_key
    if not x_deis_builder_auth or not hmac.compare_digest(x_deis_builder_auth, expected):
        raise PermissionDenied("Only the builder may call this.")


Ctx = Annotated[Context, Depends(get_context)]
Me = Annotated[User, Depends(current_user)]


class PageParams:
    def __init__(self, request: Request, limit: int, offset: int) -> None:
        self.request = request
        self.limit = limit
        self.offset = offset

    def url(self, offset: int) -> str:
        return str(self.request.url.include_query_params(limit=self.limit, offset=offset))

    def response(self, items: Sequence[dict[str, Any]], total: int) -> JSONResponse:
        after = self.offset + self.limit
        before = max(self.offset - self.limit, 0)
        return JSONResponse(
            {
                "count": total,
                "next": self.url(after) if after < total else None,
                "previous": self.url(before) if self.offset > 0 else None,
                "results": list(items),
            }
        )


async def page_params(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> PageParams:
    return PageParams(request, limit, offset)


Paging = Annotated[PageParams, Depends(page_params)]


def text_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise Invalid("This field is required.", field=name)
    return value
