"""Per-app metrics from access-log lines (pure) and following the log file."""

from __future__ import annotations

import json
import os
from pathlib import Path

from deis.router.accesslog import LogFollower
from deis.router.metrics import MetricsTable


def line(app: str, status: int, seconds: float, at: float = 1000.0) -> str:
    return json.dumps(
        {"time": at, "app": app, "status": status, "request_time": seconds, "bytes": 100}
    )


def test_counts_status_classes_and_latency() -> None:
    m = MetricsTable()
    for i in range(98):
        m.add_line(line("web", 200, 0.010, at=1000 + i))
    m.add_line(line("web", 404, 0.002))
    m.add_line(line("web", 502, 2.0))
    m.add_line(line("other", 200, 0.5))
    m.add_line(line("", 404, 0.0))  # unknown host: nobody's
    m.add_line("not json")
    m.add_line('{"app": "web"}')
    snap = m.snapshot("web")
    assert snap["requests"] == 100
    assert snap["statuses"] == {"1xx": 0, "2xx": 98, "3xx": 0, "4xx": 1, "5xx": 1}
    assert snap["bytes_sent"] == 10_000
    lat = snap["latency_ms"]
    assert 9.5 <= lat["p50"] <= 10.5
    assert 9.5 <= lat["p90"] <= 10.5
    assert 9.5 <= lat["p99"] <= 10.5
    assert lat["max"] == 2000.0
    assert snap["first"] == 1000 and snap["last"] == 1097
    assert m.snapshot("other")["requests"] == 1
    assert m.snapshot("none")["requests"] == 0
    assert m.malformed == 2
    m.forget("web")
    assert m.snapshot("web")["requests"] == 0


def test_percentiles_of_a_spread() -> None:
    m = MetricsTable()
    for ms in range(1, 1001):
        m.add_line(line("web", 200, ms / 1000))
    lat = m.snapshot("web")["latency_ms"]
    assert abs(lat["p50"] - 500) <= 25
    assert abs(lat["p99"] - 990) <= 50
    assert abs(lat["mean"] - 500.5) < 0.01


def test_follower_reads_only_new_complete_lines_and_follows_rotation(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_text("old\n")
    f = LogFollower(path, from_end=True, drain_seconds=0)
    assert f.read() == []
    with path.open("a") as out:
        out.write("one\ntw")
    assert f.read() == ["one"]
    with path.open("a") as out:
        out.write("o\n")
    assert f.read() == ["two"]
    os.replace(path, tmp_path / "access.log.1")
    with (tmp_path / "access.log.1").open("a") as out:
        out.write("late\n")  # written before nginx reopened its log
    path.write_text("three\n")
    assert f.read() == ["late", "three"]
    with path.open("a") as out:
        out.write("four\n")
    assert f.read() == ["four"]
    path.write_text("")  # truncated
    with path.open("a") as out:
        out.write("five\n")
    assert f.read() == ["five"]
    f.close()


def test_follower_reads_what_a_rotated_file_got_last_when_it_rotates_again(
    tmp_path: Path,
) -> None:
    path, rotated = tmp_path / "access.log", tmp_path / "access.log.1"
    path.write_text("a\n")
    f = LogFollower(path)  # drains a rotated file for 10 s
    assert f.read() == ["a"]
    os.replace(path, rotated)
    path.write_text("b\n")
    assert f.read() == ["b"]
    with rotated.open("a") as out:
        out.write("late\n")  # nginx flushed its buffer into the file it had open
    with path.open("a") as out:
        out.write("c\n")
    os.replace(path, rotated)  # rotated again before the follower read
    path.write_text("d\n")
    assert sorted(f.read()) == ["c", "d", "late"]
    f.close()


def test_follower_waits_for_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    f = LogFollower(path)
    assert f.read() == []
    path.write_text("first\n")
    assert f.read() == ["first"]
    f.close()


def test_the_routers_own_format_takes_the_fast_path_with_the_same_result() -> None:
    fast, slow = MetricsTable(), MetricsTable()
    for i, (status, seconds) in enumerate([(200, 0.004), (201, 0.0), (503, 1.25), (404, 0.02)]):
        fast.add_line(
            f'{{"time":{1000 + i}.5,"app":"web","status":{status},"bytes":{10 * i},'
            f'"request_time":{seconds:.3f},"host":"web.localhost","method":"GET"}}'
        )
        slow.add_line(
            line("web", status, seconds, at=1000 + i + 0.5).replace(
                '"bytes": 100', f'"bytes": {10 * i}'
            )
        )
    fast.add_line('{"time":1.0,"app":"","status":404,"bytes":1,"request_time":0.000,"host":"x"}')
    assert fast.snapshot("web") == slow.snapshot("web")
    assert fast.snapshot("web")["statuses"] == {"1xx": 0, "2xx": 2, "3xx": 0, "4xx": 1, "5xx": 1}
    assert fast.apps.keys() == {"web"} and fast.malformed == 0
