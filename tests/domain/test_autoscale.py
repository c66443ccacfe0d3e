"""The autoscaler's decision, as a HorizontalPodAutoscaler makes it."""

from __future__ import annotations

import pytest

from deis.domain.autoscale import (
    Recommendation,
    Rule,
    cpu_request_millicores,
    decide,
    utilization,
)

RULE = Rule(min=1, max=5, cpu_percent=70)


def test_rule_from_settings() -> None:
    assert Rule.of({"min": 2, "max": 4, "cpu_percent": 50}) == Rule(2, 4, 50)


@pytest.mark.parametrize(
    ("cpu", "expected"),
    [({}, 1000), ({"web": "500m"}, 500), ({"web": "250m/1"}, 250), ({"web": "2"}, 2000),
     ({"web": "nonsense"}, 1000), ({"worker": "100m"}, 1000)],
)  # fmt: skip
def test_the_request_is_the_cpu_request_else_limit_else_one_core(
    cpu: dict[str, str], expected: int
) -> None:
    assert cpu_request_millicores(cpu, "web") == expected


def test_utilization_is_the_average_over_measured_replicas() -> None:
    assert utilization([1000, 500], 1000) == 75.0
    assert utilization([250], 500) == 50.0
    assert utilization([], 1000) is None


def test_scales_up_by_the_ratio_rounded_up() -> None:
    decision = decide(RULE, 1, [1400], 1000, (), now=0)
    assert decision.replicas == 2  # ceil(1 * 2.0)
    assert decision.changed and decision.reason == "cpu 140% of 70%"
    assert decide(RULE, 2, [1100, 1200], 1000, (), now=0).replicas == 4  # ceil(2 * 1.64)


def test_within_the_tolerance_nothing_changes() -> None:
    assert decide(RULE, 3, [750] * 3, 1000, (), now=0).replicas == 3  # 75/70 = 1.07
    assert decide(RULE, 3, [640] * 3, 1000, (), now=0).replicas == 3  # 64/70 = 0.91
    assert decide(RULE, 3, [800] * 3, 1000, (), now=0).replicas == 4  # 80/70 = 1.14


def test_clamped_to_min_and_max() -> None:
    assert decide(RULE, 4, [3000] * 4, 1000, (), now=0).replicas == 5
    assert decide(Rule(2, 5, 70), 2, [0, 0], 1000, (), now=0).replicas == 2


def test_out_of_bounds_counts_are_brought_within_without_a_measurement() -> None:
    below = decide(Rule(3, 5, 70), 1, [], 1000, (), now=0)
    assert below.replicas == 3 and below.reason == "min 3"
    above = decide(RULE, 8, [], 1000, (), now=0)
    assert above.replicas == 5 and above.reason == "max 5"


def test_no_measurement_or_zero_replicas_leaves_the_count() -> None:
    assert not decide(RULE, 2, [], 1000, (), now=0).changed
    assert decide(RULE, 0, [5000], 1000, (), now=0).replicas == 0


def test_scale_up_is_limited_per_step_like_the_hpa_default() -> None:
    wide = Rule(1, 100, 10)
    assert decide(wide, 1, [1000], 1000, (), now=0).replicas == 5  # max(2, 1 + 4)
    assert decide(wide, 10, [1000] * 10, 1000, (), now=0).replicas == 20  # max(20, 14)


def test_request_counts_a_limited_replica_against_its_own_share() -> None:
    # 250 millicores used of a 250m request is 100%, above 70%
    assert decide(RULE, 1, [250], 250, (), now=0).replicas == 2


def test_scale_down_waits_for_the_stabilization_window() -> None:
    first = decide(RULE, 1, [2000], 1000, (), now=0, window=60)
    assert first.replicas == 3  # ceil(1 * 2000/700) = 3
    history = first.history
    idle = decide(RULE, 3, [0, 0, 0], 1000, history, now=10, window=60)
    assert idle.replicas == 3  # the recommendation of 3 at t=0 is still in the window
    later = decide(RULE, 3, [0, 0, 0], 1000, idle.history, now=61, window=60)
    assert later.replicas == 1 and later.reason == "cpu 0% of 70%"


def test_scale_down_goes_to_the_highest_recent_recommendation() -> None:
    history = (Recommendation(0, 4), Recommendation(20, 2))
    decision = decide(RULE, 4, [100] * 4, 1000, history, now=30, window=25)
    assert decision.replicas == 2  # the 4 at t=0 left the window; 2 at t=20 is the highest
    assert [h.at for h in decision.history] == [20, 30]


def test_scale_up_is_at_once_whatever_the_history() -> None:
    history = (Recommendation(0, 1),)
    assert decide(RULE, 1, [1500], 1000, history, now=1).replicas == 3
