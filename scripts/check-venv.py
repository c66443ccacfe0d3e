"""Exit 0 when this virtualenv already has every pinned requirement of pyproject.toml
(dependencies and the dev extra) and the project's console scripts; else 1, saying what
is missing. scripts/install.sh then runs `pip install -e '.[dev]'` only when needed.
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def requirements(pyproject: dict[str, Any]) -> list[str]:
    project = pyproject["project"]
    return [
        *project.get("dependencies", []),
        *project.get("optional-dependencies", {}).get("dev", []),
    ]


def problem(requirement: str) -> str | None:
    match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*(==\s*([^;\s]+))?.*", requirement)
    if match is None:
        return None
    name, pinned = match.group(1), match.group(4)
    try:
        installed = metadata.version(name)
    except metadata.PackageNotFoundError:
        return f"{name} is not installed"
    if pinned and installed != pinned:
        return f"{name} is {installed}, not {pinned}"
    return None


def main() -> int:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    problems = [p for r in requirements(pyproject) if (p := problem(r))]
    try:
        metadata.version(pyproject["project"]["name"])
    except metadata.PackageNotFoundError:
        problems.append(f"{pyproject['project']['name']} is not installed")
    bin_dir = Path(sys.executable).parent
    for script in pyproject["project"].get("scripts", {}):
        if not (bin_dir / script).exists():
            problems.append(f"the command {script} is missing")
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
