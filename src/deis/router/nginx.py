"""The nginx router adapter: Debian's nginx with its Lua module in front of every app.

nginx.conf is static (rendered once from a template, checked with `nginx -t` before it
replaces the running one). Apps, hosts, certificates and replicas live in a Lua shared
dict that this adapter fills through a unix-socket admin server, so that no app change
ever reloads nginx. The whole table is also kept in STATE/router/table.json (0600: it
holds private keys), pushed again whenever nginx starts afresh.

Lifecycle: `NginxRouter(...)`, then `start()` (starts nginx or adopts the one already
running with this state dir, pushes the table, supervises: an nginx that dies is started
again and given the table), the Router methods, `metrics(app_id)`, then `stop()` (stops
nginx) or `detach()` (leaves nginx serving, e.g. for a platform restart).
"""

from __future__ import annotations

import hashlib
import logging
import os
import pwd
import random
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deis.domain.routing import AppRoute
from deis.router import table
from deis.router.accesslog import LogFollower
from deis.router.admin import AdminClient, AdminError
from deis.router.certs import CertificateError, ensure_default, platform_paths, read_platform
from deis.router.metrics import MetricsTable
from deis.router.process import NginxError, NginxProcess, alive, cmdline, parent_of
from deis.router.render import NginxConfig, lua_source, render

log = logging.getLogger(__name__)

WAKE_FAILED_SECONDS = 5  # held requests give up, and new ones are not held, this long
WAKE_POLL_SECONDS = 2  # the long poll's wait: also how long detach() may wait for it


class RouterConfigError(RuntimeError):
    """A rendered nginx.conf failed `nginx -t`; it was not applied."""


def _resolve(peer: str) -> table.Peer:
    host, port = table.split_peer(peer)
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        return host, port
    except OSError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not infos:
        raise table.TableError(f"cannot resolve {host!r}")
    return str(infos[0][4][0]), port


