"""The file log store: format, tail, retention, survival across instances, follow, removal."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from deis.logs.files import FileLogs


def test_platform_events_are_lines_with_time_and_source(tmp_path: Path) -> None:
    logs = FileLogs(tmp_path)
    logs.write("myapp", "controller", "alice deployed v3")
    line = logs.tail("myapp", 10)
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ deis\[controller\]: alice deployed v3\n", line
    )


def test_tail_gives_the_last_lines_oldest_first(tmp_path: Path) -> None:
    logs = FileLogs(tmp_path)
    logs.append("a", [f"line {n}" for n in range(50)])
    assert logs.tail("a", 3) == "line 47\nline 48\nline 49\n"
    assert logs.tail("unknown", 3) == ""


def test_retention_keeps_at_least_the_last_n_lines_and_bounds_the_files(tmp_path: Path) -> None:
    logs = FileLogs(tmp_path, retention=100)
    for n in range(1000):
        logs.append("busy", [f"line {n}"])
    assert logs.tail("busy", 100).splitlines() == [f"line {n}" for n in range(900, 1000)]
    kept = sum(len(p.read_text().splitlines()) for p in tmp_path.glob("busy.log*"))
    assert 100 <= kept <= 200


def test_logs_survive_a_new_instance(tmp_path: Path) -> None:
    FileLogs(tmp_path, retention=10).append("app", [f"l{n}" for n in range(15)])
    again = FileLogs(tmp_path, retention=10)
    again.append("app", ["after"])
    assert again.tail("app", 2) == "l14\nafter\n"


def test_follow_yields_the_backlog_then_new_lines(tmp_path: Path) -> None:
    logs = FileLogs(tmp_path)
    logs.append("f", ["old"])
    stream = logs.follow("f", 10, poll=0.01)
    assert next(stream) == "old\n"
    threading.Timer(0.05, logs.append, args=("f", ["new 1", "new 2"])).start()
    received = ""
    while "new 2" not in received:
        received += next(stream)
    assert received == "new 1\nnew 2\n"


def test_newlines_inside_a_message_never_forge_lines(tmp_path: Path) -> None:
    logs = FileLogs(tmp_path)
    logs.append("x", ["one\ntwo"])
    assert logs.tail("x", 5) == "one two\n"


def test_remove_deletes_the_apps_logs_only(tmp_path: Path) -> None:
    logs = FileLogs(tmp_path, retention=2)
    logs.append("gone", ["a", "b", "c"])
    logs.append("kept", ["k"])
    logs.remove("gone")
    assert logs.tail("gone", 10) == ""
    assert logs.tail("kept", 10) == "k\n"
    assert not list(tmp_path.glob("gone.log*"))


def test_tail_and_follow_keep_only_the_lines_asked_for(tmp_path: Path) -> None:
    logs = FileLogs(tmp_path)
    logs.append("a", ["1 a[web.1]: w1", "2 deis[x]: e", "3 a[worker.1]: k", "4 a[web.2]: w2"])
    keep = lambda line: "[web." in line  # noqa: E731
    assert logs.tail("a", 1, keep) == "4 a[web.2]: w2\n"
    assert logs.tail("a", 10, keep) == "1 a[web.1]: w1\n4 a[web.2]: w2\n"
    stream = logs.follow("a", 1, keep, poll=0.01)
    assert next(stream) == "4 a[web.2]: w2\n"
    logs.append("a", ["5 a[worker.1]: k", "6 a[web.1]: w3"])
    received = ""
    while "w3" not in received:
        received += next(stream)
    assert received == "6 a[web.1]: w3\n"


def test_a_follower_reads_what_was_written_just_before_the_segment_turned(
    tmp_path: Path,
) -> None:
    logs = FileLogs(tmp_path, retention=3)
    logs.append("r", ["a", "b"])
    stream = logs.follow("r", 1, poll=0.01)
    assert next(stream) == "b\n"
    logs.append("r", ["c"])  # 3 lines: the next append turns the segment
    logs.append("r", ["d"])
    received = ""
    while "d" not in received:
        received += next(stream)
    assert received == "c\nd\n"


def test_a_followers_backlog_is_read_in_small_pieces_and_lines_stay_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deis.logs import files

    monkeypatch.setattr(files, "FOLLOW_READ", 7)
    logs = FileLogs(tmp_path)
    logs.append("b", [f"line number {n}" for n in range(20)])
    stream = logs.follow("b", 3, poll=0.01)
    assert next(stream) == "line number 17\nline number 18\nline number 19\n"
    logs.append("b", ["after"])
    received = ""
    while "after" not in received:
        received += next(stream)
    assert received == "after\n"
