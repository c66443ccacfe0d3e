"""What one release's config changed against the previous one's, by key (never values:
they may be secrets)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from deis.domain.records import Config


@dataclass(frozen=True)
class ConfigDiff:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    # Settings other than values that changed: "memory", "cpu", "tags", ...
    settings: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed or self.settings)


SETTINGS = ("memory", "cpu", "tags", "registry", "healthcheck")


def config_diff(old: Config | None, new: Config) -> ConfigDiff:
    """Keys of `values` added, changed and removed, and which other settings changed.
    Against no previous config (the first release), every key is added."""
    before: Mapping[str, str] = old.values if old else {}
    after = new.values
    return ConfigDiff(
        added=sorted(k for k in after if k not in before),
        changed=sorted(k for k in after if k in before and before[k] != after[k]),
        removed=sorted(k for k in before if k not in after),
        settings=[
            name
            for name in SETTINGS
            if getattr(new, name) != (getattr(old, name) if old else type(getattr(new, name))())
        ],
    )
