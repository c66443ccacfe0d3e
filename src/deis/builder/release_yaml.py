"""The little YAML that a buildpack's bin/release prints: default_process_types only."""

from __future__ import annotations

import json
import re

_KEY_RE = re.compile(r"([A-Za-z0-9_-]+)\s*:\s*(.*)")


def _scalar(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            value = json.loads(text)
            return value if isinstance(value, str) else text
        except ValueError:
            return text[1:-1]
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    return text


def default_process_types(text: str) -> dict[str, str]:
    """The `default_process_types` mapping of bin/release's output ({} when none)."""
    result: dict[str, str] = {}
    inside = False
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#") or raw.startswith("---"):
            continue
        indented = raw[:1] in (" ", "\t")
        if not indented:
            match = _KEY_RE.fullmatch(raw.strip())
            inside = bool(match and match[1] == "default_process_types")
            if inside and match and match[2].strip() not in ("", "{}", "~", "null"):
                inline = match[2].strip()
                if inline.startswith("{") and inline.endswith("}"):
                    for part in inline[1:-1].split(","):
                        if ":" in part:
                            key, value = part.split(":", 1)
                            result[_scalar(key)] = _scalar(value)
                inside = False
            continue
        if inside:
            match = _KEY_RE.fullmatch(raw.strip())
            if match and match[2].strip():
                result[match[1]] = _scalar(match[2])
    return result
