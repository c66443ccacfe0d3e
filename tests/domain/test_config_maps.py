"""merge_tags, merge_registry and merge_healthcheck."""

from __future__ import annotations

from typing import Any

import pytest

from deis.domain.config import merge_healthcheck, merge_registry, merge_tags
from deis.domain.errors import Invalid

# tags


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("disk", "ssd"),
        ("zone", "us-east-1a"),
        ("node.kubernetes.io/instance-type", "m5.large"),
        ("example.com/tier", "gold"),
        ("a", ""),
        ("A_b.c-D", "X_y.z-9"),
        ("k" * 63, "v" * 63),
    ],
)
def test_valid_tags(key: str, value: str) -> None:
    assert merge_tags({}, {key: value}) == {key: value}


@pytest.mark.parametrize(
    "key",
    ["", "-disk", "disk-", "_disk", "k" * 64, "dis k", "a/b/c", "/disk", "Example.com/disk", "x/"],
)
def test_invalid_tag_keys(key: str) -> None:
    with pytest.raises(Invalid) as info:
        merge_tags({}, {key: "v"})
    assert info.value.field == "tags"


@pytest.mark.parametrize("value", ["-ssd", "ssd-", "s sd", "v" * 64, "a/b", [1], {"a": 1}])
def test_invalid_tag_values(value: object) -> None:
    with pytest.raises(Invalid) as info:
        merge_tags({}, {"disk": value})
    assert info.value.field == "tags"
    assert "disk" in info.value.message


def test_tag_scalars_become_strings() -> None:
    assert merge_tags({}, {"gpu": True, "cores": 8}) == {"gpu": "true", "cores": "8"}


def test_tags_merge_and_remove() -> None:
    old = {"disk": "ssd", "zone": "a"}
    assert merge_tags(old, {"zone": None, "disk": "hdd"}) == {"disk": "hdd"}
    assert old == {"disk": "ssd", "zone": "a"}


def test_removing_unset_tag() -> None:
    with pytest.raises(Invalid, match="Tag zone is not set") as info:
        merge_tags({}, {"zone": None})
    assert info.value.field == "tags"


def test_tag_prefix_too_long() -> None:
    prefix = ".".join(["a" * 63] * 4) + ".com"
    assert len(prefix) > 253
    with pytest.raises(Invalid, match="prefix"):
        merge_tags({}, {f"{prefix}/k": "v"})


# registry


def test_registry_set_and_lowercase_keys() -> None:
    assert merge_registry({}, {"USERNAME": "bob", "Password": "s3cr3t pass"}) == {
        "username": "bob",
        "password": "s3cr3t pass",
    }


def test_registry_hostname() -> None:
    assert merge_registry({}, {"hostname": "registry.example.com:5000"}) == {
        "hostname": "registry.example.com:5000"
    }


def test_registry_remove() -> None:
    old = {"username": "bob", "password": "pw"}
    assert merge_registry(old, {"PASSWORD": None}) == {"username": "bob"}
    assert old == {"username": "bob", "password": "pw"}


def test_registry_remove_unset() -> None:
    with pytest.raises(Invalid, match="password") as info:
        merge_registry({}, {"password": None})
    assert info.value.field == "registry"


@pytest.mark.parametrize(
    "changes",
    [
        {"email": "a@b"},
        {"user": "bob"},
        {"username": ""},
        {"username": 5},
        {"username": "bob smith"},
        {"password": "line\nbreak"},
        {"hostname": "https://quay.io"},
        {"hostname": "quay.io/org"},
        {"username": "a", "USERNAME": "b"},
    ],
)
def test_invalid_registry(changes: dict[str, object]) -> None:
    with pytest.raises(Invalid) as info:
        merge_registry({}, changes)
    assert info.value.field == "registry"


# healthcheck

HTTP = {"httpGet": {"port": 5000, "path": "/health"}}
TCP = {"tcpSocket": {"port": 5000}}


