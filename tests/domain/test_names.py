from __future__ import annotations

import random

import pytest

from deis.domain.errors import Invalid
from deis.domain.names import (
    ADJECTIVES,
    NOUNS,
    RESERVED_APP_NAMES,
    generate_app_id,
    validate_app_id,
    validate_proctype,
    validate_username,
)


@pytest.mark.parametrize(
    "name",
    ["a", "myapp", "brave-river-4821", "a1", "app-2", "a" * 63, "x--y", "go"],
)
def test_valid_app_ids(name: str) -> None:
    assert validate_app_id(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "1app",
        "-app",
        "app-",
        "My-App",
        "app_name",
        "app.name",
        "app name",
        "a" * 64,
        "ünïcode",
        "app\n",
    ],
)
def test_invalid_app_ids(name: str) -> None:
    with pytest.raises(Invalid) as info:
        validate_app_id(name)
    assert info.value.field == "id"
    assert info.value.errors == {"id": [info.value.message]}


@pytest.mark.parametrize("value", [None, 5, ["app"], {"id": "app"}, True])
def test_app_id_must_be_a_string(value: object) -> None:
    with pytest.raises(Invalid) as info:
        validate_app_id(value)
    assert info.value.field == "id"


def test_app_id_rule_message() -> None:
    with pytest.raises(Invalid) as info:
        validate_app_id("Bad_Name")
    assert info.value.message == (
        "App name must start with a letter and contain only lowercase letters, digits and hyphens."
    )


def test_app_id_too_long_message_mentions_limit() -> None:
    with pytest.raises(Invalid, match="63"):
        validate_app_id("a" * 64)


def test_app_id_ending_with_hyphen_message() -> None:
    with pytest.raises(Invalid, match="hyphen"):
        validate_app_id("app-")


@pytest.mark.parametrize("name", sorted(RESERVED_APP_NAMES))
def test_reserved_names_are_refused(name: str) -> None:
    with pytest.raises(Invalid, match="reserved") as info:
        validate_app_id(name)
    assert info.value.field == "id"


def test_reserved_names_list() -> None:
    assert isinstance(RESERVED_APP_NAMES, frozenset)
    assert {"deis", "kube-system", "healthz", "readiness", "www"} <= RESERVED_APP_NAMES
    assert "deis-app" not in RESERVED_APP_NAMES
    assert validate_app_id("deis-app") == "deis-app"


def test_generated_ids_are_valid_and_shaped() -> None:
    rng = random.Random(1234)
    for _ in range(2000):
        name = generate_app_id(rng)
        assert validate_app_id(name) == name
        adjective, noun, number = name.split("-")
        assert adjective in ADJECTIVES
        assert noun in NOUNS
        assert len(number) == 4 and number.isdigit()


def test_generated_ids_are_deterministic_per_seed() -> None:
    first = [generate_app_id(random.Random(7)) for _ in range(3)]
    assert first == [generate_app_id(random.Random(7)) for _ in range(3)]
    rng = random.Random(7)
    assert len({generate_app_id(rng) for _ in range(50)}) > 40


def test_word_lists() -> None:
    assert len(ADJECTIVES) >= 40 and len(NOUNS) >= 40
    assert len(set(ADJECTIVES)) == len(ADJECTIVES)
    assert len(set(NOUNS)) == len(NOUNS)
    for word in ADJECTIVES + NOUNS:
        assert word.isalpha() and word.islower()


@pytest.mark.parametrize("name", ["web", "worker", "cmd", "web-2", "a", "1", "x" * 63, "a-b-c"])
def test_valid_proctypes(name: str) -> None:
    assert validate_proctype(name) == name


@pytest.mark.parametrize(
    "name", ["", "Web", "web_1", "web-", "-web", "a--b", "web.1", "web 1", "x" * 64, "wéb"]
)
def test_invalid_proctypes(name: str) -> None:
    with pytest.raises(Invalid) as info:
        validate_proctype(name)
    assert info.value.field == "type"


def test_proctype_field_is_the_callers() -> None:
    with pytest.raises(Invalid) as info:
        validate_proctype("Web", field="memory")
    assert info.value.errors == {"memory": [info.value.message]}
    assert "Web" in info.value.message


@pytest.mark.parametrize("value", [None, 1, ["web"]])
def test_proctype_must_be_a_string(value: object) -> None:
    with pytest.raises(Invalid) as info:
        validate_proctype(value, field="structure")
    assert info.value.field == "structure"


@pytest.mark.parametrize(
    "name",
    [
        "alice",
        "Alice",
        "a",
        "alice.smith",
        "alice+test",
        "a-b_c",
        "alice@example.com",
        "x" * 150,
        "007",
    ],
)
def test_valid_usernames(name: str) -> None:
    assert validate_username(name) == name


@pytest.mark.parametrize(
    "name", ["", "alice smith", "alice/bob", "x" * 151, "alice!", "al:ice", "ålice", "a\n"]
)
def test_invalid_usernames(name: str) -> None:
    with pytest.raises(Invalid) as info:
        validate_username(name)
    assert info.value.field == "username"


def test_username_must_be_a_string() -> None:
    with pytest.raises(Invalid) as info:
        validate_username(42)
    assert info.value.field == "username"
