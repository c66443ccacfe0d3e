from __future__ import annotations

import base64
import hashlib
import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from deis.domain.errors import Invalid
from deis.domain.sshkeys import PublicKeyInfo, parse_public_key, validate_key_id

SshPublic = Callable[..., str]

# A fixed key and its fingerprints as `ssh-keygen -l -E md5|sha256 -f` prints them.
KNOWN_ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZ/NW9Kq7OoF5bHM4Xcs8rmbvwI3Tb/4ulS2kLZDkgT"
KNOWN_MD5 = "29:31:18:6c:5f:f5:af:b7:91:a3:90:ef:75:76:7f:21"
KNOWN_SHA256 = "SHA256:vw34lsH78jGenYWeTX11HqU0VvIZAS7G/loHx5lWUcA"


def wire(*parts: bytes) -> str:
    blob = b"".join(struct.pack(">I", len(p)) + p for p in parts)
    return base64.b64encode(blob).decode()


def mpint(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 8) // 8, "big")


def test_ed25519(ssh_ed25519: str) -> None:
    info = parse_public_key(ssh_ed25519)
    assert isinstance(info, PublicKeyInfo)
    assert info.key_type == "ssh-ed25519"
    assert info.bits == 256
    assert info.normalized == ssh_ed25519
    assert info.normalized.endswith(" alice@laptop")


def test_rsa_2048(ssh_rsa2048: str) -> None:
    info = parse_public_key(ssh_rsa2048)
    assert info.key_type == "ssh-rsa"
    assert info.bits == 2048


def test_rsa_4096_bits_counted() -> None:
    modulus = (1 << 4095) | 0xFFFF
    line = "ssh-rsa " + wire(b"ssh-rsa", mpint(65537), mpint(modulus))
    assert parse_public_key(line).bits == 4096


@pytest.mark.parametrize(
    ("curve", "key_type", "bits"),
    [
        (ec.SECP256R1(), "ecdsa-sha2-nistp256", 256),
        (ec.SECP384R1(), "ecdsa-sha2-nistp384", 384),
        (ec.SECP521R1(), "ecdsa-sha2-nistp521", 521),
    ],
)
def test_ecdsa(curve: ec.EllipticCurve, key_type: str, bits: int, ssh_public: SshPublic) -> None:
    info = parse_public_key(ssh_public(ec.generate_private_key(curve), "me@host"))
    assert info.key_type == key_type
    assert info.bits == bits


def test_rsa_1024_refused(ssh_rsa1024: str) -> None:
    with pytest.raises(Invalid, match="1024 bits") as info:
        parse_public_key(ssh_rsa1024)
    assert info.value.field == "public"


def test_dsa_refused() -> None:
    line = "ssh-dss " + wire(b"ssh-dss", mpint(23), mpint(11), mpint(4), mpint(8))
    with pytest.raises(Invalid, match="DSA") as info:
        parse_public_key(line)
    assert info.value.field == "public"


@pytest.mark.parametrize("fmt", ["OpenSSH", "PKCS8"])
def test_private_key_refused_helpfully(fmt: str) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    text = key.private_bytes(
        serialization.Encoding.PEM,
        getattr(serialization.PrivateFormat, fmt),
        serialization.NoEncryption(),
    ).decode()
    with pytest.raises(Invalid) as info:
        parse_public_key(text)
    assert info.value.errors == {"public": ["That is a private key; give the .pub file."]}


def test_normalizes_whitespace(ssh_ed25519: str) -> None:
    key_type, data, comment = ssh_ed25519.split(" ", 2)
    messy = f"  \t{key_type}   {data}\t  {comment}  \n"
    assert parse_public_key(messy).normalized == ssh_ed25519


def test_without_comment(ssh_public: SshPublic) -> None:
    line = ssh_public(ed25519.Ed25519PrivateKey.generate())
    assert len(line.split()) == 2
    assert parse_public_key(line + "\n").normalized == line


def test_comment_with_spaces_is_kept(ssh_public: SshPublic) -> None:
    line = ssh_public(ed25519.Ed25519PrivateKey.generate(), "Alice Smith's laptop")
    assert parse_public_key(line).normalized.endswith(" Alice Smith's laptop")


def test_known_fingerprints() -> None:
    info = parse_public_key(KNOWN_ED25519 + " test")
    assert info.fingerprint_md5 == KNOWN_MD5
    assert info.fingerprint_sha256 == KNOWN_SHA256


def test_fingerprints_are_of_the_blob(ssh_rsa2048: str) -> None:
    info = parse_public_key(ssh_rsa2048)
    blob = base64.b64decode(ssh_rsa2048.split()[1])
    md5 = hashlib.md5(blob).hexdigest()
    assert info.fingerprint_md5 == ":".join(md5[i : i + 2] for i in range(0, 32, 2))
    sha = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    assert info.fingerprint_sha256 == f"SHA256:{sha}"


def test_fingerprint_shapes(ssh_rsa2048: str) -> None:
    info = parse_public_key(ssh_rsa2048)
    parts = info.fingerprint_md5.split(":")
    assert len(parts) == 16
    assert all(len(p) == 2 and p == p.lower() for p in parts)
    assert info.fingerprint_sha256.startswith("SHA256:")
    assert "=" not in info.fingerprint_sha256
    assert len(info.fingerprint_sha256) == len("SHA256:") + 43


