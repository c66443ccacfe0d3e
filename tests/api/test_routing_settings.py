"""Domains, certificates, app settings, the allow-list and TLS enforcement."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec

from tests.api.conftest import User
from tests.domain.factories import make_cert


def test_domains_add_list_remove(alice: User) -> None:
    alice.create_app("web")
    added = alice.post("/v2/apps/web/domains/", {"domain": "www.Example.com."})
    assert added.status_code == 201
    assert added.json()["domain"] == "www.example.com"
    assert set(added.json()) == {"uuid", "app", "owner", "domain", "created", "updated"}
    wildcard = alice.post("/v2/apps/web/domains/", {"domain": "*.example.org"})
    assert wildcard.status_code == 201
    listed = [d["domain"] for d in alice.get("/v2/apps/web/domains/").json()["results"]]
    assert listed == ["web", "www.example.com", "*.example.org"]
    assert alice.delete("/v2/apps/web/domains/www.example.com").status_code == 204
    assert alice.delete("/v2/apps/web/domains/www.example.com").status_code == 404


def test_a_domain_belongs_to_one_app(alice: User, bob: User) -> None:
    alice.create_app("first")
    bob.create_app("second")
    assert alice.post("/v2/apps/first/domains/", {"domain": "shop.example.com"}).status_code == 201
    taken = bob.post("/v2/apps/second/domains/", {"domain": "shop.example.com"})
    assert taken.status_code == 400 and "domain" in taken.json()
    for bad in ("http://x.com", "x.com:80", "under_score.com", "*", "10.0.0.1"):
        response = alice.post("/v2/apps/first/domains/", {"domain": bad})
        assert response.status_code == 400, bad
        assert "domain" in response.json()


def test_an_app_name_that_is_another_apps_domain_is_refused(alice: User) -> None:
    alice.create_app("one")
    assert alice.delete("/v2/apps/one/domains/one").status_code == 204
    alice.create_app("two")
    assert alice.post("/v2/apps/two/domains/", {"domain": "two"}).status_code == 400


def _cert(common_name: str, san: list[str]) -> tuple[str, str]:
    pair = make_cert(ec.generate_private_key(ec.SECP256R1()), common_name=common_name, san=san)
    return pair.certificate, pair.key


def test_certificates_add_show_attach_detach_remove(alice: User) -> None:
    alice.create_app("tls")
    alice.post("/v2/apps/tls/domains/", {"domain": "www.example.com"})
    certificate, key = _cert("www.example.com", ["www.example.com", "example.com"])
    added = alice.post("/v2/certs/", {"name": "www-cert", "certificate": certificate, "key": key})
    assert added.status_code == 201, added.text
    body = added.json()
    assert body["common_name"] == "www.example.com"
    assert body["san"] == ["www.example.com", "example.com"]
    assert "key" not in body and "certificate" not in body
    assert alice.get("/v2/certs/www-cert/").json()["fingerprint"] == body["fingerprint"]
    attach = alice.post("/v2/certs/www-cert/domain/", {"domain": "www.example.com"})
    assert attach.status_code == 201
    assert alice.get("/v2/certs/www-cert").json()["domains"] == ["www.example.com"]
    assert alice.delete("/v2/certs/www-cert/domain/www.example.com").status_code == 204
    assert alice.get("/v2/certs/www-cert").json()["domains"] == []
    assert alice.delete("/v2/certs/www-cert").status_code == 204
    assert alice.get("/v2/certs/www-cert").status_code == 404


def test_certificates_are_refused_when_broken(alice: User) -> None:
    certificate, _ = _cert("a.example.com", ["a.example.com"])
    _, other_key = _cert("b.example.com", ["b.example.com"])
    mismatched = alice.post(
        "/v2/certs/", {"name": "bad", "certificate": certificate, "key": other_key}
    )
    assert mismatched.status_code == 400 and "key" in mismatched.json()
    garbage = alice.post("/v2/certs/", {"name": "bad", "certificate": "nope", "key": other_key})
    assert garbage.status_code == 400 and "certificate" in garbage.json()
    certificate, key = _cert("a.example.com", ["a.example.com"])
    bad_name = alice.post(
        "/v2/certs/", {"name": "Bad Name", "certificate": certificate, "key": key}
    )
    assert bad_name.status_code == 400 and "name" in bad_name.json()
    assert (
        alice.post("/v2/certs/", {"name": "ok", "certificate": certificate, "key": key}).status_code
        == 201
    )
    dup = alice.post("/v2/certs/", {"name": "ok", "certificate": certificate, "key": key})
    assert dup.status_code == 400 and "name" in dup.json()


def test_a_certificate_attaches_only_to_domains_it_covers(alice: User) -> None:
    alice.create_app("cover")
    alice.post("/v2/apps/cover/domains/", {"domain": "other.example.net"})
    certificate, key = _cert("www.example.com", ["www.example.com"])
    alice.post("/v2/certs/", {"name": "narrow", "certificate": certificate, "key": key})
    refused = alice.post("/v2/certs/narrow/domain/", {"domain": "other.example.net"})
    assert refused.status_code == 400 and "domain" in refused.json()
    unknown = alice.post("/v2/certs/narrow/domain/", {"domain": "nowhere.example.com"})
    assert unknown.status_code == 404


def test_others_cannot_see_a_users_certificates(alice: User, bob: User) -> None:
    certificate, key = _cert("mine.example.com", ["mine.example.com"])
    alice.post("/v2/certs/", {"name": "mine", "certificate": certificate, "key": key})
    assert bob.get("/v2/certs/mine").status_code == 404
    assert bob.get("/v2/certs/").json()["count"] == 0
    assert alice.get("/v2/certs/").json()["count"] == 1


def test_settings_maintenance_routable_autoscale_label(alice: User) -> None:
    alice.create_app("conf")
    settings = alice.get("/v2/apps/conf/settings/").json()
    assert settings["maintenance"] is False and settings["routable"] is True
    assert settings["whitelist"] == [] and settings["autoscale"] == {} and settings["label"] == {}
    on = alice.post("/v2/apps/conf/settings/", {"maintenance": True})
    assert on.status_code == 201 and on.json()["maintenance"] is True
    assert alice.post("/v2/apps/conf/settings/", {"routable": False}).json()["routable"] is False
    autoscale = {"autoscale": {"web": {"min": 1, "max": 5, "cpu_percent": 70}}}
    assert alice.post("/v2/apps/conf/settings/", autoscale).status_code == 201
    labelled = alice.post("/v2/apps/conf/settings/", {"label": {"team": "payments"}})
    assert labelled.json()["label"] == {"team": "payments"}
    final = alice.get("/v2/apps/conf/settings/").json()
    assert final["maintenance"] is True and final["routable"] is False
    assert final["autoscale"] == {"web": {"min": 1, "max": 5, "cpu_percent": 70}}
    bad = alice.post("/v2/apps/conf/settings/", {"autoscale": {"web": {"min": 5, "max": 1}}})
    assert bad.status_code == 400
    assert alice.post("/v2/apps/conf/settings/", {}).status_code == 400


def test_whitelist_add_list_remove(alice: User) -> None:
    alice.create_app("allow")
    added = alice.post("/v2/apps/allow/whitelist/", {"addresses": ["10.0.0.0/8", "1.2.3.4"]})
    assert added.status_code == 201
    assert added.json() == {"addresses": ["10.0.0.0/8", "1.2.3.4"]}
    assert alice.get("/v2/apps/allow/whitelist/").json() == {"addresses": ["10.0.0.0/8", "1.2.3.4"]}
    assert alice.delete("/v2/apps/allow/whitelist/", {"addresses": ["1.2.3.4"]}).status_code == 204
    assert alice.get("/v2/apps/allow/whitelist/").json() == {"addresses": ["10.0.0.0/8"]}
    bad = alice.post("/v2/apps/allow/whitelist/", {"addresses": ["not-an-ip"]})
    assert bad.status_code == 400 and "addresses" in bad.json()
    absent = alice.delete("/v2/apps/allow/whitelist/", {"addresses": ["9.9.9.9"]})
    assert absent.status_code == 400


def test_tls_enforcement(alice: User) -> None:
    alice.create_app("secure")
    assert alice.get("/v2/apps/secure/tls/").json()["https_enforced"] is False
    enabled = alice.post("/v2/apps/secure/tls/", {"https_enforced": True})
    assert enabled.status_code == 201 and enabled.json()["https_enforced"] is True
    assert alice.get("/v2/apps/secure/tls/").json()["https_enforced"] is True
    assert alice.post("/v2/apps/secure/tls/", {"https_enforced": "maybe"}).status_code == 400
