"""`--wake` for the commands that make a release: a sleeping app keeps sleeping after a
change (its next request starts the new release) unless the user asks for it now."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import click

from deis.cli.context import Session
from deis.cli.output import echo, waiting

F = TypeVar("F", bound=Callable[..., object])

wake_option: Callable[[F], F] = click.option(
    "--wake",
    is_flag=True,
    help="If the app sleeps, wake it so the new release runs now"
    " (otherwise its next request starts it).",
)


def wake_if_asleep(s: Session, app: str) -> None:
    sleep = s.api.get(f"/v2/apps/{app}/sleep") or {}
    if not sleep.get("asleep"):
        return
    started = time.monotonic()
    with waiting("Waking..."):
        s.api.post(f"/v2/apps/{app}/sleep/wake")
    echo(f"Woke {app} in {time.monotonic() - started:.1f}s")
