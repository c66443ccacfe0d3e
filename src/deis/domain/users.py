"""User account fields: email and password."""

from __future__ import annotations

from deis.domain._checks import require_str
from deis.domain.errors import Invalid

MAX_EMAIL = 254
MAX_PASSWORD = 4096


def validate_email(value: object) -> str:
    """A plausible email address: one @ with text on both sides, no spaces."""
    if value is None:
        raise Invalid("An email address is required.", field="email")
    text = require_str(value, "email", "Email").strip()
    if not text:
        raise Invalid("An email address is required.", field="email")
    local, _, domain = text.partition("@")
    if (
        text.count("@") != 1
        or not local
        or not domain
        or any(c.isspace() for c in text)
        or domain.startswith(".")
        or domain.endswith(".")
        or len(text) > MAX_EMAIL
    ):
        raise Invalid("Enter a valid email address, such as alice@example.com.", field="email")
    return text


def validate_password(value: object) -> str:
    """A password: not empty, at most 4096 characters, kept exactly as given."""
    if value is None:
        raise Invalid("A password is required.", field="password")
    text = require_str(value, "password", "Password")
    if not text:
        raise Invalid("A password is required.", field="password")
    if len(text) > MAX_PASSWORD:
        raise Invalid(f"Password must be at most {MAX_PASSWORD} characters long.", field="password")
    return text
