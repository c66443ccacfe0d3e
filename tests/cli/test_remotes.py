"""Git remotes: parsing, builder URLs, and finding the app of a directory."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from deis.cli import remotes

REMOTE_V = (
    "deis\tssh://git@deis-builder.example.com:2222/myapp.git (fetch)\n"
    "deis\tssh://git@deis-builder.example.com:2222/myapp.git (push)\n"
    "origin\tgit@github.com:me/myapp.git (fetch)\n"
    "origin\tgit@github.com:me/myapp.git (push)\n"
)


def test_parse_remotes_keeps_push_urls() -> None:
    assert remotes.parse_remotes(REMOTE_V) == [
        remotes.Remote("deis", "ssh://git@deis-builder.example.com:2222/myapp.git"),
        remotes.Remote("origin", "git@github.com:me/myapp.git"),
    ]


@pytest.mark.parametrize(
    ("host", "builder"),
    [
        ("deis.example.com", "deis-builder.example.com"),
        ("deis.example.com:8000", "deis-builder.example.com"),
        ("localhost", "localhost-builder"),
    ],
)
def test_builder_hostname_by_convention(host: str, builder: str) -> None:
    assert remotes.builder_hostname(host) == builder


def test_repository_urls() -> None:
    assert (
        remotes.conventional_builder("deis.example.com")
        == "ssh://git@deis-builder.example.com:2222"
    )
    assert remotes.repository_url("ssh://git@h:2222", "app") == "ssh://git@h:2222/app.git"
    assert remotes.repository_url("ssh://git@h:2222/", "app") == "ssh://git@h:2222/app.git"


@pytest.mark.parametrize(
    ("url", "app"),
    [
        ("ssh://git@deis-builder.example.com:2222/myapp.git", "myapp"),
        ("ssh://git@h:2222/other", "other"),
        ("git@h:x.git", "x"),
    ],
)
def test_app_from_url(url: str, app: str) -> None:
    assert remotes.app_from_url(url) == app


def test_app_from_remotes_prefers_the_named_remote() -> None:
    found = remotes.parse_remotes(REMOTE_V)
    assert remotes.app_from_remotes(found, "deis", None) == "myapp"
    renamed = [remotes.Remote("prod", "ssh://git@deis-builder.example.com:2222/live.git")]
    assert remotes.app_from_remotes(renamed, "deis", "deis-builder.example.com") == "live"
    assert remotes.app_from_remotes(renamed, "deis", "other-builder") is None


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)  # noqa: S603


def test_detect_app_from_the_deis_remote(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "Some-Dir"
    repo.mkdir()
    git(repo, "init", "-q")
    monkeypatch.chdir(repo)
    assert remotes.detect_app() == "some-dir"
    git(repo, "remote", "add", "deis", "ssh://git@127.0.0.1:2222/fromremote.git")
    assert remotes.detect_app() == "fromremote"


def test_detect_app_outside_git_is_the_directory_name(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = tmp_path / "PlainDir"
    plain.mkdir()
    monkeypatch.chdir(plain)
    assert remotes.list_remotes() is None
    assert remotes.detect_app() == "plaindir"
