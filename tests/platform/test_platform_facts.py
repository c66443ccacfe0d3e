"""GET /v2/platform's facts: the builder's SSH host key once the builder has made it."""

from __future__ import annotations

from pathlib import Path

from deis.platform.wiring import platform_facts
from deis.settings import Settings


def test_the_builders_host_key_is_given_once_it_exists(tmp_path: Path) -> None:
    facts = platform_facts(Settings(state_dir=tmp_path, builder="git", ssh_port=2223))
    assert "builder_host_key" not in dict(facts)  # not made yet: the builder makes it
    public = tmp_path / "builder" / "ssh_host_ed25519_key.pub"
    public.parent.mkdir()
    public.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA5G comment\n")
    assert dict(facts) == {
        "domain": "localhost",
        "builder": "ssh://git@127.0.0.1:2223",
        "git_http": "http://127.0.0.1:8000",
        "runtime": "podman",
        "builder_host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA5G",
    }


def test_without_the_git_builder_there_is_no_key(tmp_path: Path) -> None:
    assert "builder_host_key" not in dict(
        platform_facts(Settings(state_dir=tmp_path, builder="none"))
    )
