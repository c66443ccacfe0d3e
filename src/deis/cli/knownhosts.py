"""The builder's SSH host key in ~/.ssh/known_hosts, so that a first `git push` over SSH
(a script's, a CI job's) does not stop at "Host key verification failed"."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path
from urllib.parse import urlsplit

from deis.cli.context import Session


def host_pattern(builder: str) -> str:
    """`ssh://git@HOST:PORT` → the known_hosts host field: `HOST`, or `[HOST]:PORT`."""
    parts = urlsplit(builder)
    host, port = parts.hostname or "", parts.port or 22
    return host if port == 22 else f"[{host}]:{port}"


def fingerprint(public: str) -> str:
    """`ssh-ed25519 AAAA...` → `SHA256:...`, as `ssh-keygen -l` shows it ("" if unreadable)."""
    words = public.split()
    try:
        blob = base64.b64decode(words[1], validate=True)
    except (IndexError, binascii.Error):
        return ""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def known_hosts_file() -> Path:
    return Path.home() / ".ssh" / "known_hosts"


def builder_line(s: Session) -> str | None:
    """The known_hosts line of the builder, from the controller (None when it does not say:
    a Deis v2 controller, or a builder that has not started yet)."""
    public = s.platform().get("builder_host_key")
    if not isinstance(public, str) or not public.strip():
        return None
    return f"{host_pattern(s.builder())} {' '.join(public.split()[:2])}"


def is_known(line: str, path: Path | None = None) -> bool:
    """Whether known_hosts already has this host with this key (plain, not hashed, entries)."""
    host, kind, key = line.split()[:3]
    try:
        text = (path or known_hosts_file()).read_text(errors="replace")
    except OSError:
        return False
    for entry in text.splitlines():
        words = entry.split()
        if len(words) >= 3 and host in words[0].split(",") and words[1:3] == [kind, key]:
            return True
    return False


def add(line: str, path: Path | None = None) -> Path:
    """Append the line to known_hosts (~/.ssh made 0700 if missing); the file's path."""
    path = path or known_hosts_file()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a") as out:
        out.write(line + "\n")
    return path


def hint(s: Session) -> str | None:
    """What create and git:remote add when the builder's key is not known here yet."""
    line = builder_line(s)
    if line is None or is_known(line):
        return None
    return (
        f"The builder's SSH host key ({fingerprint(line.split(' ', 1)[1])}) is not in"
        f" {known_hosts_file()} yet: `deis git:known-hosts` adds it, so that a first"
        " `git push` need not ask."
    )
