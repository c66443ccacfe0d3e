"""Facts the Deis Workflow v2 Go client (controller-sdk-go) relies on, pinned as tests:
the field names of every resource it decodes, the version header it compares as a
string, the 401 it expects before login, RFC 3339 times, and the paging it follows."""

from __future__ import annotations

from datetime import datetime

from cryptography.hazmat.primitives.asymmetric import ec

from tests.api.conftest import Api, User
from tests.api.test_keys_perms_hooks import ed25519_public
from tests.domain.factories import make_cert

# Field names of the Go SDK's api structs (json tags), per resource.
GO_FIELDS = {
    "app": {"created", "id", "owner", "structure", "updated", "url", "uuid"},
    "build": {"app", "created", "dockerfile", "image", "owner", "procfile", "sha", "updated", "uuid"},
    "config": {"app", "cpu", "created", "healthcheck", "memory", "owner", "registry", "tags",
               "updated", "uuid", "values"},
    "release": {"app", "build", "config", "created", "owner", "summary", "updated", "uuid",
                "version"},
    "key": {"created", "id", "owner", "public", "updated", "uuid"},
    "domain": {"app", "created", "domain", "owner", "updated"},
    "cert": {"common_name", "created", "domains", "expires", "fingerprint", "issuer", "name",
             "owner", "san", "starts", "subject", "updated"},
    "user": {"date_joined", "email", "first_name", "id", "is_active", "is_staff",
             "is_superuser", "last_login", "last_name", "username"},
    "settings": {"app", "autoscale", "created", "label", "maintenance", "owner", "routable",
                 "updated", "uuid", "whitelist"},
    "tls": {"app", "created", "https_enforced", "owner", "updated", "uuid"},
}  # fmt: skip


def rfc3339(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")


def has_go_fields(kind: str, body: dict[str, object]) -> None:
    missing = GO_FIELDS[kind] - set(body)
    assert not missing, f"{kind} lacks {missing}"
    for name in ("created", "updated", "expires", "starts", "date_joined"):
        if isinstance(body.get(name), str):
            rfc3339(str(body[name]))


def test_api_version_header_is_exactly_2_3_even_on_errors(api: Api) -> None:
    for response in (api.client.get("/v2/"), api.client.get("/v2/apps/nope/")):
        assert response.headers["DEIS_API_VERSION"] == "2.3"


def test_register_then_login_flow_as_the_client_does_it(api: Api) -> None:
    assert api.client.get("/v2/").status_code == 401
    body = {"username": "gopher", "password": "pw", "email": "g@example.com",
            "first_name": "", "last_name": ""}  # fmt: skip
    registered = api.client.post("/v2/auth/register/", json=body)
    assert registered.status_code == 201
    has_go_fields("user", registered.json())
    login = api.client.post("/v2/auth/login/", json={"username": "gopher", "password": "pw"})
    assert set(login.json()) == {"token"}


def test_every_resource_has_the_fields_the_go_client_decodes(alice: User) -> None:
    app = alice.create_app("gofields")
    has_go_fields("app", app)
    build = alice.post("/v2/apps/gofields/builds/", {"image": "x/y:1"}).json()
    has_go_fields("build", build)
    has_go_fields("config", alice.get("/v2/apps/gofields/config/").json())
    has_go_fields("release", alice.get("/v2/apps/gofields/releases/v1/").json())
    has_go_fields("key", alice.post("/v2/keys/", {"id": "k", "public": ed25519_public()}).json())
    has_go_fields("domain", alice.get("/v2/apps/gofields/domains/").json()["results"][0])
    pair = make_cert(ec.generate_private_key(ec.SECP256R1()), "go.example.com", ["go.example.com"])
    cert = alice.post(
        "/v2/certs/", {"name": "go", "certificate": pair.certificate, "key": pair.key}
    )
    has_go_fields("cert", cert.json())
    has_go_fields("user", alice.get("/v2/auth/whoami/").json())
    has_go_fields("settings", alice.get("/v2/apps/gofields/settings/").json())
    has_go_fields("tls", alice.get("/v2/apps/gofields/tls/").json())


def test_the_client_pages_with_limit_100_and_reads_count(alice: User) -> None:
    alice.create_app("paged")
    page = alice.get("/v2/apps/?limit=100").json()
    assert set(page) == {"count", "next", "previous", "results"}
    assert page["count"] == 1


def test_the_app_url_comes_from_its_first_domain(alice: User) -> None:
    app = alice.create_app("urlapp")
    first = alice.get("/v2/apps/urlapp/domains/").json()["results"][0]["domain"]
    assert str(app["url"]).startswith(f"{first}.")


def test_rollback_answers_only_the_new_version(alice: User) -> None:
    alice.create_app("rbgo")
    alice.post("/v2/apps/rbgo/config/", {"values": {"A": "1"}})
    alice.post("/v2/apps/rbgo/config/", {"values": {"A": "2"}})
    assert set(alice.post("/v2/apps/rbgo/releases/rollback/", {"version": 2}).json()) == {"version"}
