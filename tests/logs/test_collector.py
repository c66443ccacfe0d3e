"""The collector of replicas' output: k8s-file lines become the app's log lines."""

from __future__ import annotations

from pathlib import Path

from deis.logs.collector import CollectingLogs, Collector, parse_k8s_file, replica_label
from deis.logs.files import FileLogs


def k8s(text: str, tag: str = "F", stream: str = "stdout") -> str:
    return f"2026-11-27T08:00:00.123456789+00:00 {stream} {tag} {text}\n"


def test_replica_labels_read_like_deis_ps() -> None:
    assert replica_label("myapp", "myapp-web-1234567890-abcde") == "web.1234567890-abcde"
    assert replica_label("my-app", "my-app-worker-0000000001-zz9zz") == "worker.0000000001-zz9zz"


def test_k8s_file_lines_are_parsed() -> None:
    when, whole, text = parse_k8s_file(k8s("GET / 200").rstrip("\n"))
    assert when is not None and when.year == 2026 and whole and text == "GET / 200"
    assert parse_k8s_file(k8s("part", "P").rstrip("\n"))[1] is False


def make(tmp_path: Path) -> tuple[Collector, FileLogs, Path]:
    logs = FileLogs(tmp_path / "apps")
    containers = tmp_path / "containers"
    (containers / "myapp").mkdir(parents=True)
    return (
        Collector(containers, logs),
        logs,
        containers / "myapp" / "myapp-web-1234567890-abcde.log",
    )


def test_new_lines_are_appended_once_with_time_and_replica(tmp_path: Path) -> None:
    collector, logs, path = make(tmp_path)
    path.write_text(k8s("hello") + k8s("GET / 200", stream="stderr"))
    assert collector.pass_once() == 2
    assert collector.pass_once() == 0
    assert logs.tail("myapp", 10) == (
        "2026-11-27T08:00:00Z myapp[web.1234567890-abcde]: hello\n"
        "2026-11-27T08:00:00Z myapp[web.1234567890-abcde]: GET / 200\n"
    )


def test_partial_lines_are_joined_and_half_written_lines_wait(tmp_path: Path) -> None:
    collector, logs, path = make(tmp_path)
    path.write_text(
        k8s("very long ", "P") + k8s("line") + "2026-11-27T08:00:01.0+00:00 stdout F unfin"
    )
    collector.pass_once()
    assert logs.tail("myapp", 10).endswith("]: very long line\n")
    with open(path, "a") as out:
        out.write("ished\n")
    collector.pass_once()
    assert logs.tail("myapp", 1).endswith("]: unfinished\n")


def test_cursors_survive_a_restart_so_nothing_is_collected_twice(tmp_path: Path) -> None:
    collector, logs, path = make(tmp_path)
    path.write_text(k8s("one"))
    collector.pass_once()
    collector.save()
    again = Collector(collector.container_logs, logs)
    again.load()
    with open(path, "a") as out:
        out.write(k8s("two"))
    assert again.pass_once() == 1
    assert [line.rsplit(": ", 1)[1] for line in logs.tail("myapp", 10).splitlines()] == [
        "one",
        "two",
    ]


def test_a_file_cut_in_place_is_read_from_its_start_and_says_so(tmp_path: Path) -> None:
    collector, logs, path = make(tmp_path)
    path.write_text(k8s("a" * 100))
    collector.pass_once()
    path.write_text(k8s("after rotation"))
    collector.pass_once()
    tail = logs.tail("myapp", 2)
    assert "log file was cut" in tail and tail.endswith("]: after rotation\n")


def rotate_like_conmon(path: Path, text: str) -> None:
    """conmon's rotation at log_size_max: a new file renamed over the old one."""
    fresh = path.with_name(path.name + ".tmp")
    fresh.write_text(text)
    fresh.rename(path)


def test_lines_written_just_before_a_rotation_are_not_lost(tmp_path: Path) -> None:
    collector, logs, path = make(tmp_path)
    path.write_text(k8s("one"))
    collector.pass_once()
    with open(path, "a") as out:
        out.write(k8s("two"))  # never read from this name: conmon rotates right after
    rotate_like_conmon(path, k8s("three"))
    assert collector.pass_once() == 2
    assert [line.rsplit(": ", 1)[1] for line in logs.tail("myapp", 10).splitlines()] == [
        "one",
        "two",
        "three",
    ]


def numbered(start: int, count: int) -> str:
    return "".join(k8s(f"line {n} " + "x" * 40) for n in range(start, start + count))


def test_a_backlog_past_the_limit_is_dropped_and_counted_exactly(tmp_path: Path) -> None:
    logs = FileLogs(tmp_path / "apps")
    containers = tmp_path / "containers"
    (containers / "myapp").mkdir(parents=True)
    path = containers / "myapp" / "myapp-web-1234567890-abcde.log"
    collector = Collector(containers, logs, max_read=4096, drop_behind=16384)
    path.write_text(numbered(0, 1))
    collected = collector.pass_once()
    with open(path, "a") as out:
        out.write(numbered(1, 999))
    rotate_like_conmon(path, numbered(1000, 500) + k8s("long ", "P") + k8s("line"))
    collected += collector.pass_once()
    with open(path, "a") as out:
        out.write(numbered(1501, 10))
    collected += collector.pass_once()
    tail = logs.tail("myapp", 10_000).splitlines()
    dropped = [line for line in tail if "deis[logs]: dropped" in line]
    assert len(dropped) == 1
    count = int(dropped[0].split("dropped ")[1].split()[0])
    assert "from web.1234567890-abcde" in dropped[0]
    kept = [line for line in tail if "myapp[web." in line]
    assert collected == len(kept) + 1  # and the line saying what was dropped
    assert len(kept) + count == 1511  # 1510 numbered lines and one made of two records
    assert kept[-10:] == [
        f"2026-11-27T08:00:00Z myapp[web.1234567890-abcde]: line {n} " + "x" * 40
        for n in range(1501, 1511)
    ]


def test_memory_stays_bounded_however_large_the_backlog(tmp_path: Path) -> None:
    import tracemalloc

    logs = FileLogs(tmp_path / "apps")
    containers = tmp_path / "containers"
    (containers / "myapp").mkdir(parents=True)
    path = containers / "myapp" / "myapp-web-1234567890-abcde.log"
    with open(path, "w") as out:
        for start in range(0, 400_000, 10_000):
            out.write(numbered(start, 10_000))  # about 35 MB waiting
    collector = Collector(containers, logs, max_read=1 << 20, drop_behind=8 << 20)
    tracemalloc.start()
    try:
        collector.pass_once()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, peak
    tail = logs.tail("myapp", 100_000).splitlines()
    count = int(tail[-1].split("deis[logs]: dropped ")[1].split()[0])
    assert sum("myapp[web." in line for line in tail) + count == 400_000


def test_destroying_the_app_removes_its_replica_files(tmp_path: Path) -> None:
    logs = CollectingLogs(tmp_path / "apps", 100, tmp_path / "containers")
    (tmp_path / "containers" / "gone").mkdir(parents=True)
    (tmp_path / "containers" / "gone" / "gone-web-1234567890-abcde.log").write_text(k8s("x"))
    logs.remove("gone")
    assert not (tmp_path / "containers" / "gone").exists()