class NginxRouter:
    name = "nginx"

    def __init__(
        self,
        state_dir: Path,
        http_port: int = 8080,
        https_port: int = 8443,
        platform_domain: str = "localhost",
        controller_address: str = "127.0.0.1:8000",
        *,
        listen_addresses: tuple[str, ...] = ("127.0.0.1",),
        client_max_body_size: str = "1m",
        max_body_size: str = "1g",
        proxy_connect_timeout: int = 5,
        proxy_read_timeout: int = 60,
        proxy_send_timeout: int = 60,
        controller_tls_enforce: bool = False,
        controller_source: str | None = None,
        worker_processes: str = "auto",
        worker_user: str = "www-data",
        nginx_binary: str = "/usr/sbin/nginx",
        modules_dir: Path = Path("/usr/lib/nginx/modules"),
        supervise_interval: float = 1.0,
        admin_timeout: float = 5.0,
        start_timeout: float = 30.0,
        max_log_bytes: int = 64 * 1024 * 1024,
        wake_timeout: int = 30,
        wake_queue: int = 100,
    ) -> None:
        self.dir = Path(state_dir).absolute() / "router"
        self.conf_path = self.dir / "nginx.conf"
        self.table_path = self.dir / "table.json"
        self.access_log = self.dir / "access.log"
        self.admin_socket = self.dir / "run" / "admin.sock"
        self.platform_cert, self.platform_key = platform_paths(self.dir.parent)
        self.supervise_interval = supervise_interval
        self.start_timeout = start_timeout
        self.max_log_bytes = max_log_bytes
        as_root = os.geteuid() == 0
        if as_root:
            # workers run as worker_user and must reach the temp dirs: not under STATE,
            # whose parents (e.g. /root) they may not traverse
            digest = hashlib.sha256(str(self.dir).encode()).hexdigest()[:12]
            temp_dir = Path("/var/tmp") / f"deis-router-{digest}"
        else:
            temp_dir = self.dir / "tmp"
        self.config = NginxConfig(
            prefix=self.dir,
            admin_socket=self.admin_socket,
            temp_dir=temp_dir,
            http_port=http_port,
            https_port=https_port,
            platform_domain=platform_domain,
            controller_address=controller_address,
            listen_addresses=listen_addresses,
            modules_dir=modules_dir,
            worker_user=worker_user if as_root else None,
            worker_processes=worker_processes,
            client_max_body_size=client_max_body_size,
            max_body_size=max_body_size,
            proxy_connect_timeout=proxy_connect_timeout,
            proxy_read_timeout=proxy_read_timeout,
            proxy_send_timeout=proxy_send_timeout,
            controller_tls_enforce=controller_tls_enforce,
            controller_source=controller_source,
            wake_timeout=wake_timeout,
            wake_queue=wake_queue,
        )
        self.config.validate()
        self.process = NginxProcess(self.dir, self.conf_path, nginx_binary, start_timeout)
        self.admin = AdminClient(self.admin_socket, admin_timeout)
        self._lock = threading.RLock()
        self._routes, self._peers = table.load(self.table_path)
        self._metrics = MetricsTable()
        # ACME HTTP-01 challenges being validated: token -> (host, key authorization);
        # kept in memory only (an order outlives no platform restart), pushed again to a
        # fresh nginx
        self._challenges: dict[str, tuple[str, str]] = {}
        self._follower: LogFollower | None = None
        self._token = random.randint(1, 2**31)
        self._dirty = False
        self._platform_seen: object = None  # the platform certificate files last pushed
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._workers: list[int] = []
        self.restarts = 0  # times the supervisor started a dead nginx again
        # told the app a held request asks to wake (a sleeping app's first request); set
        # by the composition root before start()
        self.on_wake: Callable[[str], None] | None = None
        self._waker: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        """Start nginx (or adopt the one running with this state dir) and push the table.

        Raises RouterConfigError when the rendered configuration fails `nginx -t`
        (nothing is applied; the reason is logged) and NginxError when nginx cannot start.
        """
        with self._lock:
            self._prepare_dirs()
            changed = self._install_config()
            pid = self.process.pid()
            if pid is None:
                self._start_nginx()
            else:
                log.info("router: adopting the running nginx (pid %s)", pid)
                self._pid = pid
                if changed:
                    log.info("router: configuration changed: graceful reload of nginx")
                    self.process.reload()
                    time.sleep(0.2)
                self._wait_ready()
            self._follower = LogFollower(self.access_log, from_end=True)
            self._push_all()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._supervise, name="router-nginx", daemon=True)
        self._thread.start()
        if self.on_wake is not None:
            self._waker = threading.Thread(
                target=self._poll_wakes, name="router-wakes", daemon=True
            )
            self._waker.start()

    def stop(self) -> None:
        """Stop supervising and stop nginx (gracefully: requests in flight finish)."""
        self.detach()
        with self._lock:
            self.process.kill(self.process.pid(), self._live_workers())
            if self.config.temp_dir.parent == Path("/var/tmp"):
                _remove_tree(self.config.temp_dir)

    def detach(self) -> None:
        """Stop supervising but leave nginx serving; a later start() adopts it."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._waker is not None:
            self._waker.join(timeout=WAKE_POLL_SECONDS + 5)
            self._waker = None
        with self._lock:
            if self._follower is not None:
                self._follower.close()
                self._follower = None

    @property
    def pid(self) -> int | None:
        return self.process.pid()

    # -- the Router port -----------------------------------------------------------

    def apply(self, route: AppRoute) -> None:
        table.check_app(route.app)
        with self._lock:
            old = self._routes.get(route.app)
            if old == route:
                return
            self._routes[route.app] = route
            self._save()
            self._push(lambda: self.admin.put_app(route.app, table.encode_route(route)))
            if old is not None:
                self._give_back(table.route_hosts(old) - table.route_hosts(route))

    def remove(self, app_id: str) -> None:
        table.check_app(app_id)
        with self._lock:
            old = self._routes.pop(app_id, None)
            self._peers.pop(app_id, None)
            self._metrics.forget(app_id)
            self._save()
            self._push(lambda: self.admin.delete_app(app_id))
            if old is not None:
                self._give_back(table.route_hosts(old))

    def _give_back(self, released: set[str]) -> None:
        """Hosts an app let go of: nginx keeps a host with the app that held it first and
        refuses it to any later one, so push again the apps that asked for these too."""
        if not released:
            return
        for other in list(self._routes.values()):
            if table.route_hosts(other) & released:
                self._push(lambda r=other: self.admin.put_app(r.app, table.encode_route(r)))

    def set_peers(self, app_id: str, peers: list[str]) -> None:
        table.check_app(app_id)
        resolved = []
        for peer in peers:
            try:
                resolved.append(_resolve(peer))
            except (table.TableError, OSError) as exc:
                log.error("router: ignoring the peer %r of %s: %s", peer, app_id, exc)
        with self._lock:
            if self._peers.get(app_id) == resolved:
                return
            self._peers[app_id] = resolved
            self._save()
            self._push(lambda: self.admin.put_peers(app_id, table.encode_peers(resolved)))

    def set_challenge(self, host: str, token: str, key_authorization: str) -> None:
        name = table.check_challenge(host, token, key_authorization)
        with self._lock:
            self._challenges[token] = (name, key_authorization)
            self._push(lambda: self.admin.put_challenge(token, name, key_authorization))

    def remove_challenge(self, token: str) -> None:
        with self._lock:
            if self._challenges.pop(token, None) is not None:
                self._push(lambda: self.admin.delete_challenge(token))

    def challenge_answer(self, host: str, token: str) -> str | None:
        """What nginx answers itself (the controller is asked only through a cluster)."""
        with self._lock:
            named, answer = self._challenges.get(token, ("", ""))
        return answer if answer and named == host.lower().rstrip(".") else None

    # -- waking sleeping apps -------------------------------------------------------

    def _poll_wakes(self) -> None:
        """Long-poll nginx for the apps whose held requests ask to be woken (GET /wakes
        answers as soon as there is one), and tell on_wake of each."""
        client = AdminClient(self.admin_socket, WAKE_POLL_SECONDS + 10)
        try:
            while not self._stopping.is_set():
                try:
                    apps = client.wakes(WAKE_POLL_SECONDS)
                except AdminError as exc:
                    log.debug("router: polling for wakes: %s", exc)
                    self._stopping.wait(0.5)
                    continue
                for app in apps:
                    if self.on_wake is not None:
                        try:
                            self.on_wake(app)
                        except Exception:
                            log.exception("router: waking %s failed", app)
        finally:
            client.close()

    def wake_failed(self, app_id: str, seconds: float = WAKE_FAILED_SECONDS) -> None:
        """The platform could not wake the app, or it was not asleep (its replicas
        crashed): the requests held for it get 503 now instead of at the timeout."""
        table.check_app(app_id)
        try:
            self.admin.wake_failed(app_id, seconds)
        except AdminError as exc:  # the held requests give up at their timeout instead
            log.warning("router: telling nginx %s did not wake failed: %s", app_id, exc)

    # -- metrics -------------------------------------------------------------------

    def metrics(self, app_id: str) -> dict[str, Any]:
        """Requests, status classes, bytes and latency (ms) of the app since the
        router started, from nginx's access log (written within a second)."""
        with self._lock:
            self._read_log()
            return self._metrics.snapshot(app_id)

    def describe(self, app_id: str) -> str:
        """What nginx holds for the app (hosts, settings, peers; never keys)."""
        return self.admin.describe(app_id)

    # -- internals -----------------------------------------------------------------

    def _prepare_dirs(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        (self.dir / "lua").mkdir(exist_ok=True)
        run = self.admin_socket.parent
        run.mkdir(exist_ok=True)
        os.chmod(run, 0o700)
        temp = self.config.temp_dir
        temp.mkdir(parents=True, exist_ok=True)
        os.chmod(temp, 0o700)
        if self.config.worker_user:
            user = pwd.getpwnam(self.config.worker_user)
            os.chown(temp, user.pw_uid, user.pw_gid)
        ensure_default(
            self.dir / "default.crt", self.dir / "default.key", self.config.platform_domain
        )

    def _install_config(self) -> bool:
        """Render, check with `nginx -t`, then replace nginx.conf. True when it changed."""
        text = render(self.config)
        lua = lua_source()
        lua_path = self.dir / "lua" / "deis_router.lua"
        old_text = self.conf_path.read_text() if self.conf_path.exists() else None
        old_lua = lua_path.read_text() if lua_path.exists() else None
        if text == old_text and lua == old_lua:
            return False
        candidate = self.dir / "nginx.conf.next"
        candidate.write_text(text)
        lua_path.write_text(lua)
        result = self.process.check(candidate)
        if not result.ok:
            if old_lua is not None:
                lua_path.write_text(old_lua)
            log.error("router: the new nginx configuration failed `nginx -t`: %s", result.output)
            raise RouterConfigError(f"nginx -t failed: {result.output}")
        os.replace(candidate, self.conf_path)
        return True

    def _start_nginx(self) -> None:
        # a killed nginx leaves its unix socket behind, and a new one could not bind it
        self.admin_socket.unlink(missing_ok=True)
        self._pid = self.process.start()
        log.info("router: nginx started (pid %s)", self._pid)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                self.admin.status()
                self._workers = self.process.workers()
                return
            except AdminError as exc:
                if time.monotonic() > deadline:
                    raise NginxError(f"nginx's admin socket does not answer: {exc}") from exc
                time.sleep(0.02)

    def _save(self) -> None:
        table.save(self.table_path, self._routes, self._peers)

    def _push(self, change: Any) -> None:
        if self._dirty:
            return  # the supervisor pushes the whole table when nginx is back
        try:
            change()
        except AdminError as exc:
            self._dirty = True
            log.warning("router: nginx did not take a change (%s): it will be pushed again", exc)

    def _push_all(self) -> None:
        for route in self._routes.values():
            self.admin.put_app(route.app, table.encode_route(route))
        for app_id, peers in self._peers.items():
            self.admin.put_peers(app_id, table.encode_peers(peers))
        for token, (host, answer) in self._challenges.items():
            self.admin.put_challenge(token, host, answer)
        self._platform_seen = None
        self._sync_platform_certificate()
        self.admin.mark_synced(self._token)
        self._dirty = False
        log.info("router: pushed %d apps to nginx", len(self._routes))

    def _platform_files(self) -> object:
        """What identifies the platform certificate's files now (None: there are none)."""
        out = []
        for path in (self.platform_cert, self.platform_key):
            try:
                st = path.stat()
            except FileNotFoundError:
                return None
            out.append((st.st_ino, st.st_size, st.st_mtime_ns))
        return tuple(out)

    def _sync_platform_certificate(self) -> None:
        """Give nginx the platform's certificate when its files changed (deisctl
        certs:set writes them while the platform runs): served without a reload."""
        seen = self._platform_files()
        if seen == self._platform_seen:
            return
        try:
            cert = read_platform(self.dir.parent)
        except CertificateError as exc:
            # e.g. between the writes of the key and the certificate: tried again once
            # the files change again (the certificate's write follows the key's)
            log.warning("router: the platform certificate is not served: %s", exc)
            self._platform_seen = seen
            return
        if cert is None:
            self.admin.delete_platform()
            log.info("router: no platform certificate")
        else:
            default = cert.is_default_for(self.config.platform_domain)
            self.admin.put_platform(table.encode_platform(cert, default))
            log.info(
                "router: serving the platform certificate for %s (until %s)%s",
                ", ".join(cert.names),
                f"{cert.not_after:%Y-%m-%d}",
                ", also as the default certificate" if default else "",
            )
        self._platform_seen = seen

    def _live_workers(self) -> list[int]:
        """Workers seen last time still alive: ours while their master is ours or gone
        (a pid reused by another instance's worker has another nginx master)."""
        out = []
        for p in self._workers:
            parent = parent_of(p)
            if not alive(p) or "nginx: worker" not in cmdline(p) or parent is None:
                continue
            if parent == self._pid or "nginx: master" not in cmdline(parent):
                out.append(p)
        return out

    def _read_log(self) -> None:
        if self._follower is None:
            return
        self._metrics.add_chunk(self._follower.read_data())

    def _supervise(self) -> None:
        while not self._stopping.wait(self.supervise_interval):
            try:
                with self._lock:
                    if self._stopping.is_set():
                        return
                    self._tick()
            except Exception:  # keep supervising whatever one tick met
                log.exception("router: supervision failed this time")

    def _tick(self) -> None:
        pid = self.process.pid()
        if pid is None:
            log.error("router: nginx is not running: starting it again")
            self.process.reap()
            self.process.kill(None, self._live_workers(), grace=1.0)
            self._start_nginx()
            self.restarts += 1
            self._push_all()
        else:
            self._pid = pid
            self._workers = self.process.workers() or self._workers
            try:
                synced = self.admin.status().get("synced")
            except AdminError as exc:
                log.warning("router: nginx's admin socket does not answer: %s", exc)
                return
            if self._dirty or synced != self._token:
                self._push_all()
            else:
                self._sync_platform_certificate()
        self._read_log()
        if self._follower is not None and self._follower.size() > self.max_log_bytes:
            os.replace(self.access_log, self.access_log.with_suffix(".log.1"))
            self.process.reopen_logs()


def _remove_tree(path: Path) -> None:
    if not path.exists():
        return
    for child in sorted(path.rglob("*"), reverse=True):
        if child.is_dir() and not child.is_symlink():
            child.rmdir()
        else:
            child.unlink()
    path.rmdir()


def purge(state_dir: Path) -> bool:
    """Stop an nginx a crashed platform left serving for this state dir. Answers whether
    one ran."""
    directory = Path(state_dir).absolute() / "router"
    process = NginxProcess(directory, directory / "nginx.conf")
    if process.pid() is None:
        return False
    process.stop(grace=5.0)
    return True
