from __future__ import annotations

import pytest

from deis.domain.errors import Invalid
from deis.domain.procfile import parse_procfile, validate_procfile


def test_parse_simple() -> None:
    text = "web: gunicorn app:app --bind 0.0.0.0:$PORT\nworker: python worker.py\n"
    assert parse_procfile(text) == {
        "web": "gunicorn app:app --bind 0.0.0.0:$PORT",
        "worker": "python worker.py",
    }


def test_parse_skips_blank_lines_and_comments() -> None:
    text = "# a comment\n\n   \nweb: ./run\n  # indented comment\nclock:   ruby clock.rb  \n"
    assert parse_procfile(text) == {"web": "./run", "clock": "ruby clock.rb"}


def test_parse_keeps_order() -> None:
    assert list(parse_procfile("worker: a\nweb: b\n")) == ["worker", "web"]


def test_parse_handles_crlf_and_bom() -> None:
    assert parse_procfile("\ufeffweb: run\r\nworker: go\r\n") == {"web": "run", "worker": "go"}


def test_parse_without_space_after_colon() -> None:
    assert parse_procfile("web:run") == {"web": "run"}


def test_parse_space_before_colon() -> None:
    assert parse_procfile("web : run") == {"web": "run"}


def test_parse_empty() -> None:
    assert parse_procfile("") == {}
    assert parse_procfile("# only comments\n") == {}


def test_command_keeps_colons_and_hashes() -> None:
    assert parse_procfile("web: echo 'a: b' # not a comment") == {
        "web": "echo 'a: b' # not a comment"
    }


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("web run", 1),
        ("web: run\nworker", 2),
        ("web:", 1),
        ("web:   ", 1),
        ("# c\n\n: run", 3),
        ("web: a\nweb 2: b", 2),
    ],
)
def test_unparsable_lines_are_named(text: str, line: int) -> None:
    with pytest.raises(Invalid) as info:
        parse_procfile(text)
    assert info.value.field == "procfile"
    assert f"Line {line} " in info.value.message


@pytest.mark.parametrize("text", ["Web: run", "web_1: run", "web-: run"])
def test_invalid_proctype_named_with_line(text: str) -> None:
    with pytest.raises(Invalid) as info:
        parse_procfile("# head\n" + text)
    assert info.value.field == "procfile"
    assert info.value.message.startswith("Line 2 of the Procfile: ")


def test_duplicate_types_refused() -> None:
    with pytest.raises(Invalid, match="Line 3 of the Procfile repeats the process type web"):
        parse_procfile("web: a\nworker: b\nweb: c\n")


def test_parse_requires_text() -> None:
    with pytest.raises(Invalid) as info:
        parse_procfile(None)  # type: ignore[arg-type]
    assert info.value.field == "procfile"


def test_validate_dict() -> None:
    assert validate_procfile({"web": " node server.js ", "worker": "node w.js"}) == {
        "web": "node server.js",
        "worker": "node w.js",
    }


def test_validate_empty_dict() -> None:
    assert validate_procfile({}) == {}


def test_validate_text_is_parsed() -> None:
    assert validate_procfile("web: run\n") == {"web": "run"}


@pytest.mark.parametrize(
    "value",
    [
        None,
        ["web: run"],
        5,
        {"Web": "run"},
        {"web": ""},
        {"web": "   "},
        {"web": 5},
        {"web": ["run"]},
        {"web": None},
        {"web": "a\0b"},
        {1: "run"},
    ],
)
def test_validate_invalid(value: object) -> None:
    with pytest.raises(Invalid) as info:
        validate_procfile(value)
    assert info.value.field == "procfile"
