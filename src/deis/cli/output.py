"""What the client prints: pure formatting first, then the few helpers that touch a terminal.

Formatting functions return strings and never look at the terminal, so they are tested
directly. Colour, paging and spinners happen only when the stream is a terminal.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

import click

# --- pure formatting -----------------------------------------------------------------------


def heading(title: str) -> str:
    return f"=== {title}"


def limit_count(shown: int, total: int) -> str:
    """The Go client's `(20 of 143)` note when a list was cut short; empty otherwise."""
    return "" if shown == total else f" ({shown} of {total})"


def pretty_tabs(values: Mapping[str, Any], spaces: int = 5) -> str:
    """`KEY   value` lines sorted by key, values aligned `spaces` past the longest key."""
    if not values:
        return ""
    width = max(len(key) for key in values) + spaces
    return "".join(
        f"{key.ljust(width)}{value_text(values[key])}".rstrip() + "\n" for key in sorted(values)
    )


def value_text(value: Any) -> str:
    """A config value as a person reads it: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def table(rows: Iterable[Sequence[Any]], headers: Sequence[str] | None = None, gap: int = 2) -> str:
    """Left-aligned columns separated by `gap` spaces; the last column is never padded."""
    lines = [[str(cell) for cell in row] for row in rows]
    if headers is not None:
        lines.insert(0, [str(cell) for cell in headers])
    if not lines:
        return ""
    columns = max(len(line) for line in lines)
    widths = [
        max((len(line[i]) for line in lines if i < len(line)), default=0) for i in range(columns)
    ]
    out = []
    for line in lines:
        cells = [
            cell.ljust(widths[i]) if i < len(line) - 1 else cell for i, cell in enumerate(line)
        ]
        out.append((" " * gap).join(cells).rstrip())
    return "\n".join(out) + "\n"


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def parse_time(value: str | None) -> datetime | None:
    """An RFC 3339 timestamp from the API (`2016-06-01T12:00:00Z`), or None."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def short_date(value: str | None) -> str:
    """`2 Jan 2006`, as the Go client shows certificate dates; `unknown` when absent."""
    parsed = parse_time(value)
    return f"{parsed.day} {parsed:%b %Y}" if parsed else "unknown"


def expires_text(value: str | None, now: datetime) -> str:
    """`2 Jan 2027 (in 1 year)` or `2 Jan 2020 (expired)`."""
    parsed = parse_time(value)
    if parsed is None:
        return "unknown"
    text = short_date(value)
    if parsed < now:
        return f"{text} (expired)"
    days = (parsed - now).days
    if days >= 365:
        amount, unit = days // 365, "year"
    elif days >= 30:
        amount, unit = days // 30, "month"
    else:
        amount, unit = days, "day"
    plural = "" if amount == 1 else "s"
    return f"{text} (in {amount} {unit}{plural})"


def short_fingerprint(fingerprint: str) -> str:
    if len(fingerprint) <= 10:
        return fingerprint
    return f"{fingerprint[:5]}[...]{fingerprint[-5:]}"


def key_text(public: str) -> str:
    """An SSH public key shortened to `ssh-ed25519 AAAA...tail` as the Go client shows it."""
    if len(public) <= 26:
        return public
    return f"{public[:16]}...{public[-10:]}"


# --- terminal helpers ------------------------------------------------------------------------


def is_tty(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stdout
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def color_choice() -> bool | None:
    """None lets click decide (colour on a terminal only); NO_COLOR turns it off everywhere."""
    return False if os.environ.get("NO_COLOR") else None


def echo(text: str = "", nl: bool = True) -> None:
    click.echo(text, nl=nl, color=color_choice())


def styled(text: str, **style: Any) -> str:
    return click.style(text, **style)


def emit(text: str) -> None:
    """Print a block, headings (`=== ...`) in bold; the styling vanishes off a terminal."""
    lines = text.splitlines()
    out = [styled(line, bold=True) if line.startswith(("=== ", "--- ")) else line for line in lines]
    echo("\n".join(out), nl=text.endswith("\n") or not text)


def page(text: str) -> None:
    """Long output through the pager, on a terminal only; otherwise printed as it is."""
    height = shutil.get_terminal_size((80, 24)).lines
    if is_tty() and is_tty(sys.stdin) and text.count("\n") > height - 2:
        click.echo_via_pager(text, color=color_choice())
    else:
        emit(text)


def print_json(data: Any) -> None:
    click.echo(to_json(data), nl=False)


def warn(text: str) -> None:
    click.echo(styled(text, fg="yellow"), err=True, color=color_choice())


@contextmanager
def waiting(message: str = "") -> Iterator[None]:
    """A spinner on stderr while something slow happens, only when stderr is a terminal."""
    if not is_tty(sys.stderr) or os.environ.get("DEIS_NO_SPINNER"):
        yield
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(stderr=True, no_color=bool(os.environ.get("NO_COLOR")))
    with console.status(Text(message or "working..."), spinner="dots"):
        yield
