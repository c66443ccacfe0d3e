"""/v2/auth/*: register, login, whoami, passwd, cancel, tokens; /v2/users; /v2/admin/perms."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Depends, Request, Response

from deis.api import serialize
from deis.api.deps import Ctx, Me, Paging, optional_user, required_token
from deis.api.placement import any_process
from deis.api.responses import JSONResponse
from deis.api.routes.docs import responses
from deis.api.routing import SlashRouter
from deis.api.schemas import (
    AdminOut,
    LoginIn,
    OptionalUsernameIn,
    PasswdIn,
    RegisterIn,
    TokenOut,
    TokensIn,
    UsernameIn,
    UserOut,
    page_of,
)
from deis.domain.records import User
from deis.services import users
from deis.threads import blocking

router = SlashRouter(prefix="/v2")


# Password hashing (argon2) takes tens of milliseconds: the routes that hash run on the
# blocking threads, not on the few threads of the quick requests.


@router.post("/auth/register", status_code=201, responses=responses(UserOut, 201))
@blocking
def register(
    body: RegisterIn, ctx: Ctx, caller: Annotated[User | None, Depends(optional_user)]
) -> JSONResponse:
    user = users.register(ctx, caller, body.model_dump())
    return JSONResponse(serialize.user(user), status_code=201)


@router.post("/auth/login", responses=responses(TokenOut))
@blocking
def login(body: LoginIn, ctx: Ctx, request: Request) -> JSONResponse:
    address = request.client.host if request.client else "unknown"
    return JSONResponse({"token": users.login(ctx, body.username, body.password, address)})


@router.post("/auth/logout", status_code=204, responses=responses(status=204))
def logout(ctx: Ctx, me: Me, request: Request) -> Response:
    """Extension: revoke the token the request carries (`deis auth:logout`); the user's
    other tokens stay valid."""
    users.logout(ctx, required_token(request.headers.get("authorization")))
    return Response(status_code=204)


@router.get("/auth/whoami", responses=responses(UserOut))
@any_process
def whoami(me: Me) -> JSONResponse:
    return JSONResponse(serialize.user(me))


@router.post("/auth/passwd", responses=responses())
@blocking
def passwd(body: PasswdIn, ctx: Ctx, me: Me) -> JSONResponse:
    users.change_password(ctx, me, body.password, body.new_password, body.username)
    return JSONResponse({"detail": "Password changed."})


@router.delete("/auth/cancel", status_code=204, responses=responses(status=204))
def cancel(ctx: Ctx, me: Me, body: Annotated[OptionalUsernameIn | None, Body()] = None) -> Response:
    users.cancel(ctx, me, body.username if body else None)
    return Response(status_code=204)


@router.post("/auth/tokens", responses=responses(TokenOut))
def tokens(ctx: Ctx, me: Me, body: Annotated[TokensIn | None, Body()] = None) -> JSONResponse:
    body = body or TokensIn()
    token = users.regenerate_token(ctx, me, body.username, body.all)
    return JSONResponse({"token": token} if token else {})


@router.get("/users", responses=responses(page_of(UserOut)))
@any_process
def list_users(ctx: Ctx, me: Me, page: Paging) -> JSONResponse:
    found, total = users.list_users(ctx, me, page.offset, page.limit)
    return page.response([serialize.user(u) for u in found], total)


def _admin(user: User) -> dict[str, object]:
    return {"username": user.username, "is_superuser": user.is_superuser}


@router.get("/admin/perms", responses=responses(page_of(AdminOut)))
@any_process
def list_admins(ctx: Ctx, me: Me, page: Paging) -> JSONResponse:
    found, total = users.list_admins(ctx, me, page.offset, page.limit)
    return page.response([_admin(u) for u in found], total)


@router.post("/admin/perms", status_code=201, responses=responses(AdminOut, 201))
def grant_admin(body: UsernameIn, ctx: Ctx, me: Me) -> JSONResponse:
    return JSONResponse(_admin(users.set_admin(ctx, me, body.username, True)), status_code=201)


@router.delete("/admin/perms/{username}", status_code=204, responses=responses(status=204))
def revoke_admin(username: str, ctx: Ctx, me: Me) -> Response:
    users.set_admin(ctx, me, username, False)
    return Response(status_code=204)
