"""The table pushed to nginx, and its file: pure encoding, 0600 persistence."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from deis.domain.routing import AppRoute, TLSCertificate
from deis.router import table


def test_route_encoding() -> None:
    route = AppRoute(
        "web",
        ("web.example.com", "*.Example.ORG.", "bad host!"),
        certificates=(TLSCertificate("c", ("web.example.com",), "CERT", "KEY"),),
        https_enforced=True,
        maintenance=False,
        routable=True,
        whitelist=("10.1.2.3/8", "192.168.1.5", "2001:db8::/32", "nonsense"),
    )
    lines = table.encode_route(route).splitlines()
    assert lines[:3] == ["maintenance 0", "routable 1", "https 1"]
    assert "allowlist 1" in lines
    assert "allow 4 0a000000 8" in lines
    assert "allow 4 c0a80105 32" in lines
    assert "allow 6 20010db8000000000000000000000000 32" in lines
    assert "host web.example.com" in lines
    assert "host *.example.org" in lines
    assert not any("bad" in line for line in lines)
    cert = [line for line in lines if line.startswith("cert ")]
    b64 = base64.b64encode
    assert cert == [f"cert web.example.com {b64(b'CERT').decode()} {b64(b'KEY').decode()}"]


def test_an_allow_list_of_nothing_valid_still_denies() -> None:
    lines = table.encode_route(AppRoute("a", ("a.x",), whitelist=("nope",))).splitlines()
    assert "allowlist 1" in lines
    assert not any(line.startswith("allow ") for line in lines)
    assert "allowlist" not in table.encode_route(AppRoute("a", ("a.x",)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("10.0.0.2:5000", ("10.0.0.2", 5000)), ("[::1]:80", ("::1", 80)), ("web:8000", ("web", 8000))],
)
def test_split_peer(text: str, expected: tuple[str, int]) -> None:
    assert table.split_peer(text) == expected


@pytest.mark.parametrize("text", ["10.0.0.2", ":80", "x:0", "x:70000", "x:port"])
def test_bad_peers(text: str) -> None:
    with pytest.raises(table.TableError):
        table.split_peer(text)


def test_peers_encoding() -> None:
    assert table.encode_peers([("10.0.0.2", 5000), ("::1", 80)]) == "10.0.0.2 5000\n::1 80\n"


def test_save_and_load_keep_everything_in_a_0600_file(tmp_path: Path) -> None:
    route = AppRoute(
        "web",
        ("web.localhost",),
        certificates=(TLSCertificate("c", ("web.localhost",), "CERT", "SECRET-KEY"),),
        maintenance=True,
        whitelist=("10.0.0.0/8",),
    )
    path = tmp_path / "table.json"
    table.save(path, {"web": route}, {"web": [("10.0.0.2", 5000), ("::1", 80)]})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    routes, peers = table.load(path)
    assert routes == {"web": route}
    assert peers == {"web": [("10.0.0.2", 5000), ("::1", 80)]}
    assert table.load(tmp_path / "missing.json") == ({}, {})


def test_app_ids_are_checked() -> None:
    table.check_app("my-app")
    with pytest.raises(table.TableError):
        table.check_app("../etc")
