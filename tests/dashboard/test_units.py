"""The dashboard's pure parts: app states, traffic rates, sessions, redirects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest

from deis.dashboard import present, rates, sessions
from deis.dashboard.web import local_path
from deis.domain.desired import Pod
from deis.domain.records import Release

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def release(version: int = 3, *, build: str | None = "b", failed: bool = False) -> Release:
    return Release(
        uuid="u", app="a", owner="alice", version=version, build=build, config="c",
        summary="", failed=failed, created=NOW, updated=NOW,
    )  # fmt: skip


def pod(state: str = "up", version: int = 3, kind: str = "web") -> Pod:
    return Pod(name=f"{kind}.{state}", state=state, type=kind, release=f"v{version}", started=None)


@pytest.mark.parametrize(
    ("latest", "structure", "pods", "expected"),
    [
        (None, {}, [], "new"),
        (release(build=None), {"web": 1}, [], "new"),
        (release(failed=True), {"web": 1}, [pod()], "failed"),
        (release(), {"web": 1}, [pod()], "running"),
        (release(), {"web": 2}, [pod()], "deploying"),
        (release(), {"web": 1}, [pod(version=2)], "deploying"),
        (release(), {"web": 1}, [pod(), pod(version=2)], "deploying"),
        (release(), {"web": 1}, [pod("starting")], "deploying"),
        (release(), {"web": 2}, [pod(), pod("crashed")], "crashed"),
        (release(), {"web": 0}, [], "stopped"),
    ],
)
def test_live_state(
    latest: Release | None, structure: dict[str, int], pods: list[Pod], expected: str
) -> None:
    assert present.live_state(latest, structure, pods) == expected
    assert expected in present.STATES


def test_a_sleeping_app_is_asleep_not_deploying() -> None:
    assert present.live_state(release(), {"web": 1}, [], asleep=True) == "asleep"
    assert present.live_state(release(), {"web": 1}, []) == "deploying"
    assert "asleep" in present.STATES


def test_process_counts_put_web_first() -> None:
    assert present.process_counts({"worker": 1, "web": 2, "clock": 0}) == "web=2 clock=0 worker=1"
    assert present.process_counts({}) == "none"


def test_ago() -> None:
    assert present.ago(None, NOW) == "never"
    assert present.ago(NOW - timedelta(seconds=2), NOW) == "just now"
    assert present.ago(NOW - timedelta(seconds=42), NOW) == "42 s ago"
    assert present.ago(NOW - timedelta(minutes=5), NOW) == "5 min ago"
    assert present.ago(NOW - timedelta(hours=3), NOW) == "3 h ago"
    assert present.ago(NOW - timedelta(days=9), NOW) == "9 d ago"


def snapshot(requests: int, errors: int, first: float | None, last: float | None) -> dict:  # type: ignore[type-arg]
    return {"requests": requests, "statuses": {"5xx": errors}, "first": first, "last": last}


def test_traffic_since_the_last_look() -> None:
    previous = rates.Sample(at=100.0, requests=100, errors=1)
    seen = rates.traffic(previous, snapshot(300, 11, 0.0, 110.0), 110.0)
    assert seen == rates.Traffic(rps=20.0, error_rate=0.05, requests=300, recent=True)
    quiet = rates.traffic(previous, snapshot(100, 1, 0.0, 99.0), 110.0)
    assert quiet == rates.Traffic(rps=0.0, error_rate=0.01, requests=100, recent=True)


def test_traffic_falls_back_to_the_average() -> None:
    assert rates.traffic(None, snapshot(0, 0, None, None), 5.0) == rates.Traffic(
        0.0, None, 0, False
    )
    average = rates.traffic(None, snapshot(50, 5, 10.0, 20.0), 30.0)
    assert average == rates.Traffic(rps=5.0, error_rate=0.1, requests=50, recent=False)
    one_instant = rates.traffic(None, snapshot(3, 0, 10.0, 10.0), 30.0)
    assert one_instant.rps == 3.0 and one_instant.error_rate == 0.0
    # Too old a look, or a router that restarted and counts from zero again.
    stale = rates.Sample(at=0.0, requests=1, errors=0)
    assert rates.traffic(stale, snapshot(50, 5, 10.0, 20.0), 5000.0).recent is False
    restarted = rates.Sample(at=25.0, requests=500, errors=0)
    assert rates.traffic(restarted, snapshot(50, 5, 10.0, 20.0), 30.0).recent is False


def test_rate_meter_remembers_the_last_look_per_app() -> None:
    meter = rates.RateMeter()
    assert meter.observe("a", snapshot(10, 0, 0.0, 10.0), 10.0).recent is False
    assert meter.observe("a", snapshot(10, 0, 0.0, 10.0), 10.5).recent is False  # too soon
    later = meter.observe("a", snapshot(30, 2, 0.0, 20.0), 20.0)
    assert later.recent and later.rps == 2.0 and later.error_rate == 0.1


def test_sessions_are_sealed_and_expire() -> None:
    codec = sessions.SessionCodec(sessions.new_key())
    sealed = codec.seal("the-token")
    assert "the-token" not in sealed
    assert codec.open(sealed) == "the-token"
    assert codec.open(None) is None
    assert codec.open(sealed[:-2] + "xx") is None
    assert sessions.SessionCodec(sessions.new_key()).open(sealed) is None  # another key
    later = __import__("time").time() + sessions.SESSION_SECONDS + 60
    with mock.patch("time.time", return_value=later):
        assert codec.open(sealed) is None


def test_csrf_tokens_belong_to_one_session() -> None:
    codec = sessions.SessionCodec(sessions.new_key())
    token = codec.csrf_for("a")
    assert codec.csrf_matches("a", token)
    assert not codec.csrf_matches("b", token)
    assert not codec.csrf_matches("a", None)
    assert not codec.csrf_matches("a", "")
    assert sessions.nonce_matches("n", "n")
    assert not sessions.nonce_matches(None, "n") and not sessions.nonce_matches("", "")


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/apps/x", "/apps/x"),
        (None, "/"),
        ("", "/"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
    ],
)
def test_redirects_stay_local(target: str | None, expected: str) -> None:
    assert local_path(target) == expected
