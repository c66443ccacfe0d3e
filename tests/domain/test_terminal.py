"""Interactive runs: the client's messages and the session's limits."""

from __future__ import annotations

import pytest

from deis.domain.errors import Invalid
from deis.domain.terminal import Opening, Watch, opening, resize


def test_an_opening_with_and_without_term() -> None:
    assert opening({"command": "bash", "size": [120, 40]}) == Opening("bash", 120, 40, "xterm")
    assert opening({"command": "sh", "size": [1, 1], "term": "xterm-256color"}).term == (
        "xterm-256color"
    )


@pytest.mark.parametrize(
    "message",
    [None, "bash", {"command": "bash"}, {"command": "", "size": [80, 24]},
     {"command": "bash", "size": [80, 24, 1]}, {"command": "bash", "size": ["80", 24]},
     {"command": "bash", "size": [80, 10_001]}, {"command": "bash", "size": [80, 24], "term": ""}],
)  # fmt: skip
def test_bad_openings_are_invalid(message: object) -> None:
    with pytest.raises(Invalid):
        opening(message)


def test_the_only_control_message_is_a_resize() -> None:
    assert resize({"resize": [100, 30]}) == (100, 30)
    for bad in ({"resize": [100, 30], "x": 1}, {"signal": "INT"}, [100, 30], {"resize": [0, 1]}):
        with pytest.raises(Invalid):
            resize(bad)


def test_the_idle_limit_counts_from_the_last_byte_and_the_time_limit_from_the_start() -> None:
    watch = Watch(time_limit=100, idle_limit=10, started=1000)
    assert watch.expired(1009) is None and watch.remaining(1009) == 1
    assert watch.expired(1010) == "idle"
    watch.touch(1009)
    assert watch.expired(1015) is None and watch.remaining(1015) == 4
    for now in range(1010, 1100, 5):
        watch.touch(now)
    assert watch.expired(1099) is None and watch.expired(1100) == "time"
    assert watch.remaining(1098) == 2
    assert watch.message("idle") == "(stopped: no input or output for 10 seconds)"
    assert watch.message("time") == "(stopped after 100 seconds)"
