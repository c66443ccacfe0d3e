"""Issue 17, items 1 and 4: a stranger cannot take another app's host, the controller's
host, or a wildcard over the platform's domain, checked through the real router."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from fastapi.testclient import TestClient

from deis.domain.routing import AppRoute, TLSCertificate
from deis.platform.wiring import build_app
from deis.settings import from_env
from tests.api.conftest import LIGHT, Api, User
from tests.router.helpers import make_cert
from tests.security.conftest import RoutedPlatform


def test_a_stranger_cannot_take_another_apps_default_host(
    routed: RoutedPlatform, users: Callable[[str], User]
) -> None:
    owner, stranger = users("owner"), users("stranger")
    owner.create_app("foo")
    stranger.create_app("evil")
    routed.serve("foo")
    routed.serve("evil")
    assert routed.who_answers("foo.localhost") == "foo"

    for host in ("foo.localhost", "FOO.localhost.", "x.foo.localhost", "*.foo.localhost"):
        taken = stranger.post("/v2/apps/evil/domains/", {"domain": host})
        assert taken.status_code == 400, (host, taken.text)
        assert list(taken.json()) == ["domain"], taken.text
    assert routed.who_answers("foo.localhost") == "foo"
    assert routed.who_answers("x.foo.localhost") == "404"

    # the owner may use names under the app's own host
    assert owner.post("/v2/apps/foo/domains/", {"domain": "www.foo.localhost"}).status_code == 201
    assert routed.who_answers("www.foo.localhost") == "foo"


def test_the_controllers_host_and_wildcards_over_the_platform_are_reserved(
    routed: RoutedPlatform, users: Callable[[str], User]
) -> None:
    stranger = users("stranger")
    stranger.create_app("evil")
    for host in ("deis.localhost", "Deis.Localhost.", "api.deis.localhost", "*.localhost"):
        refused = stranger.post("/v2/apps/evil/domains/", {"domain": host})
        assert refused.status_code == 400, (host, refused.text)
        assert "domain" in refused.json(), refused.text


def test_an_app_cannot_be_named_after_another_apps_custom_domain(
    routed: RoutedPlatform, users: Callable[[str], User]
) -> None:
    first, second = users("first"), users("second")
    first.create_app("one")
    assert first.post("/v2/apps/one/domains/", {"domain": "shop.localhost"}).status_code == 201
    refused = second.post("/v2/apps/", {"id": "shop"})
    assert refused.status_code == 400 and "id" in refused.json(), refused.text
    assert first.post("/v2/apps/one/domains/", {"domain": "x.blog.localhost"}).status_code == 201
    refused = second.post("/v2/apps/", {"id": "blog"})
    assert refused.status_code == 400 and "id" in refused.json(), refused.text
    routed.serve("one")
    assert routed.who_answers("shop.localhost") == "one"


def test_the_router_never_gives_a_held_host_to_a_later_app(
    routed: RoutedPlatform, users: Callable[[str], User]
) -> None:
    """Whatever it is told later, nginx keeps a host with the app that holds it, and with
    it that app's certificate; the host moves only once its holder lets it go."""
    owner = users("owner")
    owner.create_app("foo")
    routed.serve("foo")
    routed.serve("evil")
    pem, key = make_cert("foo.localhost")
    routed.router.apply(
        AppRoute(
            app="evil",
            hosts=("evil.localhost", "foo.localhost"),
            certificates=(TLSCertificate("evil", ("foo.localhost",), pem, key),),
        )
    )
    assert routed.who_answers("foo.localhost") == "foo"
    assert routed.who_answers("evil.localhost") == "evil"
    assert "host foo.localhost (taken)" in routed.router.describe("evil")

    assert owner.delete("/v2/apps/foo/domains/foo").status_code == 204
    assert routed.who_answers("foo.localhost") == "evil"  # released: the claim is served now


def _served_subject(routed: RoutedPlatform, name: str) -> str:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    port = routed.router.config.https_port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as tls:
            der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).subject.rfc4514_string()


def test_an_apps_wildcard_certificate_never_serves_the_controller(
    routed: RoutedPlatform, users: Callable[[str], User]
) -> None:
    """Even a `*.DOMAIN` route with its certificate (one the API refuses today, say from an
    older platform's records): deis.DOMAIN gets the default certificate, never the app's."""
    routed.serve("evil")
    pem, key = make_cert("*.localhost")
    routed.router.apply(
        AppRoute(
            app="evil",
            hosts=("*.localhost",),
            certificates=(TLSCertificate("evil", ("*.localhost",), pem, key),),
        )
    )
    assert _served_subject(routed, "nobody.localhost") == "CN=*.localhost"
    assert _served_subject(routed, "deis.localhost") == "CN=localhost"  # the default one


def test_wildcards_covering_the_controller_under_a_deeper_platform_domain(
    database_url: str, tmp_path: Path
) -> None:
    """With DEIS_DOMAIN=apps.example.com, `*.example.com` covers deis.apps.example.com
    (the router's wildcards match names at any depth): reserved like `*.apps.example.com`."""
    settings = from_env(
        {},
        state_dir=tmp_path / "state",
        database_url=database_url,
        domain="apps.example.com",
        **LIGHT,
        logs="none",
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )
    app = build_app(settings)
    with TestClient(app) as client:
        api = Api(client, settings.state_dir)
        api.register("admin")
        stranger = api.register("stranger")
        stranger.create_app("evil")
        for host in ("*.apps.example.com", "*.example.com", "deis.apps.example.com"):
            refused = stranger.post("/v2/apps/evil/domains/", {"domain": host})
            assert refused.status_code == 400, (host, refused.text)
            assert "controller" in refused.json()["domain"][0], refused.text
        allowed = stranger.post("/v2/apps/evil/domains/", {"domain": "*.evil.example.org"})
        assert allowed.status_code == 201, allowed.text
    app.state.context.store.close()


def test_an_app_may_take_back_its_own_default_host_once(alice: User) -> None:
    alice.create_app("mine")
    same = alice.post("/v2/apps/mine/domains/", {"domain": "mine.localhost"})
    assert same.status_code == 400 and "already a domain of mine" in same.text
    assert alice.delete("/v2/apps/mine/domains/mine").status_code == 204
    assert alice.post("/v2/apps/mine/domains/", {"domain": "mine"}).status_code == 201