def test_same_key_different_comment_same_fingerprint(ssh_public: SshPublic) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    first = parse_public_key(ssh_public(key, "one"))
    second = parse_public_key(ssh_public(key, "two"))
    assert first.fingerprint_md5 == second.fingerprint_md5
    assert first.fingerprint_sha256 == second.fingerprint_sha256


def keygen_fingerprint(tmp_path: Path, line: str, hash_name: str) -> str:
    path = tmp_path / f"key-{hash_name}.pub"
    path.write_text(line + "\n")
    output = subprocess.run(  # noqa: S603 - fixed arguments, a file we wrote
        ["ssh-keygen", "-l", "-E", hash_name, "-f", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return output.split()[1]


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen is not installed")
@pytest.mark.parametrize(
    "make",
    [
        lambda: ed25519.Ed25519PrivateKey.generate(),
        lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
        lambda: ec.generate_private_key(ec.SECP256R1()),
        lambda: ec.generate_private_key(ec.SECP521R1()),
    ],
)
def test_fingerprints_match_ssh_keygen(
    make: Callable[[], Any], ssh_public: SshPublic, tmp_path: Path
) -> None:
    line = ssh_public(make(), "test@example")
    info = parse_public_key(line)
    assert keygen_fingerprint(tmp_path, line, "sha256") == info.fingerprint_sha256
    assert keygen_fingerprint(tmp_path, line, "md5") == f"MD5:{info.fingerprint_md5}"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n",
        "garbage",
        "ssh-ed25519",
        "ssh-ed25519 not-base64!!!",
        "ssh-ed25519 AAAA",
        "ssh-foo AAAAB3NzaC1yc2EAAAADAQABAAABAQ",
        "AAAAC3NzaC1lZDI1NTE5AAAAIGZ/NW9Kq7OoF5bHM4Xcs8rmbvwI3Tb/4ulS2kLZDkgT",
        'command="ls" ' + KNOWN_ED25519,
        "sk-ssh-ed25519@openssh.com AAAA",
        "ssh-ed25519 " + KNOWN_ED25519.split()[1][:-4],
    ],
)
def test_garbage_refused(text: str) -> None:
    with pytest.raises(Invalid) as info:
        parse_public_key(text)
    assert info.value.field == "public"


def test_two_keys_refused(ssh_ed25519: str, ssh_rsa2048: str) -> None:
    with pytest.raises(Invalid, match="one line"):
        parse_public_key(ssh_ed25519 + "\n" + ssh_rsa2048)


def test_not_a_string() -> None:
    with pytest.raises(Invalid) as info:
        parse_public_key(None)  # type: ignore[arg-type]
    assert info.value.field == "public"


def test_ssh2_format_refused_helpfully() -> None:
    text = "---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n---- END SSH2 PUBLIC KEY ----"
    with pytest.raises(Invalid, match="ssh-keygen -i"):
        parse_public_key(text)


def test_type_prefix_must_match_blob(ssh_ed25519: str) -> None:
    data = ssh_ed25519.split()[1]
    with pytest.raises(Invalid, match="does not match its type") as info:
        parse_public_key(f"ssh-rsa {data}")
    assert info.value.field == "public"


def test_ecdsa_curve_must_match_type(ssh_public: SshPublic) -> None:
    line = ssh_public(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(Invalid, match="does not match its type"):
        parse_public_key(line.replace("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", 1))


def test_trailing_data_in_blob_refused(ssh_ed25519: str) -> None:
    blob = base64.b64decode(ssh_ed25519.split()[1]) + b"\x00\x00\x00\x01x"
    with pytest.raises(Invalid, match="damaged"):
        parse_public_key("ssh-ed25519 " + base64.b64encode(blob).decode())


def test_wrong_ed25519_length_refused() -> None:
    with pytest.raises(Invalid, match="damaged"):
        parse_public_key("ssh-ed25519 " + wire(b"ssh-ed25519", b"\x01" * 31))


def test_ecdsa_point_not_on_curve_refused() -> None:
    point = b"\x04" + b"\x01" * 64
    with pytest.raises(Invalid, match="damaged"):
        parse_public_key("ecdsa-sha2-nistp256 " + wire(b"ecdsa-sha2-nistp256", b"nistp256", point))


def test_hand_made_rsa_blob_bits() -> None:
    modulus = (1 << 2047) | 0xFFFF  # odd, 2048 bits
    line = "ssh-rsa " + wire(b"ssh-rsa", mpint(65537), mpint(modulus))
    assert parse_public_key(line).bits == 2048


def test_hand_made_short_rsa_blob_refused() -> None:
    modulus = (1 << 2046) | 0xFFFF  # 2047 bits
    with pytest.raises(Invalid, match="2047 bits"):
        parse_public_key("ssh-rsa " + wire(b"ssh-rsa", mpint(65537), mpint(modulus)))


def test_truncated_blob_refused() -> None:
    blob = struct.pack(">I", 100) + b"ssh-rsa"
    with pytest.raises(Invalid, match="damaged"):
        parse_public_key("ssh-rsa " + base64.b64encode(blob).decode())


# key ids


@pytest.mark.parametrize("name", ["alice@laptop", "a", "work_key-2", "me.home", "x" * 128, "A1"])
def test_valid_key_ids(name: str) -> None:
    assert validate_key_id(name) == name


@pytest.mark.parametrize("name", ["", "x" * 129, "a b", "a/b", "a:b", "ключ", None, 1])
def test_invalid_key_ids(name: object) -> None:
    with pytest.raises(Invalid) as info:
        validate_key_id(name)
    assert info.value.field == "id"
