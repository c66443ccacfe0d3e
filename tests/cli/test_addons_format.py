"""How `deis addons:info` prints an add-on (pure formatting)."""

from __future__ import annotations

from deis.cli.addons import format_info

ADDON = {
    "name": "postgres-calm-1234",
    "service": "postgres",
    "plan": "mini",
    "app": "shop",
    "owner": "alice",
    "state": "available",
    "memory": "128M",
    "cpus": 0.5,
    "connections": 20,
    "disk": "1G",
    "attachments": [{"app": "shop", "var": "DATABASE_URL"}],
}


def test_info_shows_the_disk_and_what_the_data_takes_on_it() -> None:
    shown = format_info({**ADDON, "disk_used": 41_234_567})
    assert "\ndisk:         1G (41.2 MB used)\n" in shown


def test_where_the_servers_cannot_tell_only_the_size_is_shown() -> None:
    assert "\ndisk:         1G\n" in format_info({**ADDON, "disk_used": None})
    assert "\ndisk:         1G\n" in format_info(ADDON)


def test_info_says_how_it_is_backed_up() -> None:
    assert "\nbackups:      on demand only\n" in format_info(ADDON)
    schedule = {
        "at": "02:00", "tz": "Europe/Paris", "keep": 7, "last_run": None,
        "next_run": "2026-12-07T01:00:00Z",
    }  # fmt: skip
    shown = format_info({**ADDON, "backup_schedule": schedule})
    assert (
        "\nbackups:      daily at 02:00 (Europe/Paris), keeping the last 7"
        " (last ran: not yet; next: 2026-12-07T01:00:00Z)\n"
    ) in shown
    ran = {**schedule, "last_run": "2026-12-07T01:00:12Z", "next_run": "2026-12-08T01:00:00Z"}
    shown = format_info({**ADDON, "backup_schedule": ran})
    assert "(last ran: 2026-12-07T01:00:12Z; next: 2026-12-08T01:00:00Z)\n" in shown
