"""The add-ons' servers on this machine (deis.runtime.podman.addons): real PostgreSQL and
Redis containers on the add-on stack image (made once per machine, about a minute),
reached from the attached apps' replicas only, restarted when they die.

The runtime here has its own instance id (`<session instance>-a`) and sees the
machine-wide stack store, where the add-on image lives.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from deis.domain.addons import HOST, Addon
from deis.domain.desired import DesiredApp
from deis.runtime.podman.addons import redis_command
from tests.objects.conftest import free_port, s3_endpoint, s3_store  # noqa: F401 - fixtures
from tests.runtime.conftest import WEB, build_image_tarball, wait_for

NOW = datetime(2026, 12, 6, tzinfo=UTC)


@pytest.fixture(scope="module")
def stack_image() -> str:
    from deis.stack.build import ensure_extra
    from deis.stack.definition import ADDON_STACK

    return ensure_extra(ADDON_STACK)


@pytest.fixture(scope="module")
def rig(
    instance_id: str, tmp_path_factory: pytest.TempPathFactory, stack_image: str
) -> Iterator[Any]:
    import json

    from deis.runtime.podman import PodmanRuntime, purge
    from deis.runtime.podman.addons import PodmanAddons

    state = tmp_path_factory.mktemp("deis-addons") / "state"
    instance = f"{instance_id}-a"
    runtime = PodmanRuntime(
        state, instance, grace_seconds=1, deploy_timeout=20, supervise_interval=0.5
    )
    image = f"localhost/deis-test/busybox:{instance}"
    tarball = state.parent / "busybox.tar"
    build_image_tarball(tarball)
    runtime.podman.import_image(
        tarball, image, [f"CMD {json.dumps(['/bin/sh', '-c', WEB])}", "WORKDIR /"]
    )
    runtime.test_image = image
    runtime.start()
    from deis.objects.filesystem import FilesystemObjects

    objects = FilesystemObjects(state / "objects")
    servers = PodmanAddons(
        runtime, image=lambda: stack_image, objects=objects, supervise_interval=0.5
    )
    servers.start()
    try:
        yield runtime, servers
    finally:
        servers.stop()
        for name in list(servers._known):
            servers.deprovision(name)
        runtime.stop()
        for app in runtime.apps():
            runtime.remove(app)
        purge(state, instance)


def addon(service: str, port: int) -> Addon:
    name = f"{service}-test-{secrets.randbelow(10000):04d}"
    return Addon(name, service, "mini", "app", "alice", secrets.token_hex(8), port, NOW, NOW)


def deploy(runtime: Any, app: str, env: dict[str, str] | None = None) -> str:
    runtime.deploy(
        DesiredApp(
            app=app,
            version=1,
            image=runtime.test_image,
            kind="image",
            sha="0000001",
            procfile={"web": WEB},
            structure={"web": 1},
            env=env or {},
        )
    )
    return runtime.pods(app)[0].name


def from_replica(runtime: Any, replica: str, script: str) -> str:
    outcome = runtime.podman.exec(replica, ["/bin/sh", "-c", script], timeout=20)
    return str(outcome.output)


def test_postgres_is_made_reached_only_by_attached_apps_and_restarted(rig: Any) -> None:
    runtime, servers = rig
    pg = addon("postgres", 25001)
    servers.provision(pg)  # returns once it accepts a signed-in connection
    assert servers.state(pg.name) == "available"
    address = servers.address(pg.name)
    dsn = dict(host=address, port=5432, user="app", password=pg.password, dbname="app")
    with psycopg.connect(**dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE notes (body text)")
        conn.execute("INSERT INTO notes VALUES ('kept')")

    attached, other = f"a{secrets.token_hex(3)}", f"b{secrets.token_hex(3)}"
    mine, theirs = deploy(runtime, attached), deploy(runtime, other)
    servers.reach(pg, [attached])
    # the SSLRequest of the PostgreSQL protocol: the server answers "N" (no TLS)
    ssl_request = r"printf '\000\000\000\010\004\322\026\057' | nc -w 3"
    assert wait_for(
        lambda: from_replica(runtime, mine, f"{ssl_request} {HOST} {pg.port}") == "N",
        10,
        "the attached app's replica to reach the add-on",
    )
    # the other app: nothing listens on its own link, and there is no route to the
    # attached replica's link nor to the add-on's own address
    refused = from_replica(runtime, theirs, f"{ssl_request} {HOST} {pg.port} 2>&1")
    assert "Connection refused" in refused
    gateway = runtime.links(attached)[0][0]
    unreachable = from_replica(runtime, theirs, f"{ssl_request} {gateway} {pg.port} 2>&1")
    assert "Network is unreachable" in unreachable
    direct = from_replica(runtime, theirs, f"{ssl_request} {address} 5432 2>&1")
    assert "Network is unreachable" in direct
    servers.podman.kill(f"addon_{pg.name}")
    # the supervisor may restart it before a `podman ps` here sees it stopped
    wait_for(lambda: servers._restarts.get(pg.name, (0, 0))[0] >= 1, 10, "a restart")
    wait_for(lambda: servers.state(pg.name) == "available", 20, "the add-on to be restarted")

    def row() -> Any:
        try:
            with psycopg.connect(**dsn, connect_timeout=2) as conn:
                return conn.execute("SELECT body FROM notes").fetchone()
        except psycopg.OperationalError:
            return None

    assert wait_for(row, 30, "the restarted server to answer") == ("kept",)

    servers.reach(pg, [])  # detached: the listener goes, with its connections
    assert wait_for(
        lambda: "refused" in from_replica(runtime, mine, f"{ssl_request} {HOST} {pg.port} 2>&1"),
        10,
        "the detached app to lose the add-on",
    )
    servers.deprovision(pg.name)
    assert servers.state(pg.name) == "missing"
    assert not (servers.directory / pg.name).exists()


def test_redis_answers_through_the_forwarder(rig: Any) -> None:
    runtime, servers = rig
    redis = addon("redis", 25002)
    servers.provision(redis)
    app = f"r{secrets.token_hex(3)}"
    replica = deploy(runtime, app)
    servers.reach(redis, [app])
    command = (
        f"printf 'AUTH default {redis.password}\\r\\nPING\\r\\n' | nc -w 2 {HOST} {redis.port}"
    )
    assert wait_for(
        lambda: "+PONG" in from_replica(runtime, replica, command), 10, "PONG from the replica"
    )
    servers.deprovision(redis.name)
    assert not any(c.name == f"addon_{redis.name}" for c in servers._containers({}))


def test_a_server_that_cannot_start_is_removed(rig: Any, tmp_path: Path) -> None:
    runtime, servers = rig
    broken = Addon("postgres-broken-0001", "postgres", "mini", "app", "alice", "x", 25003, NOW, NOW)
    servers.ready_timeout = 3.0
    original = servers.image
    servers.image = lambda: runtime.test_image  # busybox: no postgres in it
    try:
        with pytest.raises(Exception, match="did not accept connections"):
            servers.provision(broken)
    finally:
        servers.image = original
        servers.ready_timeout = 90.0
    assert servers.state(broken.name) == "missing"
    assert not (servers.directory / broken.name).exists()
    time.sleep(0)


def test_backups_are_restored(rig: Any) -> None:
    runtime, servers = rig
    pg, redis = addon("postgres", 25004), addon("redis", 25005)
    servers.provision(pg)
    servers.provision(redis)
    dsn = dict(
        host=servers.address(pg.name), port=5432, user="app", password=pg.password, dbname="app"
    )
    with psycopg.connect(**dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE notes (body text)")
        conn.execute("INSERT INTO notes VALUES ('kept')")
    assert servers.backup(pg, "addons/pg/b1.dump") > 0
    with psycopg.connect(**dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM notes")
        conn.execute("CREATE TABLE later (x int)")
    servers.restore(pg, "addons/pg/b1.dump")
    with psycopg.connect(**dsn) as conn:
        assert conn.execute("SELECT body FROM notes").fetchall() == [("kept",)]

    def redis_call(*commands: str) -> str:
        import socket

        with socket.create_connection((servers.address(redis.name), 6379), timeout=5) as c:
            c.sendall(f"AUTH default {redis.password}\r\n".encode())
            for command in commands:
                c.sendall(f"{command}\r\n".encode())
            time.sleep(0.3)
            return c.recv(4096).decode()

    assert "+OK" in redis_call("SET visits 41")
    assert servers.backup(redis, "addons/redis/b1.rdb") > 0
    redis_call("SET visits 0")
    servers.restore(redis, "addons/redis/b1.rdb")
    assert "41" in redis_call("GET visits")
    assert servers.state(redis.name) == "available"
    servers.deprovision(pg.name)
    servers.deprovision(redis.name)


def test_connect_gives_the_services_client_on_a_terminal(rig: Any) -> None:
    from deis.domain.terminal import Opening

    runtime, servers = rig

    class Transcript:
        """What the client printed; `until` finds each expected text after the last one
        found (a reply and the next prompt often come in one read)."""

        def __init__(self, session: Any) -> None:
            self.session, self.seen, self.at = session, b"", 0

        def until(self, wanted: bytes, timeout: float = 30) -> None:
            deadline = time.monotonic() + timeout
            while self.seen.find(wanted, self.at) < 0 and time.monotonic() < deadline:
                chunk = self.session.read(0.5)
                if chunk == b"":
                    break
                self.seen += chunk or b""
            found = self.seen.find(wanted, self.at)
            assert found >= 0, f"no {wanted!r} in {timeout}s; got {self.seen[self.at :]!r}"
            self.at = found + len(wanted)

    for service, prompt, typed, leave in (
        ("postgres", b"app=>", b"SELECT 40 + 2 AS answer;\r", b"\\q\r"),
        ("redis", b"6379>", b"INCRBY answer 42\r", b"quit\r"),
    ):
        made = addon(service, 25006 if service == "postgres" else 25007)
        servers.provision(made)
        session = servers.terminal(made, Opening(service, 100, 30, "xterm"))
        transcript = Transcript(session)
        try:
            transcript.until(prompt)  # keys typed before the client reads them are lost
            session.write(typed)
            transcript.until(b"(1 row)" if service == "postgres" else b"(integer) 42")
            transcript.until(prompt)
            session.write(leave)
            deadline = time.monotonic() + 20
            while session.read(0.5) != b"" and time.monotonic() < deadline:
                pass
            assert session.wait() == 0
        finally:
            session.close()
            servers.deprovision(made.name)


# --- the cluster's backup and restore pods, run for real -------------------------------


def run_cluster_job(rig: Any, image: str, made: Addon, action: str, url: str) -> str:
    """The container of the pod KubernetesAddons makes for a backup or restore, run by
    podman as a node would (its command, its env with the Secret's password and the pod's
    IP filled in), on the host's network (the object store is on 127.0.0.1), against this
    machine's server of the add-on: ADDON_HOST, the Service's name on a cluster, is the
    server's address here."""
    from deis.runtime.kubernetes import addons as k8s

    runtime, servers = rig
    pod = k8s.job_pod(made, f"{made.name}-{action}", action, image, url, 600)
    [container] = pod["spec"]["containers"]
    env = {}
    for item in container["env"]:
        if "value" in item:
            env[item["name"]] = item["value"]
        elif "secretKeyRef" in item["valueFrom"]:
            env[item["name"]] = made.password
        else:  # status.podIP: where the server reaches the job (the host, here)
            env[item["name"]] = servers._allocation(made.name).host_address
    env["ADDON_HOST"] = servers.address(made.name)
    env["SOURCE_PORT"] = str(free_port())
    args = ["run", "--rm", "--network=host", *(f"--env={k}" for k in sorted(env))]
    outcome = runtime.podman.call(
        [*args, image, *container["command"]], env=env, timeout=120, check=False
    )
    assert outcome.code == 0, outcome.output
    return str(outcome.output)


