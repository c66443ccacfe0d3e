"""PodmanAddons: the AddonServers port on one machine.

Each add-on is a container (`addon_NAME`; an underscore, which no app name has) on the
add-on stack image (PostgreSQL 15 and Redis 7 from Debian, made once per machine), in a
network namespace of its own with a /30 link to the host like a replica's, its data in
`STATE/addons/NAME/data` (bind-mounted at /data) on a disk of the plan's size
(deis.runtime.podman.addon_disk), the memory and CPU of its plan. Only
the host reaches it; the apps it is attached to reach it through the forwarder
(deis.runtime.podman.forwarder), which listens on the host end of each of their
replicas' links. A supervision thread restarts a server that stopped (with back-off),
and keeps the forwarder's routes and process right.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deis.domain.addons import HOST, USER, Addon, server_settings
from deis.domain.errors import Unavailable
from deis.domain.terminal import Opening, Watch
from deis.ports import Objects
from deis.runtime import spec
from deis.runtime.addon_scripts import start_script
from deis.runtime.podman import addon_disk, netns
from deis.runtime.podman.podman import PODMAN, Container, PodmanError
from deis.runtime.podman.terminal import PtyTerminal

log = logging.getLogger(__name__)

PREFIX = "addon_"
LABEL_ADDON = "deis.addon"
READY_TIMEOUT = 90.0
BACKUP_TIMEOUT = 3600.0
APPLY_WAIT = 3.0  # seconds a new replica's start waits for the forwarder to listen
PIDS_LIMIT = 512

# Backups, run in the container as the server's own user, the password read from where
# the server has it (never on a command line).
POSTGRES_BACKUP = "exec runuser -u postgres -- pg_dump -h /tmp -Fc app"
POSTGRES_RESTORE = (
    "exec runuser -u postgres -- pg_restore -h /tmp -d app --clean --if-exists --single-transaction"
)
REDIS_BACKUP = r"""
set -eu
export REDISCLI_AUTH="$(sed -n 's/^requirepass //p' /tmp/redis.conf)"
redis-cli --no-auth-warning --rdb /tmp/backup.rdb >/dev/null
cat /tmp/backup.rdb && rm -f /tmp/backup.rdb
"""


def container_name(name: str) -> str:
    return PREFIX + name


def is_addon_container(name: str) -> bool:
    return name.startswith(PREFIX)


class PodmanAddons:
    name = "podman"

    def __init__(
        self,
        runtime: object,
        *,
        image: Callable[[], str],
        objects: Objects | None = None,
        supervise_interval: float = 1.0,
        ready_timeout: float = READY_TIMEOUT,
        disk_mb: Callable[[Addon], int] | None = None,
    ) -> None:
        """runtime: the PodmanRuntime whose apps reach the add-ons (its podman, its
        address allocations, its replicas' links). image: the add-on stack's image name,
        made when missing (the first time takes about a minute). disk_mb: the size of an
        add-on's disk (default: its plan's)."""
        from deis.runtime.podman.adapter import PodmanRuntime

        assert isinstance(runtime, PodmanRuntime)
        self.runtime = runtime
        self.podman = runtime.podman
        self.ipam = runtime.engine.ipam
        self.instance = runtime.instance_id
        self.directory = runtime.state_dir / "addons"
        self.image = image
        self.objects = objects
        self.ready_timeout = ready_timeout
        self.disk_mb = disk_mb or (lambda addon: addon.sizes.disk_gb * 1024)
        self.interval = supervise_interval
        self._lock = threading.Lock()
        # held while a server is made, removed or revived: the supervisor never starts
        # one that is being removed, nor a second copy of one being made
        self._acting = threading.RLock()
        self._known: dict[str, Addon] = {}
        self._reach: dict[str, list[str]] = {}
        self._restarts: dict[str, tuple[int, float]] = {}  # name: (count, next try)
        self._routes: list[list[object]] | None = None
        self._routes_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        runtime.engine.on_started = self._replica_started

    def _replica_started(self, app: str) -> None:
        """A replica of an app started: if an add-on is attached to the app, the forwarder
        listens on its link before it can get ready (it waits for that, briefly)."""
        with self._lock:
            attached = any(app in apps for apps in self._reach.values())
        if attached:
            self._write_routes(wait=True)

    # --- paths ---------------------------------------------------------------------------

    def data_dir(self, name: str) -> Path:
        return self.directory / name / "data"

    @property
    def routes_file(self) -> Path:
        return self.directory / "forward.json"

    @property
    def pid_file(self) -> Path:
        return self.directory / "forwarder.pid"

    # --- the port ------------------------------------------------------------------------

    def url(self, addon: Addon) -> str:
        return addon.url()

    def provision(self, addon: Addon) -> None:
        try:
            image = self.image()
        except Exception as exc:
            raise Unavailable(f"Cannot make the add-on stack image: {exc}") from None
        try:
            with self._acting:
                with self._lock:
                    self._known[addon.name] = addon
                self._start(addon, image)
            self._wait_ready(addon)
        except BaseException:
            self.deprovision(addon.name)
            raise
        log.info("add-on %s is ready", addon.name)

    def deprovision(self, name: str) -> None:
        with self._acting:
            with self._lock:
                self._known.pop(name, None)
                self._reach.pop(name, None)
                self._restarts.pop(name, None)
            self.podman.remove([container_name(name)])
            self._free(name)
            with contextlib.suppress(addon_disk.DiskError):
                addon_disk.detach(self.data_dir(name))
            if not addon_disk.mounted(self.data_dir(name)):  # never the files of a mounted disk
                shutil.rmtree(self.directory / name, ignore_errors=True)
        self._write_routes()

    def change_plan(self, old: Addon, new: Addon) -> None:
        """Stop the server, grow its disk if the plan's is bigger, start it again with the
        plan's memory, CPU and connections on the same data; back to the old plan's sizes
        when it does not get ready."""
        try:
            self._restart_as(new)
        except Unavailable as error:
            log.warning("add-on %s did not start on its new plan: %s", new.name, error)
            self._restart_as(old)
            raise Unavailable(
                f"{new.name} did not start with the plan {new.plan} ({error}); "
                f"it runs on {old.plan} as before."
            ) from None

    def _restart_as(self, addon: Addon) -> None:
        name = container_name(addon.name)
        with self._acting:  # the supervisor neither starts it meanwhile nor revives it
            with self._lock:
                self._known[addon.name] = addon
            self.podman.call(["stop", "-t", "30", name], check=False, timeout=90)
            try:
                addon_disk.detach(self.data_dir(addon.name))  # grown while not mounted
            except addon_disk.DiskError as error:
                raise Unavailable(f"Cannot unmount the disk of {addon.name}: {error}") from None
            self._start(addon, self.image())
        self._wait_ready(addon)

    def state(self, name: str) -> str:
        found = self._containers({LABEL_ADDON: name})
        if not found:
            return "missing"
        status = found[0].state
        if status == "running":
            return "available"
        if status in ("exited", "stopped", "dead"):
            return "crashed"
        return "starting"

    def reach(self, addon: Addon, apps: list[str]) -> None:
        with self._lock:
            self._known[addon.name] = addon
            self._reach[addon.name] = sorted(set(apps))
        self._write_routes()

    def adopt(self, addons: list[tuple[Addon, list[str]]]) -> None:
        with self._lock:
            for addon, apps in addons:
                self._known[addon.name] = addon
                self._reach[addon.name] = sorted(set(apps))
        if addons:
            self.supervise_once()

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="deis-addons", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop supervising; the servers and the forwarder keep running."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.supervise_once()
            except Exception:
                log.exception("supervising the add-ons failed")

    def supervise_once(self) -> None:
        with self._acting:
            with self._lock:
                known = dict(self._known)
            if not known:
                return
            running = {c.labels.get(LABEL_ADDON, ""): c for c in self._containers({})}
            for name, addon in known.items():
                container = running.get(name)
                if container is None or container.state != "running":
                    self._revive(addon, container)
            self._apply_pending_restores(known)
        self._write_routes()
        self._ensure_forwarder()

    def _revive(self, addon: Addon, container: Container | None) -> None:
        count, next_try = self._restarts.get(addon.name, (0, 0.0))
        now = time.monotonic()
        if now < next_try:
            return
        self._restarts[addon.name] = (count + 1, now + min(2.0**count, 300.0))
        try:
            allocation = self._allocation(addon.name)
            if allocation is not None:
                netns.ensure(allocation)
            if container is None:
                log.warning("add-on %s has no container: making it again", addon.name)
                self._start(addon, self.image())
            else:
                log.warning("add-on %s stopped (%s): starting it", addon.name, container.state)
                self._attach_disk(addon)
                self.podman.start(container.name)
        except Exception:
            log.exception("restarting add-on %s failed", addon.name)

    # --- the server's container ----------------------------------------------------------

    def _containers(self, labels: dict[str, str]) -> list[Container]:
        found = self.podman.ps({spec.LABEL_INSTANCE: self.instance, **labels})
        return [c for c in found if is_addon_container(c.name)]

    def _allocation(self, name: str) -> netns.Allocation | None:
        wanted = container_name(name)
        for allocation in self.ipam.of_instance(self.instance):
            if allocation.container == wanted:
                return allocation
        return None

    def _free(self, name: str) -> None:
        allocation = self._allocation(name)
        if allocation is not None:
            netns.teardown(allocation)
            self.ipam.release(allocation)

    def _start(self, addon: Addon, image: str) -> None:
        name = container_name(addon.name)
        self.podman.remove([name])
        allocation = self._allocation(addon.name)
        if allocation is None:
            allocation = self.ipam.allocate(self.instance, self.runtime.state_dir, name)
        netns.setup(allocation)
        data = self.data_dir(addon.name)
        self._attach_disk(addon)
        plan = addon.sizes
        env = {"ADDON_PASSWORD": addon.password, **server_settings(addon)}
        script = start_script(addon)
        args = [
            "--name",
            name,
            "--network",
            f"ns:{allocation.netns_path}",
            "--pull",
            "never",
            "--hostname",
            addon.name,
            "--init",
            "--label",
            f"{spec.LABEL_INSTANCE}={self.instance}",
            "--label",
            f"{LABEL_ADDON}={addon.name}",
            "--label",
            "heritage=deis",
            "--memory",
            f"{plan.memory_mb}m",
            "--cpus",
            f"{plan.cpus:g}",
            "--pids-limit",
            str(PIDS_LIMIT),
            "-v",
            f"{data}:/data",
            *[item for key in sorted(env) for item in ("-e", key)],
            "--",
            image,
            "bash",
            "-c",
            script,
        ]
        self.podman.run_detached(args, env)

    def _attach_disk(self, addon: Addon) -> None:
        try:
            addon_disk.attach(
                self.directory / addon.name, self.data_dir(addon.name), self.disk_mb(addon)
            )
        except addon_disk.DiskError as error:
            raise Unavailable(f"Cannot mount the disk of {addon.name}: {error}") from None

    def disk_usage(self, name: str) -> tuple[int, int] | None:
        """(bytes used, bytes in all) of the add-on's disk."""
        return addon_disk.usage(self.data_dir(name))

    def disk_used(self, name: str) -> int | None:
        usage = self.disk_usage(name)
        return usage[0] if usage else None

    def address(self, name: str) -> str:
        allocation = self._allocation(name)
        if allocation is None:
            raise Unavailable(f"Add-on {name} has no address.")
        return allocation.address

    def _wait_ready(self, addon: Addon) -> None:
        deadline = time.monotonic() + self.ready_timeout
        address = self.address(addon.name)
        last = ""
        while time.monotonic() < deadline:
            if self.state(addon.name) == "crashed":
                last = "its server exited"
                break
            try:
                ping(addon, address)
                return
            except Exception as exc:
                last = str(exc) or type(exc).__name__
            time.sleep(0.2)
        output = self.output(addon.name)
        raise Unavailable(
            f"{addon.name} did not accept connections within {self.ready_timeout:g}s"
            f" ({last}){': ' + output if output else ''}"
        )

    def output(self, name: str, lines: int = 10) -> str:
        try:
            return self.podman.logs(container_name(name), lines).strip()
        except (PodmanError, OSError):
            return ""

    # --- a client on a terminal (deis addons:connect) -------------------------------------

    def terminal(self, addon: Addon, opening: Opening) -> PtyTerminal:
        """psql or redis-cli in a container of its own in the add-on's network namespace
        (so it reaches the server on the loopback, and nothing else), signed in by an
        environment variable; removed when the session ends."""
        allocation = self._allocation(addon.name)
        if allocation is None or self.state(addon.name) != "available":
            raise Unavailable(f"{addon.name} is not running; see deis addons:info {addon.name}")
        name = f"{PREFIX}connect_{addon.name}_{secrets.token_hex(3)}"
        if addon.service == "redis":
            env = {"REDISCLI_AUTH": addon.password, "TERM": opening.term}
            client = ["redis-cli", "--no-auth-warning", "-h", "127.0.0.1"]
        else:
            env = {"PGPASSWORD": addon.password, "TERM": opening.term}
            client = ["psql", "-h", "127.0.0.1", "-U", USER, USER]
        args = [
            "--rm",
            "--name",
            name,
            "--network",
            f"ns:{allocation.netns_path}",
            "--pull",
            "never",
            "--label",
            f"{spec.LABEL_INSTANCE}={self.instance}",
            "--memory",
            "128m",
            "--pids-limit",
            "64",
            *[item for key in sorted(env) for item in ("-e", key)],
            "--",
            self.image(),
            *client,
        ]
        return PtyTerminal(
            self.podman,
            args,
            env,
            name=name,
            size=(opening.cols, opening.rows),
            watch=Watch(self.runtime.run_timeout, self.runtime.run_idle_timeout, time.monotonic()),
            cleanup=lambda: None,
        )

    # --- backups -----------------------------------------------------------------------

    def backup(self, addon: Addon, key: str) -> int:
        if self.objects is None:
            raise Unavailable("This platform keeps no backups (no object store).")
        script = REDIS_BACKUP if addon.service == "redis" else POSTGRES_BACKUP
        with tempfile.TemporaryDirectory(prefix="deis-addon-") as work:
            target = Path(work) / "snapshot"
            self._exec(addon.name, script, stdout=target)
            return self.objects.put(key, target)

    def restore(self, addon: Addon, key: str) -> None:
        if self.objects is None:
            raise Unavailable("This platform keeps no backups (no object store).")
        with tempfile.TemporaryDirectory(prefix="deis-addon-") as work:
            source = Path(work) / "snapshot"
            with self.objects.open(key) as blob, open(source, "wb") as out:
                shutil.copyfileobj(blob, out)
            if addon.service == "redis":
                self._restore_redis(addon, source)
            else:
                self._exec(addon.name, POSTGRES_RESTORE, stdin=source)

    def _restore_redis(self, addon: Addon, source: Path) -> None:
        """Redis loads its data at start only: stop it, put the RDB in place of its files
        (with no append-only file, it loads the RDB and makes the AOF from it), start it."""
        name = container_name(addon.name)
        with self._acting:  # the supervisor neither starts it meanwhile nor loads the file
            self.podman.call(["stop", "-t", "10", name], check=False, timeout=60)
            shutil.copyfile(source, self.data_dir(addon.name) / pending_restore("redis"))
            self.podman.start(name)
            self._wait_ready(addon)
            redis_command(addon, self.address(addon.name), "CONFIG SET appendonly yes")

    def _exec(
        self, name: str, script: str, stdout: Path | None = None, stdin: Path | None = None
    ) -> None:
        exec_script(self.podman, container_name(name), script, stdout, stdin)

    def _apply_pending_restores(self, known: dict[str, Addon]) -> None:
        """Snapshots `deisctl restore` put in the data dirs: loaded into running servers."""
        for name, addon in known.items():
            pending = self.data_dir(name) / pending_restore(addon.service)
            if not pending.exists() or self.state(name) != "available":
                continue
            try:
                if addon.service == "redis":  # picked up when the server starts
                    self.podman.call(["stop", "-t", "10", container_name(name)], check=False)
                    self.podman.start(container_name(name))
                    self._wait_ready(addon)
                    redis_command(addon, self.address(name), "CONFIG SET appendonly yes")
                else:
                    self._wait_ready(addon)
                    self._exec(name, POSTGRES_RESTORE, stdin=pending)
                    pending.unlink()
                log.warning("add-on %s: restored the data of a deisctl backup", name)
            except Exception:
                log.exception("restoring the deisctl backup of add-on %s failed", name)

    # --- the forwarder -------------------------------------------------------------------

    def routes(self) -> list[list[object]]:
        """[listen host, port, add-on address, server port] for every replica of every app
        each add-on is attached to."""
        with self._lock:
            reach = {n: (self._known[n], apps) for n, apps in self._reach.items() if apps}
        found: list[list[object]] = []
        for name, (addon, apps) in sorted(reach.items()):
            allocation = self._allocation(name)
            if allocation is None:
                continue
            for app in apps:
                for link, device in self.runtime.links(app):
                    found.append([link, addon.port, allocation.address, addon.kind.port, device])
        return sorted(found, key=lambda r: (str(r[0]), int(str(r[1]))))

    def _write_routes(self, wait: bool = False) -> None:
        """Write the forwarder's routes if they changed; with wait, return once it has
        applied them (at most APPLY_WAIT seconds)."""
        routes = self.routes()
        with self._routes_lock:
            if routes == self._routes and self.routes_file.exists():
                return
            self.directory.mkdir(parents=True, exist_ok=True)
            temporary = self.routes_file.with_suffix(".tmp")
            body = json.dumps({"listen": routes})
            temporary.write_text(body)
            os.replace(temporary, self.routes_file)
            self._routes = routes
        if routes:
            self._ensure_forwarder()
        if wait:
            applied = self.routes_file.with_suffix(".applied")
            deadline = time.monotonic() + APPLY_WAIT
            while time.monotonic() < deadline:
                with contextlib.suppress(OSError):
                    if applied.read_text() == body:
                        return
                time.sleep(0.02)

    def forwarder_pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return None
        return pid if b"deis.runtime.podman.forwarder" in cmdline else None

    def _ensure_forwarder(self) -> None:
        if self.forwarder_pid() is not None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / "forwarder.log", "ab") as out:
            proc = subprocess.Popen(  # noqa: S603 - an argument list, never a shell
                [sys.executable, "-m", "deis.runtime.podman.forwarder", str(self.routes_file)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,  # outlives the platform, like conmon
            )
        self.pid_file.write_text(f"{proc.pid}\n")


def exec_script(
    podman: Any, container: str, script: str, stdout: Path | None = None, stdin: Path | None = None
) -> None:
    """Run a bash script in a container, its output to `stdout`, its input from `stdin`
    (files, so that snapshots of any size never sit in memory)."""
    args = [PODMAN, "exec", *(["-i"] if stdin else []), container]
    with contextlib.ExitStack() as files:
        out = files.enter_context(open(stdout, "wb")) if stdout else subprocess.DEVNULL
        into = files.enter_context(open(stdin, "rb")) if stdin else subprocess.DEVNULL
        done = subprocess.run(  # noqa: S603 - an argument list, never a shell
            [*args, "bash", "-c", script],
            env=podman.environment(),
            stdin=into,
            stdout=out,
            stderr=subprocess.PIPE,
            timeout=BACKUP_TIMEOUT,
            check=False,
        )
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip()[-2000:]
        raise Unavailable(f"{container}: {detail or f'exit code {done.returncode}'}")


def pending_restore(service: str) -> str:
    """Where, under an add-on's data dir, a snapshot waits to be loaded into its server."""
    return "redis/restore.rdb" if service == "redis" else "restore.dump"


def snapshot(state_dir: Path, name: str, service: str, target: Path) -> str:
    """`deisctl backup`: a snapshot of a running add-on of the instance in `state_dir`
    into `target`; answers its name in the backup (where `deisctl restore` puts it, for
    the platform to load at its next start)."""
    from deis.runtime.podman.podman import Podman
    from deis.stack import podman_conf as conf

    podman = Podman(conf.paths_for(state_dir, conf.load_instance_id(state_dir)))
    script = REDIS_BACKUP if service == "redis" else POSTGRES_BACKUP
    exec_script(podman, container_name(name), script, stdout=target)
    return f"addons/{name}/data/{pending_restore(service)}"


def stop_forwarder(state_dir: Path) -> None:
    """Kill the instance's forwarder (deisctl down --apps, a purge)."""
    pid_file = Path(state_dir) / "addons" / "forwarder.pid"
    try:
        pid = int(pid_file.read_text().strip())
        if b"deis.runtime.podman.forwarder" in Path(f"/proc/{pid}/cmdline").read_bytes():
            os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError):
        pass
    with contextlib.suppress(OSError):
        pid_file.unlink()


def redis_command(addon: Addon, address: str, command: str, timeout: float = 5.0) -> str:
    """Sign in and send one inline command; answers its reply (raises on an error)."""
    with socket.create_connection((address, addon.kind.port), timeout=timeout) as conn:
        conn.sendall(f"AUTH default {addon.password}\r\n{command}\r\n".encode())
        answer = b""
        while answer.count(b"\r\n") < 2:
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
    replies = answer.decode(errors="replace").split("\r\n")
    if len(replies) < 2 or not replies[0].startswith("+OK") or replies[1].startswith("-"):
        raise ConnectionError(" ".join(replies).strip() or "no answer")
    return replies[1]


def ping(addon: Addon, address: str, timeout: float = 2.0) -> None:
    """Raise unless the server accepts a signed-in connection."""
    if addon.service == "redis":
        redis_command(addon, address, "PING", timeout)
        return
    import psycopg

    with psycopg.connect(
        host=address,
        port=addon.kind.port,
        user=USER,
        password=addon.password,
        dbname=USER,
        connect_timeout=max(int(timeout), 1),
    ) as conn:
        conn.execute("SELECT 1")


__all__ = ["HOST", "PodmanAddons", "is_addon_container", "stop_forwarder"]
