"""SSH public keys (OpenSSH one-line format) and their fingerprints."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from deis.domain._checks import require_str
from deis.domain.errors import Invalid

FIELD = "public"
MIN_RSA_BITS = 2048
MAX_KEY_ID = 128

# key type -> (curve name inside the blob, bits) for ECDSA keys
_ECDSA = {
    "ecdsa-sha2-nistp256": ("nistp256", 256),
    "ecdsa-sha2-nistp384": ("nistp384", 384),
    "ecdsa-sha2-nistp521": ("nistp521", 521),
}
KEY_TYPES = ("ssh-ed25519", "ssh-rsa", *_ECDSA)

_KEY_ID_RE = re.compile(r"[A-Za-z0-9@._-]+")


@dataclass(frozen=True)
class PublicKeyInfo:
    key_type: str  # "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", ...
    bits: int
    normalized: str  # "type base64 [comment]" on one line
    fingerprint_md5: str  # "aa:bb:...", as Deis shows it
    fingerprint_sha256: str  # "SHA256:...", as OpenSSH shows it


def validate_key_id(value: object) -> str:
    """A key's name: 1-128 of letters, digits and @ . _ -."""
    name = require_str(value, "id", "Key name")
    if not name or len(name) > MAX_KEY_ID or not _KEY_ID_RE.fullmatch(name):
        raise Invalid(
            f"Key name must be 1 to {MAX_KEY_ID} letters, digits and the characters @ . _ -.",
            field="id",
        )
    return name


def _fail(message: str) -> Invalid:
    return Invalid(message, field=FIELD)


class _Reader:
    """Reads the SSH wire format (RFC 4251): length-prefixed strings and mpints."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def string(self) -> bytes:
        if self.offset + 4 > len(self.data):
            raise ValueError("truncated")
        (length,) = struct.unpack_from(">I", self.data, self.offset)
        start = self.offset + 4
        if start + length > len(self.data):
            raise ValueError("truncated")
        self.offset = start + length
        return self.data[start : self.offset]

    def mpint(self) -> int:
        return int.from_bytes(self.string(), "big", signed=True)

    def at_end(self) -> bool:
        return self.offset == len(self.data)


def _bits(key_type: str, blob: bytes) -> int:
    """The key's size, after checking the blob is one well-formed key of `key_type`."""
    reader = _Reader(blob)
    if reader.string() != key_type.encode():
        raise _fail(f"The key data does not match its type {key_type}.")
    if key_type == "ssh-rsa":
        exponent, modulus = reader.mpint(), reader.mpint()
        if exponent < 3 or modulus <= 0:
            raise ValueError("bad RSA numbers")
        bits = modulus.bit_length()
    elif key_type == "ssh-ed25519":
        if len(reader.string()) != 32:
            raise ValueError("bad ed25519 key")
        bits = 256
    else:
        curve, bits = _ECDSA[key_type]
        if reader.string() != curve.encode():
            raise _fail(f"The key data does not match its type {key_type}.")
        reader.string()
    if not reader.at_end():
        raise ValueError("trailing data")
    return bits


def _colons(hexdigest: str) -> str:
    return ":".join(hexdigest[i : i + 2] for i in range(0, len(hexdigest), 2))


def parse_public_key(text: str) -> PublicKeyInfo:
    """Check an OpenSSH public key line ("ssh-ed25519 AAAA... comment") and describe it.

    Accepted: ssh-ed25519, ecdsa-sha2-nistp256/384/521, and ssh-rsa of 2048 bits or more.
    """
    line = require_str(text, FIELD, "The public key").strip()
    if "PRIVATE KEY" in line:
        raise _fail("That is a private key; give the .pub file.")
    if line.startswith("---- BEGIN SSH2 PUBLIC KEY"):
        raise _fail(
            "That key is in the SSH2 format; convert it with ssh-keygen -i -f and give "
            "the one-line OpenSSH form."
        )
    if not line:
        raise _fail("The public key is empty; give the contents of your .pub file.")
    if "\n" in line or "\r" in line:
        raise _fail("Give one public key, on one line.")
    parts = line.split(None, 2)
    key_type = parts[0]
    if key_type == "ssh-dss":
        raise _fail("DSA keys are not accepted; use an ed25519 key (ssh-keygen -t ed25519).")
    if key_type not in KEY_TYPES:
        raise _fail(
            "That is not an OpenSSH public key of a supported type: use ssh-ed25519, "
            "ecdsa-sha2-nistp256/384/521 or ssh-rsa (the line starts with the type)."
        )
    if len(parts) < 2:
        raise _fail("The public key has no key data after its type.")
    try:
        blob = base64.b64decode(parts[1], validate=True)
        bits = _bits(key_type, blob)
    except (binascii.Error, ValueError):
        raise _fail("The public key data is damaged; copy the .pub file again.") from None
    if key_type == "ssh-rsa" and bits < MIN_RSA_BITS:
        raise _fail(
            f"This RSA key has {bits} bits; use at least {MIN_RSA_BITS} bits, or an "
            "ed25519 key (ssh-keygen -t ed25519)."
        )
    encoded = base64.b64encode(blob).decode("ascii")
    try:  # a second opinion on the numbers inside (curve points, RSA values)
        serialization.load_ssh_public_key(f"{key_type} {encoded}".encode("ascii"))
    except (ValueError, UnsupportedAlgorithm):
        raise _fail("The public key data is damaged; copy the .pub file again.") from None
    comment = parts[2].strip() if len(parts) == 3 else ""
    normalized = f"{key_type} {encoded} {comment}" if comment else f"{key_type} {encoded}"
    sha256 = base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")
    return PublicKeyInfo(
        key_type=key_type,
        bits=bits,
        normalized=normalized,
        fingerprint_md5=_colons(hashlib.md5(blob, usedforsecurity=False).hexdigest()),
        fingerprint_sha256=f"SHA256:{sha256}",
    )
