from __future__ import annotations

import pytest

from deis.domain.config import MAX_VALUE_BYTES, merge_values
from deis.domain.errors import Invalid


def test_adds_and_changes_values() -> None:
    old = {"FOO": "1", "BAR": "x"}
    assert merge_values(old, {"FOO": "2", "NEW": "y"}) == {"FOO": "2", "BAR": "x", "NEW": "y"}


def test_returns_a_new_dict_and_leaves_old_alone() -> None:
    old = {"FOO": "1"}
    new = merge_values(old, {})
    assert new == old and new is not old
    merge_values(old, {"FOO": None})
    assert old == {"FOO": "1"}


def test_none_removes_a_key() -> None:
    assert merge_values({"FOO": "1", "BAR": "2"}, {"FOO": None}) == {"BAR": "2"}


def test_removing_a_key_that_is_not_set_names_it() -> None:
    with pytest.raises(Invalid) as info:
        merge_values({"FOO": "1"}, {"NOPE": None})
    assert info.value.errors == {"values": ["NOPE is not set."]}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (42, "42"),
        (-3, "-3"),
        (1.5, "1.5"),
        ("", ""),
        ("with spaces and = signs", "with spaces and = signs"),
        ("multi\nline", "multi\nline"),
        ("ünïcödé ☃", "ünïcödé ☃"),
    ],
)
def test_values_become_strings(value: object, expected: str) -> None:
    assert merge_values({}, {"KEY": value}) == {"KEY": expected}


@pytest.mark.parametrize("value", [[1, 2], {"a": 1}, (1,), b"bytes", object()])
def test_structured_values_are_refused(value: object) -> None:
    with pytest.raises(Invalid, match="KEY") as info:
        merge_values({}, {"KEY": value})
    assert info.value.field == "values"


@pytest.mark.parametrize("key", ["FOO", "foo", "_", "_PRIVATE", "A1", "a_b_C_9"])
def test_valid_keys(key: str) -> None:
    assert merge_values({}, {key: "v"}) == {key: "v"}


@pytest.mark.parametrize("key", ["1FOO", "FOO-BAR", "FOO BAR", "", "FOO.BAR", "FÖO", "A=B"])
def test_invalid_keys_are_named(key: str) -> None:
    with pytest.raises(Invalid) as info:
        merge_values({}, {key: "v"})
    assert info.value.field == "values"
    assert key in info.value.message


def test_non_string_key_is_refused() -> None:
    with pytest.raises(Invalid) as info:
        merge_values({}, {1: "v"})  # type: ignore[dict-item]
    assert info.value.field == "values"


def test_value_size_limit() -> None:
    assert merge_values({}, {"BIG": "x" * MAX_VALUE_BYTES})["BIG"] == "x" * MAX_VALUE_BYTES
    with pytest.raises(Invalid, match="64 KiB") as info:
        merge_values({}, {"BIG": "x" * (MAX_VALUE_BYTES + 1)})
    assert info.value.field == "values"


def test_value_size_counts_bytes() -> None:
    with pytest.raises(Invalid, match="BIG"):
        merge_values({}, {"BIG": "é" * (MAX_VALUE_BYTES // 2 + 1)})


def test_nul_in_value_is_refused() -> None:
    with pytest.raises(Invalid, match="NUL"):
        merge_values({}, {"K": "a\0b"})


def test_changes_must_be_an_object() -> None:
    with pytest.raises(Invalid) as info:
        merge_values({}, ["FOO"])  # type: ignore[arg-type]
    assert info.value.field == "values"


def test_failed_merge_changes_nothing() -> None:
    old = {"FOO": "1"}
    with pytest.raises(Invalid):
        merge_values(old, {"BAR": "2", "bad-key": "3"})
    assert old == {"FOO": "1"}
