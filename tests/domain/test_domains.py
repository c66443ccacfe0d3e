from __future__ import annotations

import pytest

from deis.domain.domains import resolve_host, validate_domain
from deis.domain.errors import Invalid


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("example.com", "example.com"),
        ("WWW.Example.COM", "www.example.com"),
        ("example.com.", "example.com"),
        ("  example.com  ", "example.com"),
        ("a.b.c.d.example.co.uk", "a.b.c.d.example.co.uk"),
        ("my-app", "my-app"),
        ("myapp", "myapp"),
        ("*.example.com", "*.example.com"),
        ("*.apps.example.com", "*.apps.example.com"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("1password.com", "1password.com"),
        ("123.example.com", "123.example.com"),
        ("a" * 63 + ".com", "a" * 63 + ".com"),
        ("x--y.example.com", "x--y.example.com"),
    ],
)
def test_valid_domains(value: str, expected: str) -> None:
    assert validate_domain(value) == expected


def test_longest_domain() -> None:
    name = ".".join(["a" * 63] * 3 + ["b" * 61])
    assert len(name) == 253
    assert validate_domain(name) == name
    with pytest.raises(Invalid, match="253"):
        validate_domain(name + "b")


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("http://example.com", "http://"),
        ("https://example.com", "http://"),
        ("example.com/path", "path"),
        ("example.com:8080", "port"),
        ("192.168.1.1", "IP"),
        ("::1", "IP"),
        ("2001:db8::1", "IP"),
        ("[::1]", "IP"),
        ("*", "wildcard"),
        ("*.com", "wildcard"),
        ("www.*.example.com", "first label"),
        ("w*.example.com", "first label"),
        ("*.*.example.com", "first label"),
        ("my_app.example.com", "underscore"),
        ("", "empty"),
        (".", "empty"),
        ("example..com", "empty labels"),
        (".example.com", "empty labels"),
        ("-example.com", "-example "),
        ("example-.com", "example-"),
        ("a" * 64 + ".com", "63"),
        ("exa mple.com", "exa mple"),
        ("bücher.example", "xn--"),
        ("example.123", "digits"),
        ("1.2.3", "digits"),
    ],
)
def test_invalid_domains(value: str, hint: str) -> None:
    with pytest.raises(Invalid) as info:
        validate_domain(value)
    assert info.value.field == "domain"
    assert hint in info.value.message


@pytest.mark.parametrize("value", [None, 5, ["example.com"]])
def test_domain_must_be_a_string(value: object) -> None:
    with pytest.raises(Invalid) as info:
        validate_domain(value)
    assert info.value.errors == {"domain": [info.value.message]}


@pytest.mark.parametrize(
    ("domain", "platform", "host"),
    [
        ("myapp", "example.com", "myapp.example.com"),
        ("myapp", "example.com.", "myapp.example.com"),
        ("www.example.org", "example.com", "www.example.org"),
        ("*.example.org", "example.com", "*.example.org"),
    ],
)
def test_resolve_host(domain: str, platform: str, host: str) -> None:
    assert resolve_host(domain, platform) == host
