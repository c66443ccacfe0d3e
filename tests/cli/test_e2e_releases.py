"""releases:*, rollback and builds:* / pull against a running controller."""

from __future__ import annotations

import json

import pytest

from .conftest import Deis

pytestmark = pytest.mark.e2e


def test_list_info_and_json(user: Deis, app: str) -> None:
    out = user("releases", "-a", app).out
    assert out.startswith(f"=== {app} Releases\nv1  ")
    info = user("releases:info", "v1", "-a", app).out
    assert info.startswith(f"=== {app} Release v1\n")
    assert f"\nowner:    {user.username}\n" in info
    assert json.loads(user("releases:info", "1", "-a", app, "-o", "json").out)["version"] == 1
    assert [
        r["version"] for r in json.loads(user("releases:list", "-a", app, "-o", "json").out)
    ] == [1]
    assert "is not in the form 'v#'" in user.fails("releases:info", "vx", "-a", app).err
    assert user.fails("releases:info", "v99", "-a", app).err.startswith("Error: ")


def test_limit_shows_how_many_were_left_out(user: Deis, app: str) -> None:
    user("config:set", "A=1", "-a", app)
    user("config:set", "B=1", "-a", app)
    assert user("releases", "-a", app, "-l", "2").out.startswith(
        f"=== {app} Releases (2 of 3)\nv3  "
    )


def test_rollback(user: Deis, app: str) -> None:
    user("config:set", "A=1", "-a", app)
    user("config:set", "A=2", "-a", app)
    assert user("rollback", "-a", app).out == "Rolling back one release... done, v4\n"
    assert user("config", "--oneline", "-a", app).out == "A=1\n"
    assert user("releases:rollback", "v3", "-a", app).out == "Rolling back to v3... done, v5\n"
    assert user("config", "--oneline", "-a", app).out == "A=2\n"
    assert "rolled back to v3" in user("releases", "-a", app).out


def test_rollback_to_the_initial_release_is_refused(user: Deis, app: str) -> None:
    user("config:set", "A=1", "-a", app)
    refused = user.fails("releases:rollback", "v1", "-a", app)
    assert refused.err == "Error: Cannot roll back to initial release.\n"
    assert user.fails("rollback", "-a", app).err == refused.err  # v2's default target is v1
    assert "v3" not in user("releases", "-a", app).out


def test_pull_and_builds(user: Deis, app: str) -> None:
    result = user(
        "pull",
        "registry.example.com/go:1.0",
        "--procfile",
        "web: ./server\nworker: ./work",
        "-a",
        app,
    )
    url = json.loads(user("info", "-a", app, "-o", "json").out)["url"]
    assert result.out == (  # like the end of a push
        "Creating build... done\n"
        f"Done, {app}:v2 deployed to Deis\n"
        "Running: web=1\n"
        "worker=0: `deis scale worker=1` starts it\n"
        "\n"
        f"http://{url}\n"
    )
    again = user("builds:create", "registry.example.com/go:1.1", "-a", app)
    assert again.out == (  # no Procfile: the image's own command, a new type
        f"Creating build... done\nDone, {app}:v3 deployed to Deis\nRunning: cmd=1\n\nhttp://{url}\n"
    )
    out = user("builds", "-a", app).out
    assert out.startswith(f"=== {app} Builds\n")
    assert len(out.splitlines()) == 3
    builds = json.loads(user("builds:list", "-a", app, "-o", "json").out)
    by_image = {b["image"]: b for b in builds}
    assert by_image["registry.example.com/go:1.0"]["procfile"] == {
        "web": "./server",
        "worker": "./work",
    }
    assert "registry.example.com/go:1.1" in by_image
    assert "deployed" in user("releases", "-a", app).out
