from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from deis.domain.errors import Invalid
from deis.domain.records import Build, Config
from deis.domain.releases import (
    config_change_summary,
    deploy_summary,
    initial_summary,
    rollback_refusal,
    rollback_summary,
    rollback_target,
)

MakeConfig = Callable[..., Config]
PROBE = {"livenessProbe": {"tcpSocket": {"port": 5000}}}


def summary(make_config: MakeConfig, old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    return config_change_summary("alice", make_config(**old), make_config(**new))


def test_added(make_config: MakeConfig) -> None:
    assert summary(make_config, {}, {"values": {"FOO": "1"}}) == "alice added FOO"


def test_added_several_sorted(make_config: MakeConfig) -> None:
    text = summary(make_config, {}, {"values": {"FOO": "1", "BAR": "2"}})
    assert text == "alice added BAR, FOO"


def test_changed(make_config: MakeConfig) -> None:
    text = summary(make_config, {"values": {"FOO": "1"}}, {"values": {"FOO": "2"}})
    assert text == "alice changed FOO"


def test_removed(make_config: MakeConfig) -> None:
    text = summary(make_config, {"values": {"FOO": "1", "BAR": "2"}}, {"values": {"BAR": "2"}})
    assert text == "alice removed FOO"


def test_added_and_removed(make_config: MakeConfig) -> None:
    text = summary(make_config, {"values": {"BAR": "1"}}, {"values": {"FOO": "1"}})
    assert text == "alice added FOO and removed BAR"


def test_added_changed_and_removed(make_config: MakeConfig) -> None:
    old = {"values": {"A": "1", "B": "1", "C": "1"}}
    new = {"values": {"A": "2", "C": "1", "D": "1", "E": "1"}}
    assert summary(make_config, old, new) == "alice added D, E, changed A and removed B"


def test_limits_name_the_types(make_config: MakeConfig) -> None:
    old = {"memory": {"web": "512M"}, "cpu": {"worker": "1"}}
    new = {"memory": {"web": "1G"}, "cpu": {"worker": "1", "clock": "500m"}}
    assert summary(make_config, old, new) == "alice changed limits for clock, web"


def test_removed_limit(make_config: MakeConfig) -> None:
    text = summary(make_config, {"cpu": {"web": "1"}}, {})
    assert text == "alice changed limits for web"


def test_memory_and_cpu_of_one_type_named_once(make_config: MakeConfig) -> None:
    text = summary(make_config, {}, {"memory": {"web": "1G"}, "cpu": {"web": "1"}})
    assert text == "alice changed limits for web"


def test_tags(make_config: MakeConfig) -> None:
    text = summary(make_config, {"tags": {"zone": "a"}}, {"tags": {"disk": "ssd"}})
    assert text == "alice changed tags disk, zone"


def test_healthcheck(make_config: MakeConfig) -> None:
    text = summary(make_config, {}, {"healthcheck": {"web": PROBE}})
    assert text == "alice changed healthcheck for web"


def test_registry(make_config: MakeConfig) -> None:
    text = summary(make_config, {}, {"registry": {"username": "bob"}})
    assert text == "alice changed registry info"


def test_everything_at_once(make_config: MakeConfig) -> None:
    new = {
        "values": {"FOO": "1"},
        "memory": {"web": "1G"},
        "tags": {"disk": "ssd"},
        "healthcheck": {"web": PROBE},
        "registry": {"password": "x"},
    }
    assert summary(make_config, {}, new) == (
        "alice added FOO, changed limits for web, changed tags disk, "
        "changed healthcheck for web and changed registry info"
    )


def test_values_and_limits(make_config: MakeConfig) -> None:
    text = summary(make_config, {"values": {"X": "1"}}, {"memory": {"web": "1G"}})
    assert text == "alice removed X and changed limits for web"


def test_nothing_changed(make_config: MakeConfig) -> None:
    same = {"values": {"FOO": "1"}, "memory": {"web": "1G"}}
    assert summary(make_config, same, same) == "alice changed nothing"


def test_actor_is_used(make_config: MakeConfig) -> None:
    text = config_change_summary("bob", make_config(), make_config(values={"A": "1"}))
    assert text == "bob added A"


def test_deploy_summary_uses_short_sha(make_build: Callable[..., Build]) -> None:
    assert deploy_summary("alice", make_build()) == "alice deployed 060da68"


def test_deploy_summary_image(make_build: Callable[..., Build]) -> None:
    build = make_build(sha="", image="nginx:1.25")
    assert deploy_summary("alice", build) == "alice deployed nginx:1.25"


def test_initial_and_rollback_summaries() -> None:
    assert initial_summary("alice") == "alice created initial release"
    assert rollback_summary("alice", 2) == "alice rolled back to v2"


def every(version: int) -> bool:
    return True


def test_rollback_default_is_previous() -> None:
    assert rollback_target(5, None, every) == 4


def test_rollback_to_a_version() -> None:
    assert rollback_target(5, 2, every) == 2


def test_rollback_to_v1_if_it_exists() -> None:
    assert rollback_target(2, None, every) == 1
    assert rollback_target(5, 1, every) == 1
    with pytest.raises(Invalid, match="v1 does not exist"):
        rollback_target(5, 1, lambda v: v != 1)


def test_the_initial_release_and_releases_without_a_build_are_refused() -> None:
    assert rollback_refusal(1, False, True) == "Cannot roll back to initial release."
    assert rollback_refusal(1, False, False) == "Cannot roll back to initial release."
    assert "v2: it has no build" in str(rollback_refusal(2, False, True))
    assert rollback_refusal(2, False, False) is None  # config only, before any build
    assert rollback_refusal(2, True, True) is None


def test_rollback_from_the_first_release() -> None:
    with pytest.raises(Invalid, match="nothing to roll back to") as info:
        rollback_target(1, None, every)
    assert info.value.field == "version"


def test_rollback_to_current_is_refused() -> None:
    with pytest.raises(Invalid) as info:
        rollback_target(3, 3, every)
    assert info.value.errors == {"version": ["v3 is the current release."]}


@pytest.mark.parametrize("requested", [0, -1])
def test_rollback_below_one(requested: int) -> None:
    with pytest.raises(Invalid) as info:
        rollback_target(3, requested, every)
    assert info.value.field == "version"


def test_rollback_to_future_version() -> None:
    with pytest.raises(Invalid, match="v7 does not exist") as info:
        rollback_target(3, 7, every)
    assert info.value.field == "version"


def test_rollback_to_missing_version() -> None:
    asked: list[int] = []

    def exists(version: int) -> bool:
        asked.append(version)
        return version != 2

    with pytest.raises(Invalid, match="v2 does not exist"):
        rollback_target(3, None, exists)
    assert asked == [2]


@pytest.mark.parametrize("requested", [True, "2", 2.0])
def test_rollback_version_must_be_an_integer(requested: object) -> None:
    with pytest.raises(Invalid) as info:
        rollback_target(3, requested, every)  # type: ignore[arg-type]
    assert info.value.field == "version"
