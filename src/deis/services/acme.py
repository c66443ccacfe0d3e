"""Automatic TLS (deis tls:auto): a certificate from the platform's ACME CA for every
domain of an app that asked, attached like an uploaded one, and renewed by a periodic
pass (`renew_due`, run by the platform; its state is in the database, so it survives
restarts). A failure keeps the certificate in place, backs off, and is written to the
app's log and to `deis tls:info`."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from deis.domain.acme import (
    AcmeDomain,
    AcmeError,
    ClusterCertificate,
    cert_name_for,
    due,
    next_attempt,
)
from deis.domain.certs import parse_certificate
from deis.domain.domains import resolve_host
from deis.domain.errors import NotFound, Unavailable
from deis.domain.records import Certificate, User
from deis.ports import AcmeIssuer, UnitOfWork
from deis.services import routes
from deis.services.access import app_for
from deis.services.context import Context

log = logging.getLogger(__name__)

SOURCE = "acme"  # the platform events' source in `deis logs`


def _issuer(ctx: Context) -> AcmeIssuer:
    if ctx.acme is None:
        raise Unavailable(
            "Automatic TLS is off on this platform: the operator starts it with"
            " `deisctl up --acme-email EMAIL` (on Kubernetes: DEIS_KUBERNETES_CERT_ISSUER,"
            " cert-manager's issuer)."
        )
    return ctx.acme


def enable(ctx: Context, actor: User, app_id: str) -> None:
    issuer = _issuer(ctx)
    with ctx.store.transaction() as uow:
        app_for(uow, actor, app_id, manage=True)  # who may, before asking the cluster
    issuer.check()
    with ctx.store.transaction(write=True) as uow:
        app = app_for(uow, actor, app_id, manage=True)
        uow.acme.enable(app.id, ctx.clock())
    routes.publish(ctx, app_id)  # asks cert-manager for them, or routes the challenges
    ctx.logs.write(app_id, "controller", f"{actor.username} enabled automatic TLS")


def disable(ctx: Context, actor: User, app_id: str) -> None:
    with ctx.store.transaction(write=True) as uow:
        app = app_for(uow, actor, app_id, manage=True)
        uow.acme.disable(app.id)
    routes.publish(ctx, app_id)
    ctx.logs.write(
        app_id, "controller",
        f"{actor.username} disabled automatic TLS (the certificates stay until removed)",
    )  # fmt: skip


def _domains(uow: UnitOfWork, app_id: str) -> list[str]:
    found, _ = uow.domains.list(app_id, 0, 10_000)
    return [d.domain for d in found]


def info(ctx: Context, actor: User, app_id: str) -> dict[str, Any]:
    """Whether the app has automatic TLS, and per domain: its certificate, issuer,
    expiry, whether it is automatic, the last ACME error and the next attempt."""
    if ctx.acme is not None and ctx.acme.delegated:
        return _cluster_info(ctx, actor, app_id)
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id)
        enabled = uow.acme.enabled(app.id)
        states = {s.domain: s for s in uow.acme.domains(app.id)}
        rows = []
        for domain in _domains(uow, app.id):
            cert = uow.certs.for_domain(domain)
            state = states.get(domain)
            rows.append(
                {
                    "domain": domain,
                    "host": resolve_host(domain, ctx.platform_domain),
                    "certificate": cert.name if cert else None,
                    "automatic": bool(cert and state and cert.name == state.cert_name),
                    "issuer": cert.issuer if cert else None,
                    "expires": cert.expires if cert else None,
                    "last_error": state.last_error if state else "",
                    "last_attempt": state.last_attempt if state else None,
                    "next_attempt": state.next_attempt if state else None,
                }
            )
    return {
        "app": app.id,
        "auto": enabled,
        "directory": ctx.acme.directory if ctx.acme else None,
        "domains": rows,
    }


def _cluster_info(ctx: Context, actor: User, app_id: str) -> dict[str, Any]:
    """`info` where cert-manager gets the certificates: its Certificates' state."""
    assert ctx.acme is not None
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id)
        enabled = uow.acme.enabled(app.id)
        domains = [(d, uow.certs.for_domain(d)) for d in _domains(uow, app.id)]
    problem = ""
    found: dict[str, ClusterCertificate] = {}
    if enabled:
        try:
            found = {c.host: c for c in ctx.acme.cluster_certificates(app.id)}
        except Unavailable as exc:
            problem = exc.message
    rows = []
    for domain, cert in domains:
        host = resolve_host(domain, ctx.platform_domain)
        auto = found.get(host) if cert is None else None
        waiting = enabled and cert is None and not host.startswith("*.")
        rows.append(
            {
                "domain": domain,
                "host": host,
                "certificate": cert.name if cert else (auto.secret if auto else None),
                "automatic": auto is not None,
                "issuer": cert.issuer if cert else (auto.issuer if auto else None),
                "expires": cert.expires if cert else (auto.expires if auto else None),
                "last_error": (auto.message if auto else problem or "waiting for cert-manager")
                if waiting and not (auto and auto.ready)
                else "",
                "last_attempt": None,
                "next_attempt": auto.renews if auto else None,
            }
        )
    return {"app": app.id, "auto": enabled, "directory": ctx.acme.directory, "domains": rows}


