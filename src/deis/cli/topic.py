"""A topic groups the colon commands of one family (`apps:create`, `apps:list`, ...)."""

from __future__ import annotations

from dataclasses import dataclass

import click


@dataclass(frozen=True)
class Topic:
    name: str
    summary: str
    commands: tuple[click.Command, ...]
    default: str | None = None  # what the bare word runs: `deis apps` is `deis apps:list`

    def usage(self, prog: str = "deis") -> str:
        """`Valid commands for apps:` and one line per command, as the Go client prints."""
        names = [command.name or "" for command in self.commands]
        width = max(len(name) for name in names) + 4
        lines = [f"Valid commands for {self.name}:", ""]
        for name, command in zip(names, self.commands, strict=True):
            lines.append(f"{name.ljust(width)}{command.get_short_help_str(limit=120)}")
        lines += ["", f"Use '{prog} help [command]' to learn more."]
        return "\n".join(lines) + "\n"
