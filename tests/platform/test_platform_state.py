"""The pure parts of the state directory: saved settings, addresses, pid files, keys."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from deis.platform import state as st
from deis.settings import Settings


def test_saved_settings_never_hold_the_state_dir(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, api_port=9001, domain="example.test")
    data = st.settings_to_json(settings)
    assert "state_dir" not in data
    assert data["api_port"] == 9001
    assert data["domain"] == "example.test"
    assert json.loads(json.dumps(data)) == data


def test_saved_settings_round_trip(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, api_port=9001, database_url="postgresql://u:p@h/d")
    values = st.settings_from_json(json.loads(json.dumps(st.settings_to_json(settings))))
    assert Settings(state_dir=tmp_path, **values) == settings


def test_saved_settings_ignore_unknown_keys() -> None:
    assert st.settings_from_json({"api_port": 1234, "from_the_future": 1}) == {"api_port": 1234}


@pytest.mark.parametrize(
    "data",
    [
        {"api_port": "8000"},
        {"api_port": True},
        {"bind": 127},
        [],
        "text",
    ],
)
def test_saved_settings_refuse_wrong_types(data: object) -> None:
    with pytest.raises(st.StateError):
        st.settings_from_json(data)


def test_flags_win_over_saved_settings_which_win_over_the_environment(tmp_path: Path) -> None:
    env = {"DEIS_API_PORT": "7000", "DEIS_DOMAIN": "env.test", "DEIS_BIND": "0.0.0.0"}
    saved = {"api_port": 7100, "domain": "saved.test"}
    flags = {"api_port": 7200, "domain": None}
    settings = st.effective_settings(tmp_path, saved, flags, env)
    assert settings.api_port == 7200
    assert settings.domain == "saved.test"
    assert settings.bind == "0.0.0.0"
    assert settings.state_dir == tmp_path


def test_effective_settings_explain_bad_values(tmp_path: Path) -> None:
    with pytest.raises(st.StateError, match="registration mode"):
        st.effective_settings(tmp_path, {}, {"registration_mode": "sometimes"}, {})
    with pytest.raises(st.StateError, match="DEIS_API_PORT"):
        st.effective_settings(tmp_path, {}, {}, {"DEIS_API_PORT": "eighty"})
    with pytest.raises(st.StateError, match="PostgreSQL or SQLite"):
        st.effective_settings(tmp_path, {}, {"database_url": "mysql://x@h/d"}, {})


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("", True),
        ("sqlite:////tmp/x.db", True),
        ("postgresql://deis:deis@127.0.0.1:5432/deis", True),
        ("postgres://deis@localhost/deis", True),
        ("postgresql+psycopg://deis@localhost/deis", True),
        ("not a url", False),
        ("mysql://root@localhost/deis", False),
    ],
)
def test_database_url_problem(url: str, ok: bool) -> None:
    assert (st.database_url_problem(url) is None) is ok


def test_describe_database_hides_the_password() -> None:
    shown = st.describe_database("postgresql://deis:s3cret@db:5432/deis")
    assert "s3cret" not in shown
    assert shown == "postgresql://deis:***@db:5432/deis"


@pytest.mark.parametrize(
    ("bind", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8123/healthz"),
        ("0.0.0.0", "http://127.0.0.1:8123/healthz"),
        ("::", "http://[::1]:8123/healthz"),
        ("10.1.2.3", "http://10.1.2.3:8123/healthz"),
    ],
)
def test_health_url(bind: str, url: str, tmp_path: Path) -> None:
    assert st.health_url(Settings(state_dir=tmp_path, bind=bind, api_port=8123)) == url


def test_server_command_is_an_argument_list_its_owner_recognises(tmp_path: Path) -> None:
    command = st.server_command("/usr/bin/python3", tmp_path)
    assert command == [
        "/usr/bin/python3",
        "-m",
        "deis.platform.server",
        "--state-dir",
        str(tmp_path),
    ]
    assert st.is_server_cmdline(command, tmp_path)
    assert not st.is_server_cmdline(command, tmp_path / "other")
    assert not st.is_server_cmdline(["/usr/bin/python3", "-m", "http.server"], tmp_path)
    assert not st.is_server_cmdline(["python", "-m", "deis.platform.server"], tmp_path)


@pytest.mark.parametrize(
    ("text", "pid"), [("1234\n", 1234), ("", None), ("abc", None), ("-5", None), ("1", None)]
)
def test_parse_pid(text: str, pid: int | None) -> None:
    assert st.parse_pid(text) == pid


def test_tail() -> None:
    assert st.tail("a\nb\nc\n", 2) == "b\nc"
    assert st.tail("", 3) == ""


def test_one_line() -> None:
    assert st.one_line(ValueError("first\nsecond")) == "first"
    assert st.one_line(ValueError()) == "ValueError"


def test_save_settings_writes_a_private_file(tmp_path: Path) -> None:
    state = st.StateDir(tmp_path)
    st.save_settings(state, Settings(state_dir=tmp_path, database_url="postgresql://u:pw@h/d"))
    assert stat.S_IMODE(state.settings_file.stat().st_mode) == 0o600
    assert st.read_saved_settings(state)["database_url"] == "postgresql://u:pw@h/d"
    assert not list(tmp_path.glob(".*.tmp"))


def test_read_saved_settings(tmp_path: Path) -> None:
    state = st.StateDir(tmp_path)
    assert st.read_saved_settings(state) == {}
    state.settings_file.write_text("{not json")
    with pytest.raises(st.StateError, match="not valid JSON"):
        st.read_saved_settings(state)


def test_load_settings_reads_the_state_dir(tmp_path: Path) -> None:
    state = st.StateDir(tmp_path)
    st.save_settings(state, Settings(state_dir=Path("/elsewhere"), api_port=9123))
    settings = st.load_settings(tmp_path, {"bind": "0.0.0.0"}, env={})
    assert settings.state_dir == tmp_path.resolve()
    assert settings.api_port == 9123
    assert settings.bind == "0.0.0.0"


def test_prepare_state_dir_makes_a_private_directory(tmp_path: Path) -> None:
    state = st.StateDir(tmp_path / "a" / "state")
    st.prepare_state_dir(state)
    assert stat.S_IMODE(state.root.stat().st_mode) == 0o700
    assert state.logs_dir.is_dir()


def test_prepare_state_dir_says_why_it_cannot(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(st.StateError, match="cannot use .* as the state directory"):
        st.prepare_state_dir(st.StateDir(tmp_path / "file" / "state"))


def test_builder_key_is_made_once_and_private(tmp_path: Path) -> None:
    state = st.StateDir(tmp_path)
    key = st.ensure_builder_key(state, Settings(state_dir=tmp_path))
    assert len(key) >= 32
    assert stat.S_IMODE(state.builder_key_file.stat().st_mode) == 0o600
    assert st.ensure_builder_key(state, Settings(state_dir=tmp_path)) == key


def test_builder_key_from_settings_wins(tmp_path: Path) -> None:
    state = st.StateDir(tmp_path)
    assert st.ensure_builder_key(state, Settings(state_dir=tmp_path, builder_key="k")) == "k"
    assert not state.builder_key_file.exists()


def test_running_pid_checks_the_process_not_just_the_file(tmp_path: Path) -> None:
    state = st.StateDir(tmp_path)
    assert st.running_pid(state) is None
    st.write_pid(state, 1 << 22)  # above the usual pid_max: no such process
    assert st.running_pid(state) is None
    import os

    st.write_pid(state, os.getpid())  # alive, but not a platform server
    assert st.running_pid(state) is None
    assert st.read_pid(state) == os.getpid()


def test_read_log_tail(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    assert st.read_log_tail(log) == ""
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert st.read_log_tail(log, 2) == "line 98\nline 99"