def challenge_answer(ctx: Context, host: str, token: str) -> str:
    """The key authorization of a pending HTTP-01 challenge, asked of the controller by a
    cluster's router (the routes send the challenge path here). NotFound otherwise."""
    name = host.strip().lower().rsplit(":", 1)[0] if not host.startswith("[") else ""
    answer = ctx.router.challenge_answer(name, token) if name else None
    if answer is None:
        raise NotFound("No such challenge.")
    return answer


def automatic_names(ctx: Context) -> set[str]:
    """The names of the certificates automatic TLS keeps (deis certs marks them)."""
    with ctx.store.transaction() as uow:
        return {
            s.cert_name
            for app_id in uow.acme.enabled_apps()
            for s in uow.acme.domains(app_id)
            if s.cert_name
        }


def renew_due(ctx: Context) -> int:
    """One pass: order a certificate for every domain of the apps with automatic TLS
    that has none, or whose certificate is due for renewal, unless it waits out a
    back-off. Answers how many were issued."""
    if ctx.acme is None or ctx.acme.delegated:  # off, or the cluster gets them itself
        return 0
    todo: list[tuple[str, str, str, AcmeDomain]] = []  # (app, owner, domain, state)
    now = ctx.clock()
    with ctx.store.transaction() as uow:
        for app_id in uow.acme.enabled_apps():
            app = uow.apps.get(app_id)
            if app is None:
                continue
            states = {s.domain: s for s in uow.acme.domains(app_id)}
            for domain in _domains(uow, app_id):
                state = states.get(domain) or AcmeDomain(domain, app_id)
                cert = uow.certs.for_domain(domain)
                if cert is not None and cert.name != cert_name_for(domain):
                    continue  # the user's own certificate: left alone
                starts, expires = (cert.starts, cert.expires) if cert else (None, None)
                if due(now, starts, expires, state.next_attempt):
                    todo.append((app_id, app.owner, domain, state))
    issued = 0
    for app_id, owner, domain, state in todo:
        issued += _order(ctx, app_id, owner, domain, state)
    return issued


def _order(ctx: Context, app_id: str, owner: str, domain: str, state: AcmeDomain) -> int:
    assert ctx.acme is not None
    host = resolve_host(domain, ctx.platform_domain)
    now = ctx.clock()
    try:
        if host.startswith("*."):
            raise AcmeError("a wildcard needs the DNS-01 challenge, which is not supported yet")
        got = ctx.acme.issue([host], ctx.router)
        info = parse_certificate(got.chain, got.key)
    except Exception as exc:  # AcmeError, or anything else: nothing may stop the pass
        error = exc if isinstance(exc, AcmeError) else None
        message = error.message if error else f"{exc.__class__.__name__}: {exc}"
        failures = state.failures + 1
        again = next_attempt(now, failures, error)
        wait = again - now
        with ctx.store.transaction(write=True) as uow:
            if uow.domains.get(domain) is None or not uow.acme.enabled(app_id):
                return 0  # removed meanwhile
            uow.acme.save(
                replace(state, last_error=message, last_attempt=now,
                        next_attempt=again, failures=failures)
            )  # fmt: skip
        log.warning("acme: no certificate for %s (%s): %s", host, app_id, message)
        ctx.logs.write(
            app_id, SOURCE,
            f"no certificate for {host} from {ctx.acme.directory}: {message}"
            f" (attempt {failures}; next in {int(wait.total_seconds())}s)",
        )  # fmt: skip
        return 0
    name = cert_name_for(domain)
    cert = Certificate(
        uuid=ctx.make_uuid(), name=name, owner=owner, certificate=got.chain, key=got.key,
        common_name=info.common_name, san=info.san, fingerprint=info.fingerprint,
        expires=info.expires, starts=info.starts, issuer=info.issuer, subject=info.subject,
        domains=[], created=now, updated=now,
    )  # fmt: skip
    with ctx.store.transaction(write=True) as uow:
        if uow.domains.get(domain) is None or not uow.acme.enabled(app_id):
            return 0  # removed while the CA worked: nothing to attach it to
        other = uow.certs.for_domain(domain)
        if other is not None and other.name != name:
            return 0  # the user attached their own meanwhile
        existing = uow.certs.get(name)
        if existing is not None and state.cert_name != name:
            message = f"a certificate named {name} exists already: remove it (deis certs:remove)"
            uow.acme.save(replace(state, last_error=message, last_attempt=now))
            ctx.logs.write(app_id, SOURCE, f"no certificate for {host}: {message}")
            return 0
        if existing is not None:
            uow.certs.delete(name)  # the old one is served until this commits
        uow.certs.add(cert)
        uow.certs.attach(name, domain)
        uow.acme.save(AcmeDomain(domain, app_id, cert_name=name, last_attempt=now))
    routes.publish(ctx, app_id)
    ctx.logs.write(
        app_id, SOURCE,
        f"certificate for {host} from {info.issuer} (until {info.expires:%Y-%m-%d %H:%M} UTC)",
    )  # fmt: skip
    return 1
