"""The builder's SSH host key in ~/.ssh/known_hosts: the line, the fingerprint, the file."""

from __future__ import annotations

import subprocess
from pathlib import Path

from deis.cli import knownhosts


def test_the_host_field_has_the_port_unless_it_is_22() -> None:
    assert knownhosts.host_pattern("ssh://git@10.0.0.5:2223") == "[10.0.0.5]:2223"
    assert knownhosts.host_pattern("ssh://git@deis-builder.example.com") == (
        "deis-builder.example.com"
    )


def test_the_fingerprint_is_ssh_keygens(tmp_path: Path) -> None:
    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)  # noqa: S603
    public = (tmp_path / "k.pub").read_text()
    shown = subprocess.run(  # noqa: S603
        ["ssh-keygen", "-l", "-f", str(tmp_path / "k.pub")],
        capture_output=True, text=True, check=True,
    ).stdout.split()[1]  # fmt: skip
    assert knownhosts.fingerprint(public) == shown
    assert knownhosts.fingerprint("ssh-ed25519 not-base64!") == ""


def test_added_once_then_known(tmp_path: Path) -> None:
    path = tmp_path / ".ssh" / "known_hosts"
    line = "[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE"
    assert not knownhosts.is_known(line, path)
    knownhosts.add(line, path)
    assert knownhosts.is_known(line, path)
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    assert not knownhosts.is_known("[127.0.0.1]:2222 ssh-ed25519 AAAAother", path)
