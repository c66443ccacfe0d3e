"""`deisctl install-service`: a systemd unit that brings one platform instance up at boot.

`deisctl up` starts the server in the background and returns once it answers, so the unit
is `Type=forking` with the instance's pid file; `deisctl down` stops it. `KillMode=process`
because the apps must outlive the platform: their containers' conmon and slirp4netns
processes may have been started from the platform's process, and systemd must not kill
them with it (a platform restart never restarts apps).
"""

from __future__ import annotations

import re
from pathlib import Path

SYSTEMD_RUNNING = Path("/run/systemd/system")  # what sd_booted(3) checks
DEFAULT_UNIT_DIR = Path("/etc/systemd/system")
DEFAULT_NAME = "deis-platform"
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,200}")


class UnitError(ValueError):
    pass


def unit_file_name(name: str) -> str:
    base = name.removesuffix(".service")
    if not NAME_RE.fullmatch(base):
        raise UnitError(f"{name!r} is not a unit name: letters, digits, '_', '.' and '-' only")
    return f"{base}.service"


def _quoted(value: str | Path) -> str:
    """One argument of an Exec line, quoted when systemd would split or expand it."""
    text = str(value)
    if "\n" in text:
        raise UnitError(f"{text!r} contains a newline")
    if re.fullmatch(r"[A-Za-z0-9_./@:+=,-]+", text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("$", "$$").replace("%", "%%") + '"'


def render(deisctl: Path, state_dir: Path) -> str:
    """The unit's text, for the instance in `state_dir`, run by the `deisctl` at that path."""
    exe = _quoted(deisctl)
    state = _quoted(state_dir)
    pid_file = str(state_dir / "platform.pid").replace("%", "%%")  # a path, taken as is
    description = str(state_dir).replace("%", "%%")
    return "\n".join(
        [
            "[Unit]",
            f"Description=Deis platform (state in {description})",
            "Documentation=https://github.com/deis/workflow",
            "Wants=network-online.target",
            "After=network-online.target postgresql.service",
            "",
            "[Service]",
            "Type=forking",
            f"PIDFile={pid_file}",
            f"ExecStart={exe} up --state-dir {state}",
            f"ExecStop={exe} down --state-dir {state}",
            "KillMode=process",
            "Restart=on-failure",
            "RestartSec=5",
            "TimeoutStartSec=300",
            "TimeoutStopSec=120",
            "",
            "[Install]",
            "WantedBy=multi-user.target",
            "",
        ]
    )
