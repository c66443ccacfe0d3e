"""Add-ons end to end, with every real part: examples/python-addons pushed with git,
`deis addons:create postgres` and `redis`, rows written and read through the router;
the platform restarted (and the app reaching its database while it is down); the
add-on's container killed (it comes back, with the row); `addons:destroy`."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.platforms import registered_platform
from tests.e2e.test_first_deploy import BIN, ROOT, Deployment

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def platform() -> Iterator[Deployment]:
    with registered_platform("addons", Deployment, apps_dir="app") as d:
        yield d


def http(d: Deployment, app: str, path: str, data: str | None = None) -> tuple[int, str]:
    args = ["curl", "-s", "-m", "15", "-o", "-", "-w", "\n%{http_code}"]
    if data is not None:
        args += ["--data-binary", data]
    out = d.run(*args, f"http://{app}.localhost:{d.router_port}{path}", check=False)
    body, _, code = out.rpartition("\n")
    return int(code or 0), body


def wait_for(d: Deployment, app: str, path: str, want: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    status, body = http(d, app, path)
    while not (status == 200 and want in body) and time.monotonic() < deadline:
        time.sleep(0.5)
        status, body = http(d, app, path)
    assert status == 200 and want in body, (status, body)
    return body


def podman(d: Deployment) -> object:
    from deis.runtime.podman.podman import Podman
    from deis.stack import podman_conf as conf

    instance = (d.state / "runtime" / "instance-id").read_text().strip()
    return Podman(conf.paths_for(d.state, instance))


def test_an_app_keeps_its_rows_through_restarts_and_a_killed_server(
    platform: Deployment, tmp_path: Path
) -> None:
    d = platform
    shutil.copytree(ROOT / "examples" / "python-addons", d.app_dir, dirs_exist_ok=True)
    d.run("git", "init", "-q")
    d.run("git", "add", "-A")
    d.run("git", "commit", "-qm", "notes")
    app = "notes"
    d.deis("create", app)
    assert "Done, notes:v2 deployed" in d.run("git", "push", "deis", "master", timeout=900)
    assert http(d, app, "/notes")[0] == 503  # no database yet

    started = time.monotonic()
    made = d.deis("addons:create", "postgres")
    created_in = time.monotonic() - started
    name = re.search(r"(postgres-[a-z]+-\d{4}) \(mini\) is attached to notes", made)
    assert name, made
    addon = name[1]
    assert http(d, app, "/notes", "first")[0] == 201
    assert wait_for(d, app, "/notes", "first") == "first\n"
    first_query_in = time.monotonic() - started
    assert f"dev attached {addon}" in d.deis("releases")

    # the platform stops (its router too): the app's replica, asked directly, keeps its
    # database (the forwarder outlives the platform); then the platform starts again
    d.run(str(BIN / "deisctl"), "down", "--state-dir", str(d.state))
    replica = f"http://{_replica_address(d, app)}:5000/notes"
    added = d.run("curl", "-s", "-m", "15", "--data-binary", "while down", replica)
    assert added == "added while down\n"
    d.run(str(BIN / "deisctl"), "up", "--state-dir", str(d.state), timeout=120)
    assert wait_for(d, app, "/notes", "while down") == "first\nwhile down\n"
    assert "available" in d.deis("addons:info", addon)

    # the server is killed: the platform starts it again, with its data
    podman(d).kill(f"addon_{addon}")  # type: ignore[attr-defined]
    assert wait_for(d, app, "/notes", "while down", timeout=60) == "first\nwhile down\n"

    # a backup, a row written after it, a restore: the row is gone again
    backed = d.deis("addons:backup", addon)
    taken = re.search(r"done: (b\d{14}) \(", backed)
    assert taken, backed
    assert taken[1] in d.deis("addons:backups", addon)
    assert http(d, app, "/notes", "after the backup")[0] == 201
    d.deis("addons:restore", addon, taken[1], "--confirm", addon)
    assert http(d, app, "/notes") == (200, "first\nwhile down\n")

    # deisctl backup holds the add-on's data; deisctl restore brings it back
    archive = tmp_path / "platform.tar.gz"
    saved = d.run(str(BIN / "deisctl"), "backup", str(archive), "--state-dir", str(d.state))
    assert f"addons/{addon}/data/restore.dump" in saved
    assert http(d, app, "/notes", "after deisctl backup")[0] == 201
    d.run(str(BIN / "deisctl"), "down", "--state-dir", str(d.state))
    d.run(str(BIN / "deisctl"), "restore", str(archive), "--state-dir", str(d.state))
    d.run(str(BIN / "deisctl"), "up", "--state-dir", str(d.state), timeout=120)
    deadline = time.monotonic() + 60
    while http(d, app, "/notes") != (200, "first\nwhile down\n") and time.monotonic() < deadline:
        time.sleep(0.5)
    assert http(d, app, "/notes") == (200, "first\nwhile down\n")

    redis = d.deis("addons:create", "redis", "--as", "cache")
    assert "as CACHE_URL" in redis
    d.deis("config:set", f"REDIS_URL={_config(d)['CACHE_URL']}")
    assert wait_for(d, app, "/visits", "1") == "1\n"
    assert http(d, app, "/visits") == (200, "2\n")
    cache_name = re.search(r"(redis-[a-z]+-\d{4})", redis)
    assert cache_name
    kept = re.search(r"(b\d{14})", d.deis("addons:backup", cache_name[1]))
    assert kept
    assert http(d, app, "/visits") == (200, "3\n")
    d.deis("addons:restore", cache_name[1], kept[1], "--confirm", cache_name[1])
    assert http(d, app, "/visits") == (200, "3\n")  # 2 again, then this visit

    d.deis("addons:detach", addon)
    assert http(d, app, "/notes")[0] == 503
    cache = re.search(r"(redis-[a-z]+-\d{4})", redis)
    assert cache
    for gone in (addon, cache[1]):
        d.deis("addons:destroy", gone, "--confirm", gone, "--force")
        assert not (d.state / "addons" / gone).exists()
        assert not podman(d).ps({"deis.addon": gone})  # type: ignore[attr-defined]
    (tmp_path / "timings.json").write_text(
        json.dumps({"create_s": created_in, "first_query_s": first_query_in})
    )
    print(f"addons:create postgres {created_in:.1f}s, first query {first_query_in:.1f}s")


def _config(d: Deployment) -> dict[str, str]:
    return json.loads(d.deis("config", "-o", "json"))  # type: ignore[no-any-return]


def _replica_address(d: Deployment, app: str) -> str:
    from deis.runtime.podman import netns

    instance = (d.state / "runtime" / "instance-id").read_text().strip()
    found = [  # the newest release's (its 10 digits start with the version)
        (allocation.container.split("-")[-2], allocation.address)
        for allocation in netns.Ipam().of_instance(instance)
        if allocation.container.startswith(f"{app}-web-")
    ]
    assert found, f"no replica of {app}"
    return max(found)[1]
