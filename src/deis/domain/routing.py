"""What the router must do for one app: a pure function of the app's records."""

from __future__ import annotations

from dataclasses import dataclass, field

from deis.domain.domains import resolve_host
from deis.domain.records import TLS, AppSettings, Certificate, Domain


@dataclass(frozen=True)
class TLSCertificate:
    name: str
    hosts: tuple[str, ...]  # the app's hosts this certificate is attached to
    certificate: str = field(repr=False)  # PEM chain
    key: str = field(repr=False)  # PEM private key


@dataclass(frozen=True)
class AppRoute:
    app: str
    hosts: tuple[str, ...]  # full host names: APP.<platform domain>, custom, "*.x" wildcards
    certificates: tuple[TLSCertificate, ...] = ()
    https_enforced: bool = False
    maintenance: bool = False
    routable: bool = True
    whitelist: tuple[str, ...] = ()  # CIDR networks or addresses; empty allows everyone


def app_route(
    app_id: str,
    domains: list[Domain],
    certificates: list[Certificate],
    settings: AppSettings,
    tls: TLS,
    platform_domain: str,
) -> AppRoute:
    hosts = tuple(resolve_host(d.domain, platform_domain) for d in domains)
    attached = []
    for cert in certificates:
        covered = tuple(
            resolve_host(d, platform_domain)
            for d in cert.domains
            if d in {x.domain for x in domains}
        )
        if covered:
            attached.append(TLSCertificate(cert.name, covered, cert.certificate, cert.key))
    return AppRoute(
        app=app_id,
        hosts=hosts,
        certificates=tuple(attached),
        https_enforced=tls.https_enforced,
        maintenance=settings.maintenance,
        routable=settings.routable,
        whitelist=tuple(settings.whitelist),
    )