def test_the_clusters_backup_and_restore_pods_work_on_the_real_servers(
    rig: Any,
    stack_image: str,
    s3_store: Any,  # noqa: F811
) -> None:
    runtime, servers = rig
    pg, redis = addon("postgres", 25008), addon("redis", 25009)
    servers.provision(pg)
    servers.provision(redis)
    try:
        dsn = dict(
            host=servers.address(pg.name), port=5432, user="app", password=pg.password,
            dbname="app",
        )  # fmt: skip
        with psycopg.connect(**dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE notes (body text)")
            conn.execute("INSERT INTO notes VALUES ('kept')")
        key = "addons/pg/b20261206120000.dump"
        output = run_cluster_job(rig, stack_image, pg, "backup", s3_store.url(key, "PUT"))
        size = int(output.strip().splitlines()[-1])  # what KubernetesAddons.backup reads
        assert size == len(s3_store.get(key)) and s3_store.get(key).startswith(b"PGDMP")
        with psycopg.connect(**dsn, autocommit=True) as conn:
            conn.execute("DELETE FROM notes")
            conn.execute("INSERT INTO notes VALUES ('lost')")
        run_cluster_job(rig, stack_image, pg, "restore", s3_store.url(key, "GET"))
        with psycopg.connect(**dsn) as conn:
            assert conn.execute("SELECT body FROM notes").fetchall() == [("kept",)]

        address = servers.address(redis.name)
        redis_command(redis, address, "SET visits 41")
        key = "addons/redis/b20261206120000.rdb"
        output = run_cluster_job(rig, stack_image, redis, "backup", s3_store.url(key, "PUT"))
        assert int(output.strip().splitlines()[-1]) == len(s3_store.get(key))
        assert s3_store.get(key).startswith(b"REDIS")
        redis_command(redis, address, "SET visits 0")
        redis_command(redis, address, "SET later 1")
        # the server becomes a replica of the job's own server, then stands alone again
        run_cluster_job(rig, stack_image, redis, "restore", s3_store.url(key, "GET"))
        assert raw_redis(redis, address, "GET visits").endswith("$2\r\n41\r\n")
        assert raw_redis(redis, address, "EXISTS later").endswith(":0\r\n")
        assert "role:master" in raw_redis(redis, address, "INFO replication")
        redis_command(redis, address, "SET after 1")  # writable again
    finally:
        servers.deprovision(pg.name)
        servers.deprovision(redis.name)


def raw_redis(made: Addon, address: str, command: str) -> str:
    import socket

    with socket.create_connection((address, 6379), timeout=5) as conn:
        conn.sendall(f"AUTH default {made.password}\r\n{command}\r\n".encode())
        time.sleep(0.3)
        return conn.recv(8192).decode()


def test_a_server_cannot_outgrow_its_disk(rig: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The plan's disk (here made small) is a filesystem of its own: writing past it fails
    with the server's own "No space left on device", and the server goes on answering."""
    from deis.runtime.podman.addons import container_name

    runtime, servers = rig
    monkeypatch.setattr(servers, "disk_mb", lambda made: 96)
    pg = addon("postgres", 25010)
    servers.provision(pg)
    try:
        used, total = servers.disk_usage(pg.name)
        assert 80 * 2**20 < total <= 96 * 2**20 and used > 20 * 2**20  # initdb's files
        fill = "dd if=/dev/zero of=/data/fill bs=1M count=200 2>&1; echo exit=$?"
        outcome = runtime.podman.call(
            ["exec", container_name(pg.name), "bash", "-c", fill], check=False, timeout=60
        )
        assert "No space left on device" in outcome.output and "exit=1" in outcome.output
        runtime.podman.call(["exec", container_name(pg.name), "rm", "/data/fill"], timeout=30)
        dsn = dict(
            host=servers.address(pg.name), port=5432, user="app", password=pg.password,
            dbname="app",
        )  # fmt: skip
        with psycopg.connect(**dsn) as conn:
            assert conn.execute("SELECT 40 + 2").fetchone() == (42,)
    finally:
        servers.deprovision(pg.name)
    assert not (servers.directory / pg.name).exists()  # the disk with it


def test_a_new_plan_restarts_the_server_bigger_on_the_same_data(
    rig: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from deis.runtime.podman.addons import container_name

    runtime, servers = rig
    monkeypatch.setattr(servers, "disk_mb", lambda made: {"mini": 24, "standard": 48}[made.plan])
    redis = addon("redis", 25011)
    servers.provision(redis)
    try:
        address = servers.address(redis.name)
        redis_command(redis, address, "SET visits 41")
        _, small = servers.disk_usage(redis.name) or (0, 0)
        bigger = replace(redis, plan="standard")
        servers.change_plan(redis, bigger)
        assert raw_redis(bigger, address, "GET visits").endswith("$2\r\n41\r\n")
        _, grown = servers.disk_usage(redis.name) or (0, 0)
        assert small < 24 * 2**20 < grown <= 48 * 2**20
        inspected = runtime.podman.call(
            ["inspect", "--format", "{{.HostConfig.Memory}}", container_name(redis.name)],
            timeout=30,
            merge_stderr=False,
        )
        assert int(inspected.output.strip()) == 256 * 2**20  # the standard plan's
        maxclients = raw_redis(bigger, address, "CONFIG GET maxclients")
        assert "1000" in maxclients
    finally:
        servers.deprovision(redis.name)
