"""Pure formatting: tables, key/value blocks, dates and the small helpers."""

from __future__ import annotations

from datetime import UTC, datetime

from deis.cli import output


def test_table_aligns_columns_and_never_pads_the_last() -> None:
    text = output.table([("v10", "2016-01-01", "alice deployed 1"), ("v9", "2015", "x")])
    assert text == "v10  2016-01-01  alice deployed 1\nv9   2015        x\n"


def test_table_with_headers_and_empty() -> None:
    assert output.table([], ("A", "B")) == "A  B\n"
    assert output.table([]) == ""


def test_pretty_tabs_sorts_keys_and_pads_past_the_longest() -> None:
    text = output.pretty_tabs({"LONGER": "1", "A": "two", "EMPTY": ""}, 2)
    assert text == "A       two\nEMPTY\nLONGER  1\n"


def test_values_that_are_not_strings_show_as_json() -> None:
    assert output.value_text(3) == "3"
    assert output.value_text(True) == "true"
    assert output.value_text({"a": 1}) == '{"a": 1}'
    assert output.value_text("plain") == "plain"


def test_limit_count_only_when_cut_short() -> None:
    assert output.limit_count(3, 3) == ""
    assert output.limit_count(100, 143) == " (100 of 143)"


def test_dates_from_rfc3339() -> None:
    assert output.short_date("2016-06-01T12:00:00Z") == "1 Jun 2016"
    assert output.short_date(None) == "unknown"
    assert output.short_date("not a date") == "unknown"
    assert output.parse_time("2016-06-01T12:00:00Z") == datetime(2016, 6, 1, 12, tzinfo=UTC)


def test_expiry_in_words() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    assert output.expires_text("2023-12-01T00:00:00Z", now) == "1 Dec 2023 (expired)"
    assert output.expires_text("2026-01-02T00:00:00Z", now) == "2 Jan 2026 (in 2 years)"
    assert output.expires_text("2024-03-15T00:00:00Z", now) == "15 Mar 2024 (in 2 months)"
    assert output.expires_text("2024-01-02T00:00:00Z", now) == "2 Jan 2024 (in 1 day)"
    assert output.expires_text(None, now) == "unknown"


def test_shortened_fingerprints_and_keys() -> None:
    assert output.short_fingerprint("AB:CD:EF:01:23:45:67") == "AB:CD[...]45:67"
    assert output.short_fingerprint("short") == "short"
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFaketailofkey0123"
    assert output.key_text(key) == "ssh-ed25519 AAAA...tailofkey0123"[:16] + "..." + key[-10:]


def test_json_is_stable() -> None:
    assert output.to_json({"b": 1, "a": [1]}) == '{\n  "a": [\n    1\n  ],\n  "b": 1\n}\n'


def test_emit_without_a_terminal_prints_plain_text(capsys) -> None:  # type: ignore[no-untyped-def]
    output.emit("=== app Config\nA  1\n")
    assert capsys.readouterr().out == "=== app Config\nA  1\n"
