"""Starting, stopping and reporting, with stand-in processes instead of the real platform."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from deis.platform import control, server
from deis.platform.state import StateDir, StateError, lock_held, running_pid, write_pid
from deis.settings import Settings

Spawn = Callable[[list[str]], "subprocess.Popen[str]"]


def fake_server(state_dir: Path, code: str = "import time; time.sleep(60)") -> list[str]:
    """A process whose argument list looks like the platform server of `state_dir`."""
    return [sys.executable, "-c", code, "deis.platform.server", "--state-dir", str(state_dir)]


IGNORES_SIGTERM = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
    " print('ready', flush=True); time.sleep(60)"
)


def test_stop_stops_the_platform_of_this_state_dir(tmp_path: Path, spawned: Spawn) -> None:
    state = StateDir(tmp_path)
    proc = spawned(fake_server(tmp_path))
    write_pid(state, proc.pid)
    assert running_pid(state) == proc.pid
    assert control.stop(state, grace=5) == [f"Stopped the platform (pid {proc.pid})."]
    assert not state.pid_file.exists()
    assert running_pid(state) is None


def test_stop_kills_what_does_not_stop(tmp_path: Path, spawned: Spawn) -> None:
    state = StateDir(tmp_path)
    proc = spawned(fake_server(tmp_path, IGNORES_SIGTERM))
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    write_pid(state, proc.pid)
    lines = control.stop(state, grace=0.3)
    assert lines == [f"The platform (pid {proc.pid}) did not stop within 0.3 s: killed it."]


def test_stop_leaves_other_processes_alone(tmp_path: Path, spawned: Spawn) -> None:
    state = StateDir(tmp_path)
    other = spawned(fake_server(tmp_path / "another-instance"))
    write_pid(state, other.pid)  # a pid file pointing at a process that is not ours
    assert control.stop(state, grace=1)[0] == "The platform is not running."
    assert other.poll() is None


def test_stop_reports_and_purges_a_stale_pid_file(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    write_pid(state, 1 << 22)
    lines = control.stop(state)
    assert lines[0] == "The platform is not running."
    assert "stale pid file remains" in lines[1]
    assert state.pid_file.exists()
    (tmp_path / ".settings.json.123.tmp").write_text("")
    lines = control.stop(state, purge=True)
    assert lines[1:] == [
        f"Removed the stale pid file (pid {1 << 22}).",
        "Removed 1 temporary file(s).",
    ]
    assert not state.pid_file.exists()


def test_stop_without_a_state_dir(tmp_path: Path) -> None:
    assert "does not exist" in control.stop(StateDir(tmp_path / "nothing"))[0]


def test_status_of_a_stopped_platform(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    report = control.status(state, Settings(state_dir=tmp_path, api_port=8123))
    assert not report.running
    text = control.format_lines(report.lines)
    assert "Platform:     not running" in text
    assert "API:          http://127.0.0.1:8123\n" in text
    write_pid(state, 1 << 22)
    report = control.status(state, None, "settings.json is not valid JSON")
    assert report.stale_pid == 1 << 22
    assert ("Settings", "settings.json is not valid JSON") in report.lines


def test_status_of_a_running_platform(tmp_path: Path, spawned: Spawn) -> None:
    state = StateDir(tmp_path)
    proc = spawned(fake_server(tmp_path))
    write_pid(state, proc.pid)
    report = control.status(state, Settings(state_dir=tmp_path, api_port=1))
    assert report.running and report.pid == proc.pid and not report.healthy
    assert ("Platform", f"running (pid {proc.pid})") in report.lines


class FakeProc:
    def __init__(self, codes: list[int | None]) -> None:
        self.codes = codes

    def poll(self) -> int | None:
        return self.codes.pop(0) if len(self.codes) > 1 else self.codes[0]


def test_wait_until_up() -> None:
    answers = iter([False, False, True])
    proc = FakeProc([None])
    assert control.wait_until_up(proc, "u", 5, lambda _: next(answers)) == "up"
    assert control.wait_until_up(FakeProc([None, 1]), "u", 5, lambda _: False) == 1
    assert control.wait_until_up(FakeProc([None]), "u", 0.2, lambda _: False) == "timeout"
    # Someone else answered, but our server has exited meanwhile: not up.
    assert control.wait_until_up(FakeProc([None, 3]), "u", 5, lambda _: True) == 3


def test_failure_message_prefers_the_servers_own_reason(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    log = "noise\ndeis platform: port 8000 is already in use on 127.0.0.1\n"
    message = control.failure_message(log, 1, 30, state)
    assert message.startswith("the platform could not start: port 8000 is already in use")
    message = control.failure_message("Traceback...\nBoom", 1, 30, state)
    assert message.startswith("the platform exited with code 1 while starting.")
    assert message.endswith("Traceback...\nBoom")
    assert "did not answer within 30 s" in control.failure_message("", "timeout", 30, state)


def test_check_port_free(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(StateError, match=f"port {port} is already in use"):
            control.check_port_free(Settings(state_dir=tmp_path, api_port=port))


def test_listen_problems() -> None:
    with pytest.raises(server.StartError, match="not an address of this machine"):
        server.listen("no-such-host.invalid", 8000)
    with pytest.raises(server.StartError, match="no such address"):
        server.listen("192.0.2.1", 8000)  # TEST-NET-1: never an address of this machine
    sock = server.listen("127.0.0.1", 0)
    sock.close()


def test_the_server_reports_start_up_problems_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("")
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    umask = os.umask(0o022)
    try:
        assert server.main(["--state-dir", str(tmp_path / "file" / "state")]) == 1
    finally:
        os.umask(umask)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    err = capsys.readouterr().err
    assert err.startswith("deis platform: cannot use ")
    assert err.count("\n") == 1


def test_the_server_refuses_a_second_instance(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    with server.instance_lock(state), pytest.raises(server.StartError, match="already runs"):
        with server.instance_lock(state):
            pass


def test_a_platform_started_with_another_spelling_of_its_path_is_recognised(
    tmp_path: Path, spawned: Spawn
) -> None:
    state = StateDir(tmp_path)
    proc = spawned(fake_server(tmp_path / "." / "sub" / ".."))
    write_pid(state, proc.pid)
    assert running_pid(state) is None
    assert not lock_held(state)
    with server.instance_lock(state):  # what the real server holds while it runs
        assert lock_held(state)
        assert running_pid(state) == proc.pid
    assert not lock_held(state)
