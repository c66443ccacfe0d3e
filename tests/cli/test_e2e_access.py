"""domains, certs, keys, perms and users against a running controller."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from .conftest import Deis, Platform, unique

pytestmark = pytest.mark.e2e


def make_cert(tmp_path: Path, host: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{host}.crt", tmp_path / f"{host}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def ed25519_public(comment: str) -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    line = key.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()
    return f"{line} {comment}\n"


def test_domains(user: Deis, app: str) -> None:
    host = f"{unique('www')}.example.com"
    assert user("domains:add", host, "-a", app).out == f"Adding {host} to {app}... done\n"
    assert user("domains", "-a", app).out == f"=== {app} Domains\n{app}\n{host}\n"
    assert host in [
        d["domain"] for d in json.loads(user("domains:list", "-a", app, "-o", "json").out)
    ]
    assert user.fails("domains:add", host, "-a", app).err.startswith("Error: ")
    assert user("domains:remove", host, "-a", app).out == f"Removing {host} from {app}... done\n"
    assert user("domains:list", "-a", app).out == f"=== {app} Domains\n{app}\n"


def test_certs(user: Deis, app: str, tmp_path: Path) -> None:
    host = f"{unique('secure')}.example.com"
    name = unique("cert")
    cert, key = make_cert(tmp_path, host)
    assert user("certs:add", name, str(cert), str(key)).out == "Adding SSL endpoint... done\n"
    table = user("certs").out
    assert table.splitlines()[0].startswith("Name")
    assert name in table and host in table and "(in 2 months)" in table
    info = user("certs:info", name).out
    assert info.startswith(f"=== {name} Certificate\nCommon Name(s):    {host}\n")
    assert "Connected Domains: No connected domains" in info
    user("domains:add", host, "-a", app)
    assert (
        user("certs:attach", name, host).out
        == f"Attaching certificate {name} to domain {host}... done\n"
    )
    assert json.loads(user("certs:info", name, "-o", "json").out)["domains"] == [host]
    assert (
        user("certs:detach", name, host).out
        == f"Detaching certificate {name} from domain {host}... done\n"
    )
    assert name in [c["name"] for c in json.loads(user("certs:list", "-o", "json").out)]
    assert user("certs:remove", name).out == f"Removing {name}... done\n"
    assert user.fails("certs:info", name).err.startswith("Error: ")
    assert (
        "Could not read the certificate"
        in user.fails("certs:add", "x", str(tmp_path / "nope"), str(key)).err
    )


def test_bad_certificates_show_the_servers_message(user: Deis, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    assert user.fails("certs:add", unique("bad"), str(junk), str(junk)).err.startswith("Error: ")


def test_keys(user: Deis) -> None:
    ssh = user.home / ".ssh"
    ssh.mkdir()
    comment = unique("me") + "@laptop"
    (ssh / "id_ed25519.pub").write_text(ed25519_public(comment))
    assert user("keys:add").out == "Uploading id_ed25519.pub to deis... done\n"
    other = user.home / "deploy.pub"
    other.write_text(ed25519_public(""))
    named = unique("deploy")
    user("keys:add", named, str(other))
    listing = user("keys").out
    assert listing.startswith(f"=== {user.username} Keys\n")
    assert comment in listing and named in listing and "ssh-ed25519 AAAA..." in listing
    assert {k["id"] for k in json.loads(user("keys:list", "-o", "json").out)} == {comment, named}
    twice = user.fails("keys:add", str(other))  # the same key twice, under another name
    assert twice.err == f"Error: This key is already added, as {named} (deis keys:list shows it).\n"
    assert user.fails("keys:add").err == (  # and under the same name
        f"Error: This key is already added, as {comment} (deis keys:list shows it).\n"
    )
    assert user("keys:remove", named).out == f"Removing {named} SSH Key... done\n"
    assert named not in user("keys").out
    bad = user.home / "bad.pub"
    bad.write_text("not a key")
    assert "is not a valid ssh key" in user.fails("keys:add", str(bad)).err


def test_keys_add_without_any_key(user: Deis) -> None:
    assert "No SSH public key found" in user.fails("keys:add").err


def register(platform: Platform, deis: Deis) -> str:
    name = unique("friend")
    deis(
        "register", platform.url, "--username", name, "--password", "pw", "--email", f"{name}@x.io"
    )
    return name


def test_app_perms(platform: Platform, user: Deis, app: str, new_deis: Callable[..., Deis]) -> None:
    friend = new_deis()
    friend_name = register(platform, friend)
    friend.fails("info", "-a", app)
    assert (
        user("perms:create", friend_name, "-a", app).out
        == f"Adding {friend_name} to {app} collaborators... done\n"
    )
    assert user("perms:list", "-a", app).out == f"=== {app}'s Users\n{friend_name}\n"
    assert user("sharing", "-a", app).out == f"=== {app}'s Users\n{friend_name}\n"
    assert json.loads(user("perms:list", "-a", app, "-o", "json").out) == [friend_name]
    assert app in friend("apps").out
    friend("config:set", "BY_FRIEND=1", "-a", app)
    for confirm in (["--confirm", app], []):  # refused before asking or "Destroying..."
        refused = friend.fails("destroy", "-a", app, *confirm, input=f"{app}\n")
        assert refused.out == ""
        assert refused.err == (
            f"Error: Only the app's owner ({user.username}) or an administrator can destroy"
            f" {app}.\n"
        )
    assert "Destroying" in admin_destroys(platform, new_deis, user, app)
    assert friend.fails("perms:create", friend_name, "-a", app).err.startswith("Error: ")
    result = user("sharing:remove", friend_name, "-a", app)
    assert result.out == f"Removing {friend_name} from {app} collaborators... done\n"
    friend.fails("info", "-a", app)


def test_admin_perms(platform: Platform, admin: Deis, user: Deis) -> None:
    assert user.fails("perms:list", "--admin").err.startswith("Error: ")
    assert user.fails("perms:create", user.username, "--admin").err.startswith("Error: ")
    result = admin("perms:create", user.username, "--admin")
    assert result.out == f"Adding {user.username} to system administrators... done\n"
    listing = admin("perms:list", "--admin").out
    assert listing.startswith("=== Administrators")
    assert user.username in listing and platform.admin_username in listing
    assert user.username in [
        p["username"] for p in json.loads(admin("perms:list", "--admin", "-o", "json").out)
    ]
    user("users")  # an admin now
    result = admin("perms:delete", user.username, "--admin")
    assert result.out == f"Removing {user.username} from system administrators... done\n"
    assert user.username not in admin("perms:list", "--admin").out


def test_users(platform: Platform, admin: Deis, user: Deis) -> None:
    out = admin("users:list").out
    assert out.startswith("=== Users (*=admin)")
    assert f"*{platform.admin_username}" in out.splitlines()
    assert user.username in out.splitlines()
    assert user.username in [u["username"] for u in json.loads(admin("users", "-o", "json").out)]
    assert user.fails("users").err.startswith("Error: ")


def admin_destroys(platform: Platform, new_deis: Callable[..., Deis], user: Deis, app: str) -> str:
    """An administrator may destroy another user's app: shown on a copy made for it."""
    other = f"{app}-copy"
    user("create", other, "--no-remote")
    admin = new_deis()
    admin(
        "login", platform.url, "--username", platform.admin_username,
        "--password", platform.admin_password,
    )  # fmt: skip
    return admin("destroy", "-a", other, "--confirm", other).out
