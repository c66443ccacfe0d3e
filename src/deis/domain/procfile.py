"""Procfiles: process types and the commands that start them."""

from __future__ import annotations

import re

from deis.domain.errors import Invalid
from deis.domain.names import validate_proctype

FIELD = "procfile"

_LINE_RE = re.compile(r"([^:\s]+)[ \t]*:[ \t]*(.*)")


def _command(proctype: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"The command for {proctype} must be a non-empty string.", field=FIELD)
    if "\0" in value:
        raise Invalid(f"The command for {proctype} contains a NUL character.", field=FIELD)
    return value.strip()


def parse_procfile(text: str) -> dict[str, str]:
    """Heroku rules: `type: command` lines; blank lines and `#` comments are skipped."""
    if not isinstance(text, str):
        raise Invalid("The Procfile must be text.", field=FIELD)
    result: dict[str, str] = {}
    for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE_RE.fullmatch(line)
        if not match or not match[2].strip():
            raise Invalid(
                f"Line {number} of the Procfile is not of the form 'type: command'.",
                field=FIELD,
            )
        proctype = match[1]
        try:
            validate_proctype(proctype, field=FIELD)
        except Invalid as error:
            raise Invalid(f"Line {number} of the Procfile: {error.message}", field=FIELD) from None
        if proctype in result:
            raise Invalid(
                f"Line {number} of the Procfile repeats the process type {proctype}.",
                field=FIELD,
            )
        result[proctype] = _command(proctype, match[2])
    return result


def validate_procfile(value: object) -> dict[str, str]:
    """A Procfile given as a JSON object {type: command} (or as Procfile text)."""
    if isinstance(value, str):
        return parse_procfile(value)
    if not isinstance(value, dict):
        raise Invalid("The Procfile must be an object of process types and commands.", field=FIELD)
    result: dict[str, str] = {}
    for proctype, command in value.items():
        name = validate_proctype(proctype, field=FIELD)
        result[name] = _command(name, command)
    return result
