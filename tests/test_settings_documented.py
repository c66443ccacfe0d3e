"""Every setting the platform reads from its environment is in docs/operators.md's
settings table, and the table names nothing the platform does not read."""

from __future__ import annotations

import re
from pathlib import Path

from deis import settings

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "src" / "deis"
DOC = ROOT / "docs" / "operators.md"
NAME = r"DEIS_[A-Z0-9_]+"
READS = re.compile(  # env.get("DEIS_X"), os.environ["DEIS_X"], "DEIS_X" in env, envvar="DEIS_X"
    rf'(?:environ|env)(?:\.get)?\(\s*"({NAME})"'
    rf'|(?:environ|env)\[\s*"({NAME})"\](?!\s*=[^=])'  # a read, not an assignment
    rf'|"({NAME})"\s+in\s+env'
    rf'|envvar="({NAME})"'
    rf'|\bget\("(DEIS_S3_[A-Z0-9_]+)"'  # objects/s3.py reads through a helper
    rf'|f"(DEIS_[A-Z0-9_]+_)\{{'  # a family read by prefix: f"DEIS_KUBERNETES_{name}"
)


# Handed by the builder to its own git hook: a handshake, not a setting.
INTERNAL = {"DEIS_HOOK_SOCKET", "DEIS_HOOK_TOKEN", "DEIS_HOOK_TIMEOUT"}


def read_by_the_platform() -> set[str]:
    names = set(settings._ENV)  # the settings' own table of variables
    for path in SOURCES.rglob("*.py"):
        if "cli" in path.relative_to(SOURCES).parts[:1]:
            continue  # the `deis` client's own variables are in docs/client.md
        for match in READS.finditer(path.read_text()):
            name = next(group for group in match.groups() if group)
            names.add(name + "*" if name.endswith("_") else name)
    return names - INTERNAL


def documented() -> set[str]:
    text = DOC.read_text()
    section = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    table = section.split("\n### ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(rf"`({NAME}\*?)`", row.split(" | ")[0])}


def covered(name: str, table: set[str]) -> bool:
    return name in table or any(d.endswith("*") and name.startswith(d[:-1]) for d in table)


def test_every_setting_read_is_in_the_operators_table() -> None:
    table = documented()
    missing = sorted(name for name in read_by_the_platform() if not covered(name, table))
    assert not missing, f"read by the platform but not in docs/operators.md#settings: {missing}"


def test_the_table_names_only_settings_that_are_read() -> None:
    stale = sorted(documented() - read_by_the_platform())
    assert not stale, f"in docs/operators.md#settings but read nowhere: {stale}"
