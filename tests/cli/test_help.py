"""The help of every command, topic and of `deis` itself, compared with stored snapshots.

Run with DEIS_UPDATE_SNAPSHOTS=1 to rewrite the snapshots after changing a help text.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from deis.cli.main import COMMANDS, SHORTCUTS, TOPICS

from .conftest import Run

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = bool(os.environ.get("DEIS_UPDATE_SNAPSHOTS"))  # read before fixtures clear DEIS_*

CASES: list[tuple[str, list[str]]] = [("deis", ["--help"])]
CASES += [
    (f"topic-{topic.name}", [topic.name, "--help"]) for topic in TOPICS if topic.name != "version"
]
CASES += [(name.replace(":", "_"), [name, "--help"]) for name in sorted(COMMANDS)]
CASES += [("shortcuts", ["shortcuts", "--help"])]


@pytest.mark.parametrize(("snapshot", "argv"), CASES, ids=[case[0] for case in CASES])
def test_help_matches_snapshot(snapshot: str, argv: list[str], run_cli: Callable[..., Run]) -> None:
    result = run_cli(*argv)
    assert result.code == 0, result.err
    assert result.err == ""
    path = SNAPSHOTS / f"{snapshot}.txt"
    if UPDATE:
        path.write_text(result.out)
    assert path.exists(), f"no snapshot of {' '.join(argv)}: run with DEIS_UPDATE_SNAPSHOTS=1"
    assert result.out == path.read_text(), f"help of {' '.join(argv)} changed; see {path}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_an_example(name: str, run_cli: Callable[..., Run]) -> None:
    out = run_cli(name, "--help").out
    assert "Examples:" in out
    assert f"Usage: deis {name}" in out


def test_help_forms_agree(run_cli: Callable[..., Run]) -> None:
    assert run_cli("help", "apps:create").out == run_cli("apps:create", "--help").out
    assert run_cli("help", "apps:create").out == run_cli("apps:create", "-h").out
    assert run_cli("help").out == run_cli("--help").out == run_cli("-h").out
    assert run_cli("help", "apps").out == run_cli("apps", "-h").out


def test_shortcuts_have_the_help_of_their_command(run_cli: Callable[..., Run]) -> None:
    for shortcut, target in SHORTCUTS.items():
        if ":" in shortcut:
            continue
        shown = run_cli(shortcut, "--help").out.replace(f"deis {shortcut} ", f"deis {target} ", 1)
        assert shown == run_cli(target, "--help").out, shortcut


def test_no_snapshot_is_stale() -> None:
    expected = {f"{name}.txt" for name, _ in CASES}
    assert {path.name for path in SNAPSHOTS.glob("*.txt")} <= expected


LISTS_AND_INFOS = sorted(
    name
    for name in COMMANDS
    if name.endswith((":list", ":info")) or name in ("auth:whoami", "version")
)


@pytest.mark.parametrize("name", LISTS_AND_INFOS)
def test_every_list_and_info_command_has_json_output(
    name: str, run_cli: Callable[..., Run]
) -> None:
    assert "-o, --output [text|json]" in run_cli(name, "--help").out


def test_the_shortcuts_list_too(run_cli: Callable[..., Run]) -> None:
    listed = run_cli("shortcuts:list", "-o", "json")
    assert listed.code == 0
    assert json.loads(listed.out) == SHORTCUTS
    assert run_cli("shortcuts:list").out == run_cli("shortcuts").out
