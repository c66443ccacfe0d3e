"""Which plan an add-on may move to (`deis addons:upgrade`): pure rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from deis.domain.addons import Addon, new_plan
from deis.domain.errors import Invalid

NOW = datetime(2026, 12, 6, tzinfo=UTC)


def addon(service: str = "postgres", plan: str = "mini") -> Addon:
    return Addon(f"{service}-calm-1234", service, plan, "shop", "alice", "pw", 25000, NOW, NOW)


def test_a_bigger_plan_of_its_service() -> None:
    assert new_plan(addon(), "standard").memory_mb == 512
    assert new_plan(addon("redis", "standard"), " large ").name == "large"


@pytest.mark.parametrize(
    ("plan", "said"),
    [
        ("mini", "is on mini already"),
        ("huge", "has no plan 'huge'"),
        ("", "Give a plan"),
        (None, "Give a plan"),
        (3, "Give a plan"),
    ],
)
def test_refused_with_the_field(plan: object, said: str) -> None:
    with pytest.raises(Invalid, match=said) as refused:
        new_plan(addon(), plan)
    assert refused.value.field == "plan"


def test_a_disk_never_shrinks() -> None:
    with pytest.raises(Invalid, match=r"mini's disk \(1 GB\) is smaller than .* \(10 GB\)"):
        new_plan(addon(plan="standard"), "mini")
