from __future__ import annotations

import pytest

from deis.domain.errors import Invalid
from deis.domain.users import validate_email, validate_password


@pytest.mark.parametrize(
    "email", ["alice@example.com", "a@b", "alice+tag@mail.example.org", "ALICE@EXAMPLE.COM"]
)
def test_valid_emails(email: str) -> None:
    assert validate_email(email) == email


def test_email_is_trimmed() -> None:
    assert validate_email("  alice@example.com \n") == "alice@example.com"


@pytest.mark.parametrize(
    "email",
    [
        "",
        "   ",
        "alice",
        "@example.com",
        "alice@",
        "alice@@example.com",
        "a@b@c",
        "alice smith@example.com",
        "alice@exa mple.com",
        "alice@.example.com",
        "alice@example.com.",
        "a" * 250 + "@b.co",
    ],
)
def test_invalid_emails(email: str) -> None:
    with pytest.raises(Invalid) as info:
        validate_email(email)
    assert info.value.field == "email"


@pytest.mark.parametrize("value", [None, 1, ["a@b"]])
def test_email_required_and_a_string(value: object) -> None:
    with pytest.raises(Invalid) as info:
        validate_email(value)
    assert info.value.errors == {"email": [info.value.message]}


@pytest.mark.parametrize("password", ["x", "correct horse battery staple", " padded ", "p" * 4096])
def test_valid_passwords_kept_exactly(password: str) -> None:
    assert validate_password(password) == password


@pytest.mark.parametrize("value", [None, "", "p" * 4097, 1234, ["pw"]])
def test_invalid_passwords(value: object) -> None:
    with pytest.raises(Invalid) as info:
        validate_password(value)
    assert info.value.field == "password"


def test_password_too_long_message() -> None:
    with pytest.raises(Invalid, match="4096"):
        validate_password("p" * 5000)
