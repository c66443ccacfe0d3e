"""Changes made from the dashboard: config (after a confirmation naming the release it
makes), scale, restart, roll back (confirmed), domains. Every POST carries the CSRF
token. A refused change comes back to the page it was made on, with the reason."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from deis.dashboard.web import (
    Changer,
    DashboardRoute,
    Form,
    Viewer,
    context_of,
    redirect,
    render,
)
from deis.domain.errors import Conflict, DeployFailed, Invalid, RateLimited, Unavailable
from deis.services import config as configs
from deis.services import domains, formation, overview, releases
from deis.threads import blocking

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

# Refusals shown on the page the change came from; NotFound and PermissionDenied are
# answered with their own page and status, as the API would.
SHOWN_ON_PAGE = (Invalid, Conflict, DeployFailed, Unavailable, RateLimited)


def attempt(request: Request, back: str, change: Callable[[], str]) -> Response:
    """Make the change and go back with what it did, or with why it was refused."""
    try:
        done = change()
    except SHOWN_ON_PAGE as error:
        return redirect(request, back, error.message, kind="error")
    return redirect(request, back, done)


def next_version(request: Request, me: Viewer, app_id: str) -> int:
    latest = overview.app_summary(context_of(request), me.user, app_id).latest
    return latest.version + 1 if latest else 1


@router.post("/apps/{app_id}/config/confirm")
def confirm_config(request: Request, app_id: str, me: Changer, form: Form) -> HTMLResponse:
    """Say what will happen before it does: the change and the release it makes."""
    key = form.get("key", "").strip()
    unset = form.get("action") == "unset"
    if not key:
        raise Invalid("Give the name of the config value.", field="key")
    summary = overview.app_summary(context_of(request), me.user, app_id)
    return render(
        request, "config_confirm.html", tab="config", app=summary.app, key=key,
        value=form.get("value", ""), unset=unset, version=next_version(request, me, app_id),
    )  # fmt: skip


@router.post("/apps/{app_id}/config")
@blocking
def set_config(request: Request, app_id: str, me: Changer, form: Form) -> Response:
    key = form.get("key", "").strip()
    value: str | None = None if form.get("action") == "unset" else form.get("value", "")

    def change() -> str:
        before = next_version(request, me, app_id)
        configs.set_config(context_of(request), me.user, app_id, {"values": {key: value}})
        after = next_version(request, me, app_id)
        if after == before:
            return f"{key} was already so; no release was made."
        verb = "Unset" if value is None else "Set"
        return f"{verb} {key}: made release v{after - 1}."

    return attempt(request, f"/apps/{quote(app_id)}/config", change)


@router.post("/apps/{app_id}/scale")
@blocking
def scale(request: Request, app_id: str, me: Changer, form: Form) -> Response:
    counts: dict[str, object] = {}
    for name, value in form.items():
        if name.startswith("count."):
            kind = name.removeprefix("count.")
            counts[kind] = int(value) if value.strip().isdigit() else value

    def change() -> str:
        if not counts:
            raise Invalid("Give a number of replicas for a process type.")
        structure = formation.scale(context_of(request), me.user, app_id, counts)
        return "Scaled to " + " ".join(f"{t}={structure.get(t, 0)}" for t in sorted(counts))

    return attempt(request, f"/apps/{quote(app_id)}", change)


@router.post("/apps/{app_id}/restart")
@blocking
def restart(request: Request, app_id: str, me: Changer, form: Form) -> Response:
    kind = form.get("type") or None
    name = form.get("name") or None

    def change() -> str:
        restarted = formation.restart(context_of(request), me.user, app_id, kind, name)
        return f"Restarted {len(restarted)} replica{'s' if len(restarted) != 1 else ''}."

    return attempt(request, f"/apps/{quote(app_id)}", change)


@router.get("/apps/{app_id}/releases/rollback")
def confirm_rollback(request: Request, app_id: str, me: Viewer) -> HTMLResponse:
    raw = request.query_params.get("version", "")
    if not raw.isdigit():
        raise Invalid("Give the version to roll back to.", field="version")
    ctx = context_of(request)
    target = releases.get_release(ctx, me.user, app_id, int(raw))
    summary = overview.app_summary(ctx, me.user, app_id)
    return render(
        request, "rollback_confirm.html", tab="releases", app=summary.app, target=target,
        latest=summary.latest, version=next_version(request, me, app_id),
    )  # fmt: skip


@router.post("/apps/{app_id}/releases/rollback")
@blocking
def rollback(request: Request, app_id: str, me: Changer, form: Form) -> Response:
    raw = form.get("version", "")

    def change() -> str:
        if not raw.isdigit():
            raise Invalid("Give the version to roll back to.", field="version")
        made = releases.rollback(context_of(request), me.user, app_id, int(raw))
        return f"Rolled back to v{raw}: made release v{made.version}."

    return attempt(request, f"/apps/{quote(app_id)}/releases", change)


@router.post("/apps/{app_id}/domains")
@blocking
def add_domain(request: Request, app_id: str, me: Changer, form: Form) -> Response:
    def change() -> str:
        added = domains.add(context_of(request), me.user, app_id, form.get("domain", ""))
        return f"Added {added.domain}."

    return attempt(request, f"/apps/{quote(app_id)}/domains", change)


@router.post("/apps/{app_id}/domains/remove")
@blocking
def remove_domain(request: Request, app_id: str, me: Changer, form: Form) -> Response:
    name = form.get("domain", "")

    def change() -> str:
        domains.remove(context_of(request), me.user, app_id, name)
        return f"Removed {name}."

    return attempt(request, f"/apps/{quote(app_id)}/domains", change)


# A reload of the page a change answered (htmx shows a POST's URL, e.g. the config
# confirmation) asks for it with GET: go back to the page the change belongs to.
def _back_to(tab: str) -> Callable[[Request, str], Response]:
    def back(request: Request, app_id: str) -> Response:
        return redirect(request, f"/apps/{quote(app_id)}{tab}")

    return back


for _path, _tab in (
    ("/config/confirm", "/config"),
    ("/scale", ""),
    ("/restart", ""),
    ("/domains/remove", "/domains"),
):
    router.add_api_route(f"/apps/{{app_id}}{_path}", _back_to(_tab), methods=["GET"])
