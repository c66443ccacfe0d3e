"""addons:* against a running controller (its add-on servers are the recording adapter's:
the real servers are tested in tests/runtime/test_addons.py and tests/e2e)."""

from __future__ import annotations

import json
import re

import pytest

from .conftest import Deis

pytestmark = pytest.mark.e2e


def test_create_list_info_attach_detach_destroy(user: Deis, app: str) -> None:
    listed = user("addons:services").out
    assert "postgres:mini" in listed and "PostgreSQL 15" in listed and "(default)" in listed
    made = user("addons:create", "postgres", "-a", app)
    match = re.search(r"(postgres-[a-z]+-\d{4}) \(mini\) is attached to", made.out)
    assert match, made.out
    name = match[1]
    assert made.out == (
        f"Creating postgres for {app}... done\n{name} (mini) is attached to {app} as DATABASE_URL\n"
    )
    assert f"{user.username} attached {name}" in user("releases", "-a", app).out
    assert "DATABASE_URL" in user("config", "-a", app).out
    mine = user("addons", "-a", app).out
    assert mine.startswith(f"=== {app} Add-ons\nNAME")
    assert f"{name}  postgres  mini  available  {app} (DATABASE_URL)" in mine
    info = user("addons:info", name).out
    assert info.startswith(f"=== {name}\n") and "128M memory" in info
    assert "\ndisk:         1G\n" in info  # the record adapter does not know what is used
    assert json.loads(user("addons:info", name, "-o", "json").out)["state"] == "available"

    other = app + "-2"
    user("create", other, "--no-remote")
    attached = user("addons:attach", name, "--as", "main", "-a", other)
    assert attached.out == f"Attaching {name} to {other}... done, as MAIN_URL\n"
    refused = user.fails("addons:destroy", name, "--confirm", name)
    assert "is attached to" in refused.err and "--force" in refused.err
    assert user("addons:detach", name, "-a", other).out == (
        f"Detaching {name} from {other}... done\n"
    )
    wrong = user.fails("addons:destroy", name, "--confirm", "nope")
    assert "confirm with the add-on's name" in wrong.err
    done = user("addons:destroy", name, "--confirm", name, "--force")
    assert done.out == f"Destroying {name}... done\n"
    assert "No add-ons" in user("addons", "-a", app).out
    user("apps:destroy", "--app", other, "--confirm", other)


def test_bad_service_is_a_clear_error(user: Deis, app: str) -> None:
    result = user.fails("addons:create", "mysql", "-a", app)
    assert "Unknown service 'mysql' (services: postgres, redis)." in result.err
