"""TLS certificates, attached to domains of apps."""

from __future__ import annotations

from deis.domain.certs import cert_covers, parse_certificate, validate_cert_name
from deis.domain.domains import resolve_host
from deis.domain.errors import Invalid, NotFound
from deis.domain.records import Certificate, User
from deis.ports import UnitOfWork
from deis.services import routes
from deis.services.access import app_for
from deis.services.context import Context


def add(ctx: Context, actor: User, name: object, certificate: object, key: object) -> Certificate:
    cert_name = validate_cert_name(name)
    if not isinstance(certificate, str) or not certificate.strip():
        raise Invalid("Give the certificate in PEM form.", field="certificate")
    if not isinstance(key, str) or not key.strip():
        raise Invalid("Give the private key in PEM form.", field="key")
    info = parse_certificate(certificate, key)
    now = ctx.clock()
    cert = Certificate(
        uuid=ctx.make_uuid(), name=cert_name, owner=actor.username,
        certificate=certificate.strip() + "\n", key=key.strip() + "\n",
        common_name=info.common_name, san=info.san, fingerprint=info.fingerprint,
        expires=info.expires, starts=info.starts, issuer=info.issuer, subject=info.subject,
        domains=[], created=now, updated=now,
    )  # fmt: skip
    with ctx.store.transaction(write=True) as uow:
        if uow.certs.get(cert_name) is not None:
            raise Invalid("Certificate with this name already exists.", field="name")
        uow.certs.add(cert)
    return cert


def _visible(uow: UnitOfWork, actor: User, name: str) -> Certificate:
    cert = uow.certs.get(name)
    if cert is None or not (actor.is_superuser or cert.owner == actor.username):
        raise NotFound(f"Certificate {name} not found.")
    return cert


def list_certs(ctx: Context, actor: User, offset: int, limit: int) -> tuple[list[Certificate], int]:
    owner = None if actor.is_superuser else actor.username
    with ctx.store.transaction() as uow:
        return uow.certs.list(offset, limit, owner=owner)


def get(ctx: Context, actor: User, name: str) -> Certificate:
    with ctx.store.transaction() as uow:
        return _visible(uow, actor, name)


def remove(ctx: Context, actor: User, name: str) -> None:
    with ctx.store.transaction(write=True) as uow:
        cert = _visible(uow, actor, name)
        apps = _apps_of(uow, cert.domains)
        uow.certs.delete(name)
    for app_id in apps:
        routes.publish(ctx, app_id)


def _apps_of(uow: UnitOfWork, domains: list[str]) -> set[str]:
    return {record.app for d in domains if (record := uow.domains.get(d)) is not None}


def attach(ctx: Context, actor: User, name: str, domain: object) -> None:
    if not isinstance(domain, str) or not domain:
        raise Invalid("Give the domain to attach the certificate to.", field="domain")
    domain = domain.lower().rstrip(".")
    with ctx.store.transaction(write=True) as uow:
        cert = _visible(uow, actor, name)
        record = uow.domains.get(domain)
        if record is None:
            raise NotFound(f"Domain {domain} not found.")
        app_for(uow, actor, record.app)
        host = resolve_host(domain, ctx.platform_domain)
        if not cert_covers(cert.common_name, cert.san, host):
            raise Invalid(f"Certificate {name} does not cover {host}.", field="domain")
        other = uow.certs.for_domain(domain)
        if other is not None and other.name != name:
            raise Invalid(f"{domain} already has certificate {other.name}.", field="domain")
        if domain not in cert.domains:
            uow.certs.attach(name, domain)
    routes.publish(ctx, record.app)


def detach(ctx: Context, actor: User, name: str, domain: str) -> None:
    domain = domain.lower().rstrip(".")
    with ctx.store.transaction(write=True) as uow:
        cert = _visible(uow, actor, name)
        if domain not in cert.domains:
            raise NotFound(f"Certificate {name} is not attached to {domain}.")
        uow.certs.detach(name, domain)
        apps = _apps_of(uow, [domain])
    for app_id in apps:
        routes.publish(ctx, app_id)
