"""What every command shares: the options `-a`, `-o`, `-l`, and a session with the controller."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

from deis.cli import remotes
from deis.cli.client import Api, Settings, load_settings
from deis.cli.errors import CLIError

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class State:
    """Global flags, set by `main` before a command runs (`-c/--config`)."""

    config: str | None = None
    app_from_directory: str | None = None  # the app, when named after the directory


def state() -> State:
    ctx = click.get_current_context()
    obj = ctx.find_object(State)
    if obj is None:
        obj = ctx.ensure_object(State)
    return obj


@dataclass
class Session:
    """A logged-in client: the profile, the HTTP client and a few cached answers."""

    settings: Settings
    api: Api
    config: str | None
    _platform: dict[str, Any] | None = field(default=None, repr=False)

    def app(self, given: str | None) -> str:
        """`-a APP`, else the git remote `deis`, else the current directory's name."""
        if given:
            return given
        name, source = remotes.detect_app_and_source(
            remotes.DEFAULT_REMOTE, remotes.builder_hostname(self.settings.host)
        )
        if source == "directory":
            state().app_from_directory = name
        return name

    def platform(self) -> dict[str, Any]:
        """The controller's `GET /v2/platform` extension, or {} where it is not offered."""
        if self._platform is None:
            try:
                data = self.api.get("/v2/platform")
            except CLIError as exc:
                if exc.status is None:
                    raise
                data = {}
            self._platform = data if isinstance(data, dict) else {}
        return self._platform

    def builder(self) -> str:
        """`ssh://git@HOST:PORT` of the builder: from the platform, else by Deis convention."""
        builder = self.platform().get("builder")
        if isinstance(builder, str) and builder:
            return builder
        return remotes.conventional_builder(self.settings.host)

    def repository_url(self, app: str) -> str:
        return remotes.repository_url(self.builder(), app)


def session() -> Session:
    """Load the profile and open a client; closed when the command ends."""
    ctx = click.get_current_context()
    config = state().config
    settings = load_settings(config)
    api = Api(settings)
    ctx.call_on_close(api.close)
    return Session(settings, api, config)


# --- shared options ------------------------------------------------------------------------


def app_option(func: F) -> F:
    return click.option(
        "-a",
        "--app",
        "app",
        metavar="APP",
        help="The uniquely identifiable name for the application.",
    )(func)


def output_option(func: F) -> F:
    return click.option(
        "-o",
        "--output",
        "output",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="Output format; json is for scripts.",
    )(func)


def limit_option(func: F) -> F:
    return click.option(
        "-l",
        "--limit",
        "limit",
        type=click.IntRange(min=1),
        metavar="NUM",
        help="The maximum number of results to display (default: the profile's response_limit).",
    )(func)
