from __future__ import annotations

import pytest

from deis.domain.config import (
    cpu_millicores,
    limit_part,
    memory_bytes,
    merge_limits,
    request_part,
)
from deis.domain.errors import Invalid

MI = 1024**2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("512M", "512M"),
        ("512m", "512M"),
        ("1G", "1G"),
        ("1g", "1G"),
        ("256MB", "256MB"),
        ("256mb", "256MB"),
        ("1gb", "1GB"),
        ("8192K", "8192K"),
        ("8192kb", "8192KB"),
        ("10485760", "10485760"),
        ("10485760b", "10485760B"),
        ("128Mi", "128Mi"),
        ("1Gi", "1Gi"),
        ("65536Ki", "65536Ki"),
        ("256M/512M", "256M/512M"),
        ("256m/1g", "256M/1G"),
        ("512M/512M", "512M/512M"),
        ("128Mi/1G", "128Mi/1G"),
        (" 512M ", "512M"),
    ],
)
def test_memory_values(value: str, expected: str) -> None:
    assert merge_limits({}, {"web": value}, "memory") == {"web": expected}


@pytest.mark.parametrize(
    "value",
    [
        "0",
        "0M",
        "0/512M",
        "",
        "M",
        "512X",
        "512 M",
        "-512M",
        "1.5G",
        "512TB",
        "128mi",
        "128MiB",
        "512M/256M",
        "1G/512M",
        "256M/512M/1G",
        "/512M",
        "512M/",
        "1K",
        "512",
        True,
        1.5,
        ["512M"],
    ],
)
def test_invalid_memory_values(value: object) -> None:
    with pytest.raises(Invalid) as info:
        merge_limits({}, {"web": value}, "memory")
    assert info.value.field == "memory"


def test_memory_message_names_type_and_value() -> None:
    with pytest.raises(Invalid) as info:
        merge_limits({}, {"worker": "lots"}, "memory")
    assert "worker" in info.value.message and "lots" in info.value.message


def test_memory_request_above_limit_message() -> None:
    with pytest.raises(Invalid, match="must not be more than its limit"):
        merge_limits({}, {"web": "1G/512M"}, "memory")


def test_small_memory_request_is_fine_below_a_big_limit() -> None:
    assert merge_limits({}, {"web": "1M/512M"}, "memory") == {"web": "1M/512M"}


def test_memory_as_a_json_number_is_bytes() -> None:
    assert merge_limits({}, {"web": 64 * MI}, "memory") == {"web": str(64 * MI)}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("500m", "500m"),
        ("1", "1"),
        ("0.5", "0.5"),
        (".5", ".5"),
        ("2", "2"),
        ("0.001", "0.001"),
        ("1m", "1m"),
        ("250m/500m", "250m/500m"),
        ("0.25/1", "0.25/1"),
        ("500m/1", "500m/1"),
        (1, "1"),
        (0.5, "0.5"),
    ],
)
def test_cpu_values(value: object, expected: str) -> None:
    assert merge_limits({}, {"web": value}, "cpu") == {"web": expected}


@pytest.mark.parametrize(
    "value",
    [
        "0",
        "0m",
        "0.0",
        "-1",
        "500M",
        "500Mi",
        "1.5m",
        "0.0005",
        "1.",
        "abc",
        "",
        "500m/250m",
        "2/1",
        "1/2/3",
        "1e3",
        False,
        {"cpu": 1},
    ],
)
def test_invalid_cpu_values(value: object) -> None:
    with pytest.raises(Invalid) as info:
        merge_limits({}, {"web": value}, "cpu")
    assert info.value.field == "cpu"


def test_cpu_finer_than_millicore_message() -> None:
    with pytest.raises(Invalid, match="millicore"):
        merge_limits({}, {"web": "0.0001"}, "cpu")


def test_limits_merge_and_remove() -> None:
    old = {"web": "512M", "worker": "1G"}
    assert merge_limits(old, {"web": None, "clock": "64M"}, "memory") == {
        "worker": "1G",
        "clock": "64M",
    }
    assert old == {"web": "512M", "worker": "1G"}


def test_removing_an_unset_limit_is_refused() -> None:
    with pytest.raises(Invalid, match="web") as info:
        merge_limits({}, {"web": None}, "cpu")
    assert info.value.field == "cpu"


@pytest.mark.parametrize("kind", ["memory", "cpu"])
@pytest.mark.parametrize("proctype", ["Web", "web_1", "", "-web"])
def test_limit_keys_are_proctypes_with_the_kind_as_field(kind: str, proctype: str) -> None:
    with pytest.raises(Invalid) as info:
        merge_limits({}, {proctype: "1"}, kind)
    assert info.value.field == kind


def test_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        merge_limits({}, {"web": "1"}, "disk")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("512M", 512 * MI),
        ("512MB", 512 * MI),
        ("512m", 512 * MI),
        ("1G", 1024 * MI),
        ("1Gi", 1024 * MI),
        ("128Mi", 128 * MI),
        ("64Ki", 64 * 1024),
        ("2K", 2048),
        ("100", 100),
        ("100B", 100),
    ],
)
def test_memory_bytes(value: str, expected: int) -> None:
    assert memory_bytes(value) == expected


@pytest.mark.parametrize("value", ["", "512X", "256M/512M", "1.5G", "128mi"])
def test_memory_bytes_refuses_non_quantities(value: str) -> None:
    with pytest.raises(ValueError):
        memory_bytes(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("500m", 500), ("1", 1000), ("0.5", 500), (".25", 250), ("2", 2000), ("0.001", 1)],
)
def test_cpu_millicores(value: str, expected: int) -> None:
    assert cpu_millicores(value) == expected


@pytest.mark.parametrize("value", ["", "1.5m", "0.0001", "500M", "250m/500m", "x"])
def test_cpu_millicores_refuses_non_quantities(value: str) -> None:
    with pytest.raises(ValueError):
        cpu_millicores(value)


@pytest.mark.parametrize(
    ("value", "limit", "req"),
    [("256M/512M", "512M", "256M"), ("512M", "512M", "512M"), ("250m/1", "1", "250m")],
)
def test_pair_parts(value: str, limit: str, req: str) -> None:
    assert limit_part(value) == limit
    assert request_part(value) == req


def test_runtime_use_of_a_pair() -> None:
    stored = merge_limits({}, {"web": "256M/1G"}, "memory")["web"]
    assert memory_bytes(limit_part(stored)) == 1024 * MI
    assert memory_bytes(request_part(stored)) == 256 * MI


@pytest.mark.parametrize("value", ["", "  ", "/512M", "256M/"])
def test_empty_limit_parts(value: str) -> None:
    with pytest.raises(Invalid, match="empty"):
        merge_limits({}, {"web": value}, "memory")
