"""Issue 17, item 10, from the client: `deis auth:logout` revokes its token on the
controller before it forgets it, so a copy of ~/.deis/client.json is of no use after."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from deis.cli.main import main
from tests.api.conftest import live_server


def test_deis_logout_revokes_the_token(
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("DEIS_PROFILE", raising=False)
    with live_server(tmp_path, database_url=database_url) as url:
        argv = ["register", url, "--username", "alice", "--password", "pw-12345",
                "--email", "alice@example.com"]  # fmt: skip
        assert main(argv) == 0
        token = json.loads((home / ".deis" / "client.json").read_text())["token"]
        headers = {"Authorization": f"token {token}"}
        assert httpx.get(f"{url}/v2/auth/whoami", headers=headers).status_code == 200
        capsys.readouterr()
        assert main(["auth:logout"]) == 0
        assert capsys.readouterr().out == "Logged out\n"
        assert not (home / ".deis" / "client.json").exists()
        assert httpx.get(f"{url}/v2/auth/whoami", headers=headers).status_code == 401
