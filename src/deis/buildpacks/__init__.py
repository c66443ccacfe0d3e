"""The built-in buildpacks, as plain files (Heroku buildpack API: bin/detect, bin/compile,
bin/release), and `runner.sh`, which drives them inside a build-stack container."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "runner.sh"
# The order in which built-in buildpacks are tried when none is named.
BUILTIN_ORDER = ("python", "nodejs", "go", "static", "procfile")


def builtin(name: str) -> Path:
    return HERE / name
