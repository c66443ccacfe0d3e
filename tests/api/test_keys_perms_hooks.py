"""SSH keys, collaborators, and the builder's hooks."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from tests.api.conftest import Api, User

BUILDER = {"X-Deis-Builder-Auth": "test-builder-key"}


def ed25519_public(comment: str = "me@laptop") -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    raw = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return f"{raw.decode()} {comment}"


def rsa_public(bits: int) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    return key.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()


def test_keys_add_list_show_remove(alice: User) -> None:
    public = ed25519_public()
    added = alice.post("/v2/keys/", {"id": "laptop", "public": public})
    assert added.status_code == 201, added.text
    body = added.json()
    assert body["id"] == "laptop" and body["owner"] == "alice" and body["public"] == public
    assert len(body["fingerprint"].split(":")) == 16
    assert alice.get("/v2/keys/").json()["count"] == 1
    assert alice.get("/v2/keys/laptop").json()["uuid"] == body["uuid"]
    assert alice.delete("/v2/keys/laptop").status_code == 204
    assert alice.get("/v2/keys/laptop").status_code == 404


def test_keys_are_unique_and_must_be_strong(alice: User, bob: User) -> None:
    public = ed25519_public()
    assert alice.post("/v2/keys/", {"id": "one", "public": public}).status_code == 201
    again = bob.post("/v2/keys/", {"id": "two", "public": public})
    assert again.status_code == 400 and "public" in again.json()
    same_id = alice.post("/v2/keys/", {"id": "one", "public": ed25519_public()})
    assert same_id.status_code == 400 and "id" in same_id.json()
    twice = alice.post("/v2/keys/", {"id": "again", "public": public})
    assert twice.status_code == 400
    assert twice.json() == {
        "detail": "This key is already added, as one (deis keys:list shows it)."
    }
    weak = alice.post("/v2/keys/", {"id": "weak", "public": rsa_public(1024)})
    assert weak.status_code == 400 and "public" in weak.json()
    assert alice.post("/v2/keys/", {"id": "rsa", "public": rsa_public(2048)}).status_code == 201
    garbage = alice.post("/v2/keys/", {"id": "junk", "public": "ssh-ed25519 AAAAnotbase64"})
    assert garbage.status_code == 400


def test_keys_are_private_to_their_owner(alice: User, bob: User) -> None:
    alice.post("/v2/keys/", {"id": "laptop", "public": ed25519_public()})
    assert bob.get("/v2/keys/").json()["count"] == 0
    assert bob.get("/v2/keys/laptop").status_code == 404
    assert bob.delete("/v2/keys/laptop").status_code == 404


def test_perms_share_list_and_unshare(alice: User, bob: User) -> None:
    alice.create_app("team")
    assert alice.post("/v2/apps/team/perms/", {"username": "bob"}).status_code == 201
    assert alice.get("/v2/apps/team/perms/").json() == {"users": ["bob"]}
    assert bob.get("/v2/apps/team/").status_code == 200
    assert bob.post("/v2/apps/team/config/", {"values": {"A": "1"}}).status_code == 201
    assert bob.delete("/v2/apps/team/").status_code == 403
    assert bob.post("/v2/apps/team/perms/", {"username": "admin"}).status_code == 403
    assert alice.post("/v2/apps/team/perms/", {"username": "ghost"}).status_code == 404
    assert alice.post("/v2/apps/team/perms/", {"username": "bob"}).status_code == 400
    assert alice.delete("/v2/apps/team/perms/bob").status_code == 204
    assert bob.get("/v2/apps/team/").status_code == 404


def test_hooks_need_the_builder_key(api: Api, alice: User) -> None:
    alice.create_app("hooked")
    assert api.client.get("/v2/hooks/keys/hooked").status_code == 403
    wrong = api.client.get("/v2/hooks/keys/hooked", headers={"X-Deis-Builder-Auth": "wrong"})
    assert wrong.status_code == 403


def test_hook_key_lookup_by_md5_and_sha256(api: Api, alice: User, bob: User) -> None:
    alice.create_app("pushme")
    key = alice.post("/v2/keys/", {"id": "laptop", "public": ed25519_public()}).json()
    found = api.client.get(f"/v2/hooks/key/{key['fingerprint']}", headers=BUILDER)
    assert found.status_code == 200
    assert found.json() == {"username": "alice", "apps": ["pushme"]}
    unknown = api.client.get("/v2/hooks/key/00:11:22", headers=BUILDER)
    assert unknown.status_code == 404


def test_hook_keys_of_an_app_include_collaborators(api: Api, alice: User, bob: User) -> None:
    alice.create_app("shared")
    alice.post("/v2/apps/shared/perms/", {"username": "bob"})
    alice.post("/v2/keys/", {"id": "a", "public": ed25519_public()})
    bob.post("/v2/keys/", {"id": "b", "public": ed25519_public()})
    users = api.client.get("/v2/hooks/keys/shared", headers=BUILDER).json()["users"]
    assert [k["id"] for k in users["alice"]] == ["a"]
    assert [k["id"] for k in users["bob"]] == ["b"]
    only_bob = api.client.get("/v2/hooks/keys/shared/bob", headers=BUILDER).json()["users"]
    assert list(only_bob) == ["bob"]
    assert api.client.get("/v2/hooks/keys/shared/carol", headers=BUILDER).status_code == 404


def test_hook_config_and_build_make_a_release(api: Api, alice: User, bob: User) -> None:
    alice.create_app("built")
    alice.post("/v2/apps/built/config/", {"values": {"FOO": "bar"}})
    config = api.client.post(
        "/v2/hooks/config", json={"receive_user": "alice", "receive_repo": "built"}, headers=BUILDER
    )
    assert config.status_code == 200 and config.json()["values"] == {"FOO": "bar"}
    denied = api.client.post(
        "/v2/hooks/config", json={"receive_user": "bob", "receive_repo": "built"}, headers=BUILDER
    )
    assert denied.status_code == 404
    build = {
        "receive_user": "alice", "receive_repo": "built", "sha": "060da68f654e75fac06dbedd1995d5f8ad9084db",
        "image": "127.0.0.1:5000/built:git-060da68", "procfile": {"web": "python app.py"},
        "dockerfile": "",
    }  # fmt: skip
    response = api.client.post("/v2/hooks/build", json=build, headers=BUILDER)
    assert response.status_code == 200, response.text
    assert response.json() == {"release": {"version": 3}}
    latest = alice.get("/v2/apps/built/releases/v3").json()
    assert latest["summary"] == "alice deployed 060da68"
    builds = alice.get("/v2/apps/built/builds/").json()["results"]
    assert builds[0]["procfile"] == {"web": "python app.py"}
    assert alice.get("/v2/apps/built/").json()["structure"] == {"web": 1}
