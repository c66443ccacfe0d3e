"""The one error type commands raise: a message for a person, and an exit code."""

from __future__ import annotations

import click

from deis.cli.output import color_choice


class CLIError(click.ClickException):
    """An error shown as `Error: <message>` on stderr; exit code 1 (never a traceback)."""

    exit_code = 1

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    def show(self, file: object = None) -> None:
        prefix = click.style("Error: ", fg="red", bold=True)
        click.echo(prefix + self.format_message(), err=True, color=color_choice())
