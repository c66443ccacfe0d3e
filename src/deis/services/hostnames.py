"""Which app holds a host, read from the store: the facts the rules of domain.hosts need."""

from __future__ import annotations

from deis.domain.hosts import Holder, HolderOf, default_label, normalize_host
from deis.ports import UnitOfWork


def holder_lookup(uow: UnitOfWork, platform_domain: str) -> HolderOf:
    """A function answering which app holds exactly a host (a full, normalised name):
    the app whose domain it is, or, for `APP.DOMAIN`, the app APP (its default host)."""

    def owner_of(app_id: str, fallback: str) -> str:
        app = uow.apps.get(app_id)
        return app.owner if app is not None else fallback

    def holder_of(host: str) -> Holder | None:
        host = normalize_host(host)
        label = default_label(host, platform_domain)
        for key in (host, label):
            if key is None:
                continue
            record = uow.domains.get(key)
            if record is not None:
                return Holder(record.app, owner_of(record.app, record.owner))
        if label is not None:
            app = uow.apps.get(label)
            if app is not None:
                return Holder(app.id, app.owner)
        return None

    return holder_of


def holders_under(uow: UnitOfWork, host: str) -> list[Holder]:
    """The apps holding names below `host`."""
    out = []
    for record in uow.domains.under(normalize_host(host)):
        app = uow.apps.get(record.app)
        out.append(Holder(record.app, app.owner if app is not None else record.owner))
    return out
