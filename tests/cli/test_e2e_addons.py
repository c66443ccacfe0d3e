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


def test_backups_are_scheduled_shown_and_unscheduled(user: Deis, app: str) -> None:
    made = user("addons:create", "redis", "-a", app)
    match = re.search(r"(redis-[a-z]+-\d{4}) \(mini\)", made.out)
    assert match, made.out
    name = match[1]
    assert "\nbackups:      on demand only\n" in user("addons:info", name).out
    scheduled = user("addons:backups:schedule", name, "--at", "02:00", "--tz", "Europe/Paris")
    assert scheduled.out == (
        f"Backups of {name}: daily at 02:00 (Europe/Paris), keeping the last 7\n"
    )
    changed = user("addons:backups:schedule", name, "--at", "3:30", "--keep", "14")
    assert changed.out == f"Backups of {name}: daily at 03:30 (UTC), keeping the last 14\n"
    info = user("addons:info", name).out
    shown = json.loads(user("addons:info", name, "-o", "json").out)["backup_schedule"]
    assert shown["next_run"].endswith("T03:30:00Z")
    assert (
        "\nbackups:      daily at 03:30 (UTC), keeping the last 14"
        f" (last ran: not yet; next: {shown['next_run']})\n"
    ) in info
    assert (shown["at"], shown["tz"], shown["keep"], shown["last_run"]) == (
        "03:30",
        "UTC",
        14,
        None,
    )
    bad = user.fails("addons:backups:schedule", name, "--at", "25:00")
    assert "at" in bad.err and "HH:MM" in bad.err
    zone = user.fails("addons:backups:schedule", name, "--at", "02:00", "--tz", "Mars/Base")
    assert "unknown time zone 'Mars/Base'" in zone.err
    keep = user.fails("addons:backups:schedule", name, "--at", "02:00", "--keep", "0")
    assert "1 to 90" in keep.err
    assert user("addons:backups:unschedule", name).out == f"Backups of {name}: on demand only\n"
    assert "\nbackups:      on demand only\n" in user("addons:info", name).out
    again = user.fails("addons:backups:unschedule", name)
    assert "has no backup schedule" in again.err
    user("addons:destroy", name, "--confirm", name, "--force")


def test_upgrade_moves_to_a_bigger_plan_and_never_shrinks_the_disk(user: Deis, app: str) -> None:
    made = user("addons:create", "redis", "-a", app).out
    name = made.splitlines()[-1].split()[0]
    upgraded = user("addons:upgrade", name, "standard")
    assert upgraded.out == (
        f"Changing {name} to standard... done\n"
        f"{name} is on standard (256M memory, 1 CPU, 1000 connections, 2G disk)\n"
    )
    assert "standard (256M memory" in user("addons:info", name).out
    refused = user.fails("addons:upgrade", name, "mini")
    assert "a disk never shrinks" in refused.err
    refused = user.fails("addons:upgrade", name, "huge")
    assert "redis has no plan 'huge'" in refused.err
