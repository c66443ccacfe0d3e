"""config:* against a running controller."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import Deis

pytestmark = pytest.mark.e2e


def test_set_list_unset(user: Deis, app: str) -> None:
    result = user("config:set", "FOO=bar", "SPACED=two words", "EQ=a=b", "-a", app)
    assert result.out == (
        "Creating config... done\n\n"
        f"=== {app} Config\n"
        "EQ          a=b\n"
        "FOO         bar\n"
        "SPACED      two words\n"
    )
    assert user("config", "-a", app).out == result.out.split("\n\n", 1)[1]
    assert user("config:list", "--oneline", "-a", app).out == "EQ=a=b FOO=bar SPACED=two words\n"
    assert user("config:list", "--diff", "-a", app).out == "EQ=a=b\nFOO=bar\nSPACED=two words\n"
    assert json.loads(user("config:list", "-o", "json", "-a", app).out) == {
        "EQ": "a=b",
        "FOO": "bar",
        "SPACED": "two words",
    }
    unset = user("config:unset", "FOO", "EQ", "-a", app)
    assert unset.out == f"Removing config... done\n\n=== {app} Config\nSPACED      two words\n"


def test_bad_pairs_fail_before_any_request(user: Deis, app: str) -> None:
    result = user.fails("config:set", "1BAD=x", "-a", app)
    assert "'1BAD=x' does not match the pattern 'key=var', ex: MODE=test" in result.err


def test_config_changes_make_releases(user: Deis, app: str) -> None:
    user("config:set", "A=1", "B=2", "-a", app)
    user("config:unset", "A", "-a", app)
    out = user("releases", "-a", app).out
    assert f"{user.username} added A, B" in out
    assert f"{user.username} removed A" in out


def test_push_from_a_file_and_from_stdin(user: Deis, app: str, tmp_path: Path) -> None:
    env_file = tmp_path / "prod.env"
    env_file.write_text("# comment\nONE=1\r\nTWO=zwei\n\n")
    user("config:push", "-p", str(env_file), "-a", app)
    assert user("config", "--oneline", "-a", app).out == "ONE=1 TWO=zwei\n"
    user("config:push", "-a", app, input="THREE=3\n")
    assert user("config", "--oneline", "-a", app).out == "ONE=1 THREE=3 TWO=zwei\n"
    (user.cwd / ".env").write_text("FOUR=4\n")
    user("config:push", "-a", app)
    assert "FOUR=4" in user("config", "--oneline", "-a", app).out
    assert user.fails("config:push", "-p", str(tmp_path / "missing.env"), "-a", app).err.endswith(
        "does not exist\n"
    )


def test_pull_to_stdout_and_to_files(user: Deis, app: str) -> None:
    user("config:set", "K1=v1", "K2=v2", "-a", app)
    assert user("config:pull", "-a", app).out == "K1=v1\nK2=v2\n"
    target = user.cwd / ".env"
    user("config:pull", "-a", app, "-p", str(target))
    assert target.read_text() == "K1=v1\nK2=v2\n"
    assert (
        "already exists, pass -o to overwrite"
        in user.fails("config:pull", "-a", app, "-p", str(target)).err
    )
    target.write_text("OLD=1\n")
    user("config:pull", "-a", app, "-p", str(target), "--overwrite")
    assert target.read_text() == "K1=v1\nK2=v2\n"
    target.write_text("K1=local\nMINE=x\n")
    user("config:pull", "-a", app, "-p", str(target), "-i", input="n\n")
    assert target.read_text() == "K1=local\nK2=v2\nMINE=x\n"
    missing = user.cwd / "no-such-dir" / ".env"
    assert user.fails("config:pull", "-a", app, "-p", str(missing)).err == (
        f"Error: Could not write {missing}: No such file or directory\n"
    )
