"""Tell the router what an app's routing records say, after the transaction that changed
them. The router keeps what it was given; this is the only place that gives it."""

from __future__ import annotations

from deis.domain import sleep as sleep_rules
from deis.domain.routing import AppRoute, app_route
from deis.ports import UnitOfWork
from deis.services.context import Context
from deis.services.paging import every


def _config_values(uow: UnitOfWork, app_id: str) -> dict[str, str]:
    """The current release's config values (the router's keys among them)."""
    release = uow.releases.current(app_id)
    config = uow.configs.get(release.config) if release is not None else None
    return config.values if config is not None else {}


def route_of(uow: UnitOfWork, ctx: Context, app_id: str) -> AppRoute | None:
    app = uow.apps.get(app_id)
    if app is None:
        return None
    domains, _ = uow.domains.list(app_id, 0, 10_000)
    certificates = []
    for domain in domains:
        cert = uow.certs.for_domain(domain.domain)
        if cert is not None and cert not in certificates:
            certificates.append(cert)
    settings = uow.settings.latest(app_id)
    tls = uow.tls.latest(app_id)
    issuer = ctx.acme if uow.acme.enabled(app_id) else None  # automatic TLS, if on
    assert settings is not None and tls is not None, "every app gets them when created"
    return app_route(
        app_id,
        domains,
        certificates,
        settings,
        tls,
        ctx.platform_domain,
        _config_values(uow, app_id),
        auto_tls=issuer is not None and issuer.delegated,
        acme_challenges=issuer is not None and not issuer.delegated,
        wakes=sleep_rules.wakes(uow.sleep.get(app_id), app.structure, ctx.sleep_after),
    )


def publish(ctx: Context, app_id: str) -> None:
    with ctx.store.transaction() as uow:
        route = route_of(uow, ctx, app_id)
    if route is None:
        ctx.router.remove(app_id)
    else:
        ctx.router.apply(route)


def publish_all(ctx: Context) -> int:
    """Every app's route, e.g. when the platform starts. Answers how many."""
    with ctx.store.transaction() as uow:
        apps = every(uow.apps.list)
        routes = [r for app in apps if (r := route_of(uow, ctx, app.id)) is not None]
    for route in routes:
        ctx.router.apply(route)
    return len(routes)
