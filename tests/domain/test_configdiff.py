from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from deis.domain.configdiff import ConfigDiff, config_diff
from deis.domain.records import Config

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def config(values: dict[str, str], **other: Any) -> Config:
    fields: dict[str, Any] = dict(memory={}, cpu={}, tags={}, registry={}, healthcheck={})
    fields.update(other)
    return Config(uuid="u", app="a", owner="o", values=values, created=NOW, updated=NOW, **fields)


def test_keys_added_changed_removed() -> None:
    old = config({"A": "1", "B": "2", "C": "3"})
    new = config({"A": "1", "B": "two", "D": "4"})
    assert config_diff(old, new) == ConfigDiff(added=["D"], changed=["B"], removed=["C"])


def test_other_settings_and_the_first_release() -> None:
    old = config({}, memory={"web": "256M"})
    new = config({}, memory={"web": "512M"}, tags={"zone": "a"})
    assert config_diff(old, new).settings == ["memory", "tags"]
    assert config_diff(old, old).empty
    first = config_diff(None, config({"X": "1"}, cpu={"web": "1"}))
    assert first.added == ["X"] and first.settings == ["cpu"]
