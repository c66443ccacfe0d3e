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


def router_line(at: float, app: str, status: int, sent: int, seconds: float) -> str:
    """A line as the router's log_format writes it (templates/nginx.conf.j2)."""
    return (
        f'{{"time":{at:.3f},"app":"{app}","status":{status},"bytes":{sent},'
        f'"request_time":{seconds:.3f},"host":"{app}.localhost","method":"GET",'
        f'"upstream_time":"0.001","upstream":"127.0.0.1:4000","request_id":"r{at}",'
        '"remote":"127.0.0.1"}'
    )


def test_a_chunk_counts_exactly_what_its_lines_count_one_by_one() -> None:
    lines = []
    for i in range(600):
        app = ("web", "api", "", "web")[i % 4]  # "": the controller or an unknown host
        status = (200, 200, 301, 404, 500, 101)[i % 6]
        # the times are not in order: each nginx worker flushes its own buffer
        at = 1_764_255_000.0 + ((i * 37) % 600) / 1000
        lines.append(router_line(at, app, status, 100 + i % 7, (i % 13) / 1000))
    one_by_one, chunked = MetricsTable(), MetricsTable()
    for text in lines:
        one_by_one.add_line(text)
    data = "".join(text + "\n" for text in lines).encode()
    chunked.add_chunk(data[:5000])
    chunked.add_chunk(data[5000:].partition(b"\n")[0] + b"\n")  # a line whole at last
    chunked.add_chunk(data[5000:].partition(b"\n")[2])
    chunked.add_chunk(b"")
    for app in ("web", "api"):
        assert chunked.snapshot(app) == one_by_one.snapshot(app)
    assert chunked.apps.keys() == {"web", "api"}
    web = chunked.snapshot("web")
    assert web["requests"] == 300
    assert web["first"] == 1_764_255_000.0 and web["last"] == 1_764_255_000.599


def test_a_chunk_of_one_app_has_its_first_and_last_times_whatever_their_order() -> None:
    table = MetricsTable()
    times = [1_764_255_000.5, 1_764_255_000.1, 1_764_255_000.9, 1_764_255_000.3]
    table.add_chunk("".join(router_line(t, "web", 200, 1, 0.002) + "\n" for t in times).encode())
    snap = table.snapshot("web")
    assert (snap["first"], snap["last"], snap["requests"]) == (times[1], times[2], 4)
    assert snap["latency_ms"]["max"] == 2.0 and snap["bytes_sent"] == 4


def test_a_chunk_with_another_format_or_a_bad_line_is_read_line_by_line() -> None:
    table = MetricsTable()
    data = "\n".join(
        [router_line(1000.0, "web", 200, 10, 0.001), line("web", 503, 0.5), "", "not json"]
    )
    table.add_chunk((data + "\n").encode())
    snap = table.snapshot("web")
    assert snap["requests"] == 2
    assert snap["statuses"]["5xx"] == 1 and snap["statuses"]["2xx"] == 1
    assert table.malformed == 1


def test_follower_gives_complete_lines_as_bytes(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_bytes(b"one\ntw")
    f = LogFollower(path)
    assert f.read_data() == b"one\n"
    with path.open("ab") as out:
        out.write(b"o\n\nthree\n")
    assert f.read_data() == b"two\n\nthree\n"
    assert f.read_data() == b""
    f.close()