def test_set_probes_with_defaults() -> None:
    result = merge_healthcheck({}, {"web": {"livenessProbe": HTTP, "readinessProbe": TCP}})
    assert result["web"]["livenessProbe"]["httpGet"] == {
        "path": "/health",
        "port": 5000,
        "scheme": "HTTP",
    }
    assert result["web"]["livenessProbe"]["periodSeconds"] == 10
    assert result["web"]["readinessProbe"]["tcpSocket"] == {"port": 5000}


def test_probe_replaces_only_its_kind() -> None:
    old = merge_healthcheck({}, {"web": {"livenessProbe": HTTP, "readinessProbe": TCP}})
    new = merge_healthcheck(old, {"web": {"livenessProbe": TCP}})
    assert new["web"]["livenessProbe"]["tcpSocket"] == {"port": 5000}
    assert new["web"]["readinessProbe"] == old["web"]["readinessProbe"]
    assert old["web"]["livenessProbe"]["httpGet"]["path"] == "/health"


def test_remove_one_probe() -> None:
    old = merge_healthcheck({}, {"web": {"livenessProbe": HTTP, "readinessProbe": TCP}})
    new = merge_healthcheck(old, {"web": {"livenessProbe": None}})
    assert list(new["web"]) == ["readinessProbe"]
    assert set(old["web"]) == {"livenessProbe", "readinessProbe"}


def test_removing_last_probe_drops_the_type() -> None:
    old = merge_healthcheck({}, {"web": {"livenessProbe": HTTP}, "worker": {"livenessProbe": TCP}})
    assert list(merge_healthcheck(old, {"web": {"livenessProbe": None}})) == ["worker"]


def test_remove_all_probes_of_a_type() -> None:
    old = merge_healthcheck({}, {"web": {"livenessProbe": HTTP, "readinessProbe": TCP}})
    assert merge_healthcheck(old, {"web": None}) == {}


def test_result_does_not_share_nested_dicts_with_old() -> None:
    old: dict[str, dict[str, Any]] = merge_healthcheck({}, {"web": {"livenessProbe": HTTP}})
    new = merge_healthcheck(old, {"worker": {"livenessProbe": TCP}})
    new["web"]["livenessProbe"]["httpGet"]["path"] = "/changed"
    assert old["web"]["livenessProbe"]["httpGet"]["path"] == "/health"


def test_empty_change_for_a_type_changes_nothing() -> None:
    assert merge_healthcheck({}, {"web": {}}) == {}


@pytest.mark.parametrize(
    ("old", "changes"),
    [
        ({}, {"web": None}),
        ({}, {"web": {"livenessProbe": None}}),
        ({"web": {"readinessProbe": {"tcpSocket": {"port": 1}}}}, {"web": {"livenessProbe": None}}),
    ],
)
def test_removing_what_is_not_set(
    old: dict[str, dict[str, Any]], changes: dict[str, object]
) -> None:
    with pytest.raises(Invalid, match="web") as info:
        merge_healthcheck(old, changes)
    assert info.value.field == "healthcheck"


@pytest.mark.parametrize(
    "changes",
    [
        {"Web": {"livenessProbe": HTTP}},
        {"web": {"startupProbe": HTTP}},
        {"web": {"liveness": HTTP}},
        {"web": ["livenessProbe"]},
        {"web": "httpGet"},
        {"web": {"livenessProbe": {"httpGet": {"port": 0}}}},
        {"web": {"livenessProbe": {**HTTP, "successThreshold": 2}}},
        {"web": {"readinessProbe": {"bogus": 1, **TCP}}},
    ],
)
def test_invalid_healthchecks(changes: dict[str, object]) -> None:
    with pytest.raises(Invalid) as info:
        merge_healthcheck({}, changes)
    assert info.value.field == "healthcheck"


def test_probe_error_names_type_and_kind() -> None:
    with pytest.raises(Invalid) as info:
        merge_healthcheck({}, {"worker": {"readinessProbe": {"tcpSocket": {"port": 70000}}}})
    assert info.value.message.startswith("readinessProbe for worker: ")
    assert "65535" in info.value.message


def test_readiness_probe_may_have_success_threshold_above_one() -> None:
    result = merge_healthcheck({}, {"web": {"readinessProbe": {**TCP, "successThreshold": 3}}})
    assert result["web"]["readinessProbe"]["successThreshold"] == 3
