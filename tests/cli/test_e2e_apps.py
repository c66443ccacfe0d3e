"""apps:* and git:* against a running controller."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import Deis, Platform, unique
from .e2e import api_get, git_repo, log_in_through, remote_urls
from .proxy import Proxy

pytestmark = pytest.mark.e2e


def builder_url(platform: Platform, deis: Deis, app: str) -> str:
    builder = api_get(platform, deis, "/v2/platform")["builder"]
    return f"{builder}/{app}.git"


def test_create_adds_the_deis_remote_from_the_platform(
    platform: Platform, user: Deis, tmp_path: Path
) -> None:
    repo = git_repo(tmp_path / "repo")
    name = unique("app")
    result = user("create", name, cwd=repo)
    assert result.out == (
        f"Creating Application... done, created {name}\nGit remote deis successfully created for app {name}.\n"
    )
    assert remote_urls(repo) == {"deis": builder_url(platform, user, name)}
    assert remote_urls(repo)["deis"].startswith("ssh://git@")


def test_without_the_platform_extension_the_remote_follows_the_deis_convention(
    user: Deis, new_deis: Callable[..., Deis], proxy: Callable[..., Proxy], tmp_path: Path
) -> None:
    deis_v2 = proxy("/v2/platform")  # a controller without the extension, by name: localhost
    deis = log_in_through(new_deis(), deis_v2.url, user)
    repo = git_repo(tmp_path / "repo")
    name = unique("app")
    assert deis("create", name, cwd=repo).out.endswith(
        f"Git remote deis successfully created for app {name}.\n"
    )
    assert remote_urls(repo) == {"deis": f"ssh://git@localhost-builder:2222/{name}.git"}
    assert any(line == "GET /v2/platform" for line in deis_v2.requests)
    assert json.loads(deis("info", "-o", "json", cwd=repo).out)["id"] == name  # from the remote


def test_the_app_is_found_from_the_git_remote(user: Deis, tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "elsewhere")
    name = unique("app")
    user("apps:create", name, cwd=repo)
    assert user("info", cwd=repo).out.startswith(f"=== {name} Application\n")
    assert json.loads(user("info", "-o", "json", cwd=repo).out)["id"] == name


def test_the_app_is_found_from_the_directory_name(user: Deis, tmp_path: Path) -> None:
    name = unique("dir")
    folder = tmp_path / name
    folder.mkdir()
    user("create", name, "--no-remote")
    assert json.loads(user("info", "-o", "json", cwd=folder).out)["id"] == name


def test_create_options(platform: Platform, user: Deis, tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo")
    name = unique("app")
    result = user(
        "create", name, "--remote", "staging", "-b", "https://example.com/bp.git", cwd=repo
    )
    assert f"Git remote staging successfully created for app {name}." in result.out
    assert list(remote_urls(repo)) == ["staging"]
    assert (
        user("config:list", "-a", name, "--oneline").out
        == "BUILDPACK_URL=https://example.com/bp.git\n"
    )
    clash = user.fails("create", unique("app"), "--remote", "staging", cwd=repo)
    assert "A git remote with the name staging already exists" in clash.err


def test_create_without_remote_or_repository(user: Deis, tmp_path: Path) -> None:
    name = unique("app")
    no_remote = user("create", name, "--no-remote")
    assert f"use `deis git:remote -a {name}`" in no_remote.out
    other = unique("app")
    outside = user("create", other, cwd=tmp_path)
    assert f"created {other}" in outside.out
    assert "No git repository here" in outside.out


def test_create_with_a_generated_name(user: Deis) -> None:
    result = user("create", "--no-remote")
    name = result.out.splitlines()[0].rsplit(" ", 1)[1]
    assert name in user("apps").out


def test_create_errors_are_the_servers(user: Deis, app: str) -> None:
    result = user.fails("create", app, "--no-remote")
    assert result.err == "Error: id: Application with this id already exists.\n"
    assert user.fails("create", "Bad_Name", "--no-remote").err.startswith("Error: id: ")


def test_list_and_json(user: Deis, app: str) -> None:
    out = user("apps").out
    assert out.startswith("=== Apps")
    assert app in out.splitlines()
    assert user("apps:list").out == out
    assert app in [a["id"] for a in json.loads(user("apps:list", "-o", "json").out)]


def test_info_blocks(user: Deis, app: str) -> None:
    out = user("apps:info", "-a", app).out
    assert out.startswith(f"=== {app} Application\nupdated:  ")
    assert f"\nowner:    {user.username}\n" in out
    assert f"\nurl:      {app}." in out
    assert f"=== {app} Processes\n" in out
    assert f"=== {app} Domains\n{app}\n" in out
    assert f"=== {app} Label\nNo labels found.\n" in out


def test_info_of_an_unknown_app(user: Deis) -> None:
    assert user.fails("info", "-a", unique("nope")).err.startswith("Error: ")


def test_an_app_named_after_the_directory_says_so_when_it_does_not_exist(
    user: Deis, tmp_path: Path
) -> None:
    folder = tmp_path / "notgit"
    folder.mkdir()
    refused = user.fails("info", cwd=folder)
    assert refused.err == (
        "Error: App notgit not found.\n"
        "The app name notgit came from this directory's name (this is not a git checkout of"
        " an app): give the app with -a APP (deis apps lists yours), or run deis in the"
        " app's git checkout.\n"
    )
    repo = git_repo(tmp_path / "repo")
    assert "(this git repository has no remote `deis`)" in user.fails("info", cwd=repo).err
    named = user.fails("info", "-a", "notgit")  # given with -a: nothing to add
    assert named.err == "Error: App notgit not found.\n"


def test_open_uses_the_browser(user: Deis, app: str) -> None:
    result = user("open", "-a", app, env={"BROWSER": "echo"})
    assert result.out.startswith(f"http://{app}.")


def test_open_and_info_show_the_routers_port(user: Deis, app: str) -> None:
    url = json.loads(user("info", "-a", app, "-o", "json").out)["url"]
    assert url.startswith(f"{app}.localhost:")  # this platform's router is not on port 80
    assert user("open", "-a", app, env={"BROWSER": "echo"}).out == f"http://{url}\n"
    assert f"\nurl:      {url}\n" in user("info", "-a", app).out


def test_transfer(user: Deis, app: str, new_deis: Callable[..., Deis], platform: Platform) -> None:
    other = new_deis()
    other_name = unique("new-owner")
    other(
        "register", platform.url, "--username", other_name, "--password", "pw", "--email", "o@x.io"
    )
    assert (
        user("apps:transfer", other_name, "-a", app).out
        == f"Transferring {app} to {other_name}... done\n"
    )
    assert json.loads(other("info", "-a", app, "-o", "json").out)["owner"] == other_name
    user.fails("info", "-a", app)


def test_destroy(user: Deis, app: str) -> None:
    wrong = user.fails("destroy", "-a", app, input="nope\n")
    assert f"This command will destroy the application: {app}" in wrong.out
    assert f"App {app} does not match confirm nope, aborting." in wrong.err
    result = user("apps:destroy", "-a", app, "--confirm", app)
    assert result.out.startswith(f"Destroying {app}...\ndone in ")
    assert app not in user("apps").out


def test_destroy_from_the_repository_removes_its_remote(user: Deis, tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo")
    name = unique("app")
    user("create", name, cwd=repo)
    result = user("destroy", input=f"{name}\n", cwd=repo)
    assert f"Git remotes for app {name} removed." in result.out
    assert remote_urls(repo) == {}


def test_git_remote_and_remove(platform: Platform, user: Deis, app: str, tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo")
    expected = builder_url(platform, user, app)
    assert (
        user("git:remote", "-a", app, cwd=repo).out
        == f"Git remote deis successfully created for app {app}.\n"
    )
    assert remote_urls(repo) == {"deis": expected}
    again = user("git:remote", "-a", app, cwd=repo)
    assert again.out == f"Remote deis already exists and is correctly configured for app {app}.\n"
    other = unique("app")
    user("create", other, "--no-remote")
    clash = user.fails("git:remote", "-a", other, cwd=repo)
    assert "Remote deis already exists, please run 'deis git:remote -f' to overwrite" in clash.err
    forced = user("git:remote", "-a", other, "--force", cwd=repo)
    assert forced.out.startswith("Deleting git remote deis.\n")
    assert remote_urls(repo)["deis"].endswith(f"/{other}.git")
    assert (
        user("git:remove", "-a", other, cwd=repo).out == f"Git remotes for app {other} removed.\n"
    )
    assert remote_urls(repo) == {}
    assert user.fails("git:remove", "-a", other, cwd=repo).err.startswith(
        "Error: Could not find remote"
    )


def test_git_remote_outside_a_repository(user: Deis, app: str, tmp_path: Path) -> None:
    assert "Not a git repository" in user.fails("git:remote", "-a", app, cwd=tmp_path).err
