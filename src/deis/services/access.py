"""Who may touch an app: owner and admins everything, collaborators all but manage."""

from __future__ import annotations

from deis.domain.errors import NotFound, PermissionDenied
from deis.domain.records import App, User
from deis.ports import UnitOfWork


def app_not_found(app_id: str) -> NotFound:
    return NotFound(f"App {app_id} not found.")


def can_manage(actor: User, app: App) -> bool:
    return actor.is_superuser or app.owner == actor.username


def app_for(
    uow: UnitOfWork, actor: User, app_id: str, *, manage: bool = False, lock: bool = False
) -> App:
    """The app if the actor may see it; 404 when not (never reveal that it exists).

    manage=True is for destroying, transferring and sharing: collaborators get 403.
    lock=True holds the app's row until the transaction ends (serializes releases).
    """
    app = uow.apps.lock(app_id) if lock else uow.apps.get(app_id)
    if app is None:
        raise app_not_found(app_id)
    if can_manage(actor, app):
        return app
    if uow.perms.has(app.id, actor.username):
        if manage:
            raise PermissionDenied("Only the app's owner or an administrator can do that.")
        return app
    raise app_not_found(app_id)


def require_admin(actor: User) -> None:
    if not actor.is_superuser:
        raise PermissionDenied("You must be an administrator to do that.")
