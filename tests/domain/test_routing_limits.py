"""The router's config keys: checked when set, read into the app's route limits."""

from __future__ import annotations

import pytest

from deis.domain.config import merge_values
from deis.domain.errors import Invalid
from deis.domain.routing import RouteLimits, route_limits, size_bytes


@pytest.mark.parametrize(
    ("text", "expected"),
    [("4096", 4096), ("512k", 512 * 1024), ("10M", 10 * 1024**2), ("1g", 1024**3)],
)
def test_sizes(text: str, expected: int) -> None:
    assert size_bytes(text) == expected


def test_route_limits_from_config_values() -> None:
    values = {
        "DEIS_ROUTER_BODY_SIZE": "20m",
        "DEIS_ROUTER_CONNECT_TIMEOUT": "3",
        "DEIS_ROUTER_READ_TIMEOUT": "300s",
        "DEIS_ROUTER_SEND_TIMEOUT": "30",
        "OTHER": "x",
    }
    assert route_limits(values) == RouteLimits(20 * 1024**2, 3, 300, 30)
    assert route_limits({}) == RouteLimits()
    # a value set before the checks existed is left out: the platform's default applies
    assert route_limits({"DEIS_ROUTER_BODY_SIZE": "lots"}) == RouteLimits()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("DEIS_ROUTER_BODY_SIZE", "1.5m"),
        ("DEIS_ROUTER_BODY_SIZE", "0"),
        ("DEIS_ROUTER_BODY_SIZE", "1t"),
        ("DEIS_ROUTER_CONNECT_TIMEOUT", "76"),
        ("DEIS_ROUTER_READ_TIMEOUT", "0"),
        ("DEIS_ROUTER_READ_TIMEOUT", "86401"),
        ("DEIS_ROUTER_SEND_TIMEOUT", "ten"),
    ],
)
def test_bad_values_are_refused_when_set(key: str, value: str) -> None:
    with pytest.raises(Invalid) as info:
        merge_values({}, {key: value})
    assert key in info.value.message and info.value.field == "values"


def test_good_values_are_kept_as_written() -> None:
    assert merge_values({}, {"DEIS_ROUTER_READ_TIMEOUT": 120}) == {
        "DEIS_ROUTER_READ_TIMEOUT": "120"
    }
