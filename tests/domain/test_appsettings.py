from __future__ import annotations

import pytest

from deis.domain.appsettings import (
    merge_autoscale,
    merge_label,
    merge_whitelist_add,
    merge_whitelist_remove,
    validate_autoscale,
    validate_whitelist,
)
from deis.domain.errors import Invalid

# whitelist


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["10.0.0.1"], ["10.0.0.1"]),
        (["10.0.0.0/24"], ["10.0.0.0/24"]),
        (["10.0.0.5/24"], ["10.0.0.0/24"]),
        (["10.0.0.1/32"], ["10.0.0.1/32"]),
        (["0.0.0.0/0"], ["0.0.0.0/0"]),
        (["2001:DB8::1"], ["2001:db8::1"]),
        (["2001:0db8:0000::/32"], ["2001:db8::/32"]),
        (["2001:db8::5/64"], ["2001:db8::/64"]),
        ([" 10.0.0.1 "], ["10.0.0.1"]),
        (["10.0.0.1", "10.0.0.1", "10.0.0.2"], ["10.0.0.1", "10.0.0.2"]),
        (["10.0.0.9/8", "10.0.0.0/8"], ["10.0.0.0/8"]),
        ([], []),
    ],
)
def test_validate_whitelist(given: list[str], expected: list[str]) -> None:
    assert validate_whitelist(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "10.0.0.1",
        None,
        {"10.0.0.1": True},
        ["10.0.0.256"],
        ["10.0.0"],
        ["example.com"],
        ["10.0.0.0/33"],
        ["fe80::1%eth0"],
        [""],
        [10],
        [None],
    ],
)
def test_invalid_whitelist(given: object) -> None:
    with pytest.raises(Invalid) as info:
        validate_whitelist(given)
    assert info.value.field == "addresses"


def test_invalid_address_is_named() -> None:
    with pytest.raises(Invalid, match="not-an-ip"):
        validate_whitelist(["10.0.0.1", "not-an-ip"])


def test_whitelist_add() -> None:
    old = ["10.0.0.1"]
    assert merge_whitelist_add(old, ["10.0.0.2", "10.0.0.1", "192.168.0.7/16"]) == [
        "10.0.0.1",
        "10.0.0.2",
        "192.168.0.0/16",
    ]
    assert old == ["10.0.0.1"]


def test_whitelist_remove() -> None:
    old = ["10.0.0.1", "10.0.0.0/24", "::1"]
    assert merge_whitelist_remove(old, ["10.0.0.9/24", "::0001"]) == ["10.0.0.1"]
    assert old == ["10.0.0.1", "10.0.0.0/24", "::1"]


def test_whitelist_remove_missing_address_is_named() -> None:
    with pytest.raises(Invalid) as info:
        merge_whitelist_remove(["10.0.0.1"], ["10.0.0.1", "10.0.0.2"])
    assert info.value.errors == {"addresses": ["10.0.0.2 is not in the whitelist."]}


def test_whitelist_remove_validates() -> None:
    with pytest.raises(Invalid) as info:
        merge_whitelist_remove(["10.0.0.1"], ["bogus"])
    assert info.value.field == "addresses"


# autoscale


def test_validate_autoscale() -> None:
    value = {
        "web": {"min": 1, "max": 5, "cpu_percent": 80},
        "worker": {"min": 2, "max": 2, "cpu_percent": 1},
    }
    assert validate_autoscale(value) == value


@pytest.mark.parametrize(
    "rule",
    [
        {"min": 0, "max": 5, "cpu_percent": 80},
        {"min": 3, "max": 2, "cpu_percent": 80},
        {"min": 1, "max": 5, "cpu_percent": 0},
        {"min": 1, "max": 5, "cpu_percent": 101},
        {"min": 1, "max": 5},
        {"max": 5, "cpu_percent": 50},
        {"min": 1, "max": 5, "cpu_percent": 50, "target": 3},
        {"min": "1", "max": 5, "cpu_percent": 50},
        {"min": 1.0, "max": 5, "cpu_percent": 50},
        {"min": True, "max": 5, "cpu_percent": 50},
        None,
        [1, 5, 50],
    ],
)
def test_invalid_autoscale_rules(rule: object) -> None:
    with pytest.raises(Invalid) as info:
        validate_autoscale({"web": rule})
    assert info.value.field == "autoscale"


@pytest.mark.parametrize(
    "value", [None, [], "web", {"Web": {"min": 1, "max": 1, "cpu_percent": 1}}]
)
def test_invalid_autoscale(value: object) -> None:
    with pytest.raises(Invalid) as info:
        validate_autoscale(value)
    assert info.value.field == "autoscale"


def test_autoscale_messages_name_the_type() -> None:
    with pytest.raises(Invalid, match="worker"):
        validate_autoscale({"worker": {"min": 4, "max": 2, "cpu_percent": 50}})
    with pytest.raises(Invalid, match="cpu_percent"):
        validate_autoscale({"worker": {"min": 1, "max": 2}})


def test_merge_autoscale() -> None:
    old = {"web": {"min": 1, "max": 3, "cpu_percent": 50}}
    new = merge_autoscale(old, {"worker": {"min": 1, "max": 2, "cpu_percent": 70}})
    assert new == {
        "web": {"min": 1, "max": 3, "cpu_percent": 50},
        "worker": {"min": 1, "max": 2, "cpu_percent": 70},
    }
    new["web"]["max"] = 99
    assert old["web"]["max"] == 3


def test_merge_autoscale_replaces_and_removes() -> None:
    old = {
        "web": {"min": 1, "max": 3, "cpu_percent": 50},
        "worker": {"min": 1, "max": 1, "cpu_percent": 10},
    }
    new = merge_autoscale(old, {"web": {"min": 2, "max": 4, "cpu_percent": 60}, "worker": None})
    assert new == {"web": {"min": 2, "max": 4, "cpu_percent": 60}}


def test_merge_autoscale_remove_missing() -> None:
    with pytest.raises(Invalid, match="web") as info:
        merge_autoscale({}, {"web": None})
    assert info.value.field == "autoscale"


# label


def test_merge_label() -> None:
    old = {"team": "payments"}
    assert merge_label(old, {"tier": "gold", "team": None}) == {"tier": "gold"}
    assert old == {"team": "payments"}


def test_merge_label_prefixed_key_and_scalar() -> None:
    assert merge_label({}, {"example.com/owner": "alice", "critical": True}) == {
        "example.com/owner": "alice",
        "critical": "true",
    }


@pytest.mark.parametrize(
    "changes",
    [
        {"bad key": "v"},
        {"k": "bad value"},
        {"k": "x" * 64},
        {"-k": "v"},
        {"k": ["v"]},
        {"gone": None},
    ],
)
def test_invalid_labels(changes: dict[str, object]) -> None:
    with pytest.raises(Invalid) as info:
        merge_label({}, changes)
    assert info.value.field == "label"


def test_label_changes_must_be_an_object() -> None:
    with pytest.raises(Invalid) as info:
        merge_label({}, ["team"])
    assert info.value.field == "label"
