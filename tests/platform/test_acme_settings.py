"""The automatic TLS settings: read from DEIS_ACME_* and flags, documented in the
operators' settings table."""

from __future__ import annotations

from pathlib import Path

import pytest

from deis.settings import _ENV, SettingsError, from_env

DOC = Path(__file__).resolve().parents[2] / "docs" / "operators.md"


def test_defaults_and_environment() -> None:
    plain = from_env({})
    assert plain.acme_email == ""
    assert plain.acme_directory == "https://acme-v02.api.letsencrypt.org/directory"
    given = from_env(
        {"DEIS_ACME_EMAIL": "ops@shop.com", "DEIS_ACME_DIRECTORY": "https://ca.test/dir"}
    )
    assert (given.acme_email, given.acme_directory) == ("ops@shop.com", "https://ca.test/dir")
    assert from_env({}, acme_email="x@y.z").acme_email == "x@y.z"
    bound = from_env(
        {"DEIS_ACME_EMAIL": "ops@shop.com", "DEIS_ACME_PLATFORM": "yes",
         "DEIS_ACME_EAB_KID": "kid-1", "DEIS_ACME_EAB_HMAC_KEY": "c2VjcmV0LWtleQ"}
    )  # fmt: skip
    assert bound.acme_platform and bound.acme_eab_kid == "kid-1"


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"DEIS_ACME_EMAIL": "ops"}, "must be an email address"),
        ({"DEIS_ACME_DIRECTORY": "letsencrypt"}, "must be the URL of an ACME directory"),
        ({"DEIS_ACME_INTERVAL": "0"}, "positive number of seconds"),
        ({"DEIS_ACME_EAB_KID": "kid-1"}, "go together"),
        ({"DEIS_ACME_EAB_HMAC_KEY": "abc"}, "go together"),
        ({"DEIS_ACME_EAB_KID": "k", "DEIS_ACME_EAB_HMAC_KEY": "not base64!"}, "base64url"),
        ({"DEIS_ACME_PLATFORM": "1"}, "--acme-platform needs --acme-email"),
    ],
)
def test_bad_values_are_refused_with_what_to_give(env: dict[str, str], says: str) -> None:
    with pytest.raises(SettingsError, match=says):
        from_env(env)


def test_the_operators_table_documents_each_acme_setting() -> None:
    table = [line for line in DOC.read_text().splitlines() if line.startswith("| `DEIS_")]
    keys = [k for k in _ENV if k.startswith("DEIS_ACME_")]
    assert keys == [
        "DEIS_ACME_EMAIL",
        "DEIS_ACME_DIRECTORY",
        "DEIS_ACME_CA_BUNDLE",
        "DEIS_ACME_INTERVAL",
        "DEIS_ACME_PLATFORM",
        "DEIS_ACME_EAB_KID",
        "DEIS_ACME_EAB_HMAC_KEY",
    ]
    for key in keys:
        assert any(f"`{key}`" in line.split(" | ")[0] for line in table), key
