"""Automatic TLS on Kubernetes: cert-manager gets the certificates (the AcmeIssuer port in
its delegated form). The Kubernetes router writes a `Certificate` per automatic host
against the operator's issuer (DEIS_KUBERNETES_CERT_ISSUER) and serves the Secret
cert-manager fills; this reads those Certificates back for `deis tls:info`: ready or not,
cert-manager's own message, expiry and the next renewal.

cert-manager answers the CA's challenges (its issuer's solver), so the platform never
orders, and `issue` refuses."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from deis.domain.acme import AcmeError, ClusterCertificate, Issued
from deis.domain.errors import Unavailable
from deis.router.kubernetes import CERT_MANAGER_API, Cluster, Manifest, labels

log = logging.getLogger(__name__)

INSTALL = "https://cert-manager.io/docs/installation/"


def _time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _condition(manifest: Manifest, kind: str) -> dict[str, Any]:
    for condition in (manifest.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return dict(condition)
    return {}


def certificate_state(manifest: Manifest) -> ClusterCertificate:
    """What one cert-manager Certificate says, in the platform's terms."""
    spec = manifest.get("spec") or {}
    status = manifest.get("status") or {}
    ready = _condition(manifest, "Ready")
    issuing = _condition(manifest, "Issuing")
    is_ready = ready.get("status") == "True"
    message = ""
    if not is_ready:
        message = ready.get("message") or issuing.get("message") or "waiting for cert-manager"
    issuer = spec.get("issuerRef") or {}
    names = spec.get("dnsNames") or [""]
    return ClusterCertificate(
        host=str(names[0]),
        secret=str(spec.get("secretName", "")),
        ready=is_ready,
        message=str(message),
        issuer=f"{issuer.get('kind', 'Issuer')}/{issuer.get('name', '')}",
        expires=_time(status.get("notAfter")),
        renews=_time(status.get("renewalTime")),
    )


class CertManager:
    name = "cert-manager"
    delegated = True

    def __init__(
        self,
        cluster: Cluster,
        issuer: tuple[str, str],
        *,
        api_errors: tuple[type[Exception], ...] = (),
    ) -> None:
        self.cluster = cluster
        self.issuer = issuer
        self.api_errors = api_errors
        self.directory = f"cert-manager {issuer[0]}/{issuer[1]}"

    def _call(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except self.api_errors as error:
            raise Unavailable(f"The Kubernetes API failed: {error}") from None

    def check(self) -> None:
        if not self._call(lambda: self.cluster.has_api(CERT_MANAGER_API)):
            raise Unavailable(
                f"Automatic TLS on Kubernetes uses cert-manager, and this cluster does not"
                f" serve {CERT_MANAGER_API}: the operator installs it ({INSTALL})."
            )

    def issue(self, hosts: list[str], responder: Any) -> Issued:
        raise AcmeError("cert-manager in the cluster gets this platform's certificates")

    def cluster_certificates(self, app_id: str) -> list[ClusterCertificate]:
        found = self._call(
            lambda: self.cluster.list(CERT_MANAGER_API, "Certificate", app_id, labels(app_id))
        )
        return [certificate_state(item) for item in found]
