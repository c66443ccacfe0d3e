"""The platform's image registry: Debian's `docker-registry` (Distribution 2.8).

It listens on 127.0.0.1 only, keeps its images under STATE/registry/data and reads a
configuration the platform renders to STATE/registry/config.yml. Dockerfile builds are
pushed to it; the runtime pulls from it. Given a realm (the controller's token endpoint),
it asks every client for a token (`auth: token`, deis.platform.registry_auth): the
builder may push to the app it built only, users may pull the apps they may see.

Lifecycle, like the router's nginx: `start()` starts it (or adopts the one a crashed
platform left running with this state dir) and supervises it (one that dies is started
again); `stop()` stops it. Before it serves, `docker-registry garbage-collect` reclaims
the layers of the images the platform deleted while it last ran (that command must not
run while the registry takes pushes).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from deis.platform.registry_auth import ISSUER, SERVICE, TokenKeys
from deis.platform.state import file_size, read_from
from deis.router.process import alive, cmdline

log = logging.getLogger(__name__)

BINARY = "/usr/bin/docker-registry"
ADDRESS = "127.0.0.1"


class RegistryError(RuntimeError):
    """The registry cannot start; the message says why."""


@dataclass(frozen=True)
class RegistryPaths:
    root: Path

    @classmethod
    def of(cls, state_dir: Path) -> RegistryPaths:
        return cls(Path(state_dir).absolute() / "registry")

    @property
    def config(self) -> Path:
        return self.root / "config.yml"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def pid_file(self) -> Path:
        return self.root / "registry.pid"

    @property
    def secret(self) -> Path:
        return self.root / "http-secret"

    @property
    def log(self) -> Path:
        return self.root.parent / "logs" / "registry.log"


def render_config(port: int, data: Path, secret: str, auth: dict[str, str] | None = None) -> str:
    """Distribution's configuration (JSON is YAML too): filesystem storage with deletes
    enabled (garbage collection deletes manifests), plain HTTP on the loopback only;
    `auth`: the token section (realm, service, issuer, rootcertbundle)."""
    config: dict[str, object] = {
        "version": 0.1,
        "log": {"level": "warn", "formatter": "text", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(data)},
            "delete": {"enabled": True},
            "cache": {"blobdescriptor": "inmemory"},
            "maintenance": {
                "uploadpurging": {
                    "enabled": True,
                    "age": "24h",
                    "interval": "1h",
                    "dryrun": False,
                }
            },
        },
        "http": {
            "addr": f"{ADDRESS}:{port}",
            "secret": secret,
            "headers": {"X-Content-Type-Options": ["nosniff"]},
        },
    }
    if auth is not None:
        config["auth"] = {"token": auth}
    return json.dumps(config, indent=2) + "\n"


class Registry:
    name = "docker-registry"

    def __init__(
        self,
        state_dir: Path,
        port: int = 5000,
        *,
        binary: str = BINARY,
        start_timeout: float = 30.0,
        supervise_interval: float = 1.0,
        realm: str | None = None,
    ) -> None:
        """realm: the URL of the token endpoint (None: no authentication, for tests of
        other parts only)."""
        self.paths = RegistryPaths.of(state_dir)
        self.realm = realm
        self.port = port
        self.binary = binary
        self.start_timeout = start_timeout
        self.supervise_interval = supervise_interval
        self._child: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.restarts = 0  # times the supervisor started a dead registry again

    @property
    def address(self) -> str:
        """host:port, as image references name it (127.0.0.1:5000/APP:git-SHA7)."""
        return f"{ADDRESS}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        """Start the registry (or adopt the one serving this state dir) and supervise it."""
        with self._lock:
            changed = self._install_config()
            pid = self.pid()
            if pid is not None and changed:
                log.info("registry: its configuration changed: restarting it")
                _terminate(pid, 10.0)
                pid = None
            if pid is None:
                self._collect_garbage()
                self._start_process()
            else:
                log.info("registry: adopting the running docker-registry (pid %s)", pid)
                self._wait_ready(pid)
        self._stopping.clear()
        self._thread = threading.Thread(target=self._supervise, name="registry", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop supervising, then the registry (SIGTERM, then SIGKILL)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        with self._lock:
            pid = self.pid()
            if pid is not None:
                _terminate(pid, 10.0, self._child)
            self._reap()
            self.paths.pid_file.unlink(missing_ok=True)

    def pid(self) -> int | None:
        """The pid of the docker-registry serving this state dir's configuration, if any."""
        return running_pid(self.paths)

    def answers(self, timeout: float = 2.0) -> bool:
        """Whether GET /v2/ answers as Distribution does (200, or 401 asking for a token)."""
        try:
            response = httpx.get(f"{self.url}/v2/", timeout=timeout, trust_env=False)
        except httpx.HTTPError:
            return False
        if response.status_code == 401:
            return "docker-distribution-api-version" in response.headers
        return response.status_code == 200

    # -- internals -----------------------------------------------------------------

    def _install_config(self) -> bool:
        self.paths.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.paths.root, 0o700)
        self.paths.data.mkdir(exist_ok=True)
        self.paths.log.parent.mkdir(parents=True, exist_ok=True)
        if not self.paths.secret.exists():
            fd = os.open(self.paths.secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
        auth = None
        if self.realm is not None:
            TokenKeys.load_or_create(self.paths.root)
            auth = {
                "realm": self.realm,
                "service": SERVICE,
                "issuer": ISSUER,
                "rootcertbundle": str(TokenKeys.certificate_path(self.paths.root)),
            }
        text = render_config(
            self.port, self.paths.data, self.paths.secret.read_text().strip(), auth
        )
        with contextlib.suppress(OSError):
            if self.paths.config.read_text() == text:
                return False
        temporary = self.paths.config.with_name(".config.yml.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.replace(temporary, self.paths.config)
        return True

    def _collect_garbage(self) -> None:
        """Reclaim the layers no manifest uses any more (only while nothing serves)."""
        if not (self.paths.data / "docker").is_dir():
            return
        try:
            done = subprocess.run(  # noqa: S603 - an argument list, never a shell
                [self.binary, "garbage-collect", "--delete-untagged", str(self.paths.config)],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=600,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("registry: garbage-collect failed: %s", exc)
            return
        if done.returncode != 0:
            tail = done.stderr.decode(errors="replace").strip()[-500:]
            log.warning("registry: garbage-collect exited with %d: %s", done.returncode, tail)
        else:
            deleted = done.stdout.decode(errors="replace").count("blob eligible for deletion")
            if deleted:
                log.info("registry: garbage-collect deleted %d blobs", deleted)

    def _start_process(self) -> None:
        check_port_free(self.port)
        log_start = file_size(self.paths.log)
        try:
            with open(self.paths.log, "ab") as out:
                os.chmod(self.paths.log, 0o600)
                self._child = subprocess.Popen(  # noqa: S603 - an argument list, never a shell
                    [self.binary, "serve", str(self.paths.config)],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=out,
                    start_new_session=True,  # outlives a crashed platform; purged by pid
                    close_fds=True,
                )
        except OSError as exc:
            raise RegistryError(f"cannot run {self.binary}: {exc.strerror or exc}") from exc
        self.paths.pid_file.write_text(f"{self._child.pid}\n")
        self._wait_ready(self._child.pid, log_start)
        log.info("registry: docker-registry serves %s (pid %s)", self.address, self._child.pid)

    def _wait_ready(self, pid: int, log_start: int | None = None) -> None:
        deadline = time.monotonic() + self.start_timeout
        while True:
            if (
                self._child is not None
                and self._child.pid == pid
                and self._child.poll() is not None
            ):
                self._child = None
                self.paths.pid_file.unlink(missing_ok=True)
                raise RegistryError(
                    f"docker-registry did not start on {self.address}: "
                    + _reason(read_from(self.paths.log, log_start or 0), self.port)
                )
            if self.answers(timeout=1.0):
                return
            if time.monotonic() > deadline:
                _terminate(pid, 5.0, self._child)
                self.paths.pid_file.unlink(missing_ok=True)
                raise RegistryError(
                    f"docker-registry did not answer on {self.address}"
                    f" within {self.start_timeout:g} s"
                )
            time.sleep(0.05)

    def _reap(self) -> None:
        if self._child is not None and self._child.poll() is not None:
            self._child = None

    def _supervise(self) -> None:
        while not self._stopping.wait(self.supervise_interval):
            try:
                with self._lock:
                    if self._stopping.is_set():
                        return
                    if self.pid() is None:
                        log.error("registry: docker-registry is not running: starting it again")
                        self._reap()
                        self._start_process()
                        self.restarts += 1
            except Exception:  # keep supervising whatever one tick met
                log.exception("registry: supervision failed this time")


def check_port_free(port: int) -> None:
    """Another program answering on the port must not pass for the registry we start."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as docker-registry does
        try:
            sock.bind((ADDRESS, port))
        except OSError as exc:
            raise RegistryError(
                f"the registry cannot listen on {ADDRESS}:{port}: "
                + (
                    "another program uses that port (--registry-port chooses another)"
                    if exc.errno == errno.EADDRINUSE
                    else (exc.strerror or str(exc))
                )
            ) from exc


def running_pid(paths: RegistryPaths) -> int | None:
    try:
        pid = int(paths.pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    line = cmdline(pid)
    if alive(pid) and "docker-registry" in line and str(paths.config) in line:
        return pid
    return None


def purge(state_dir: Path) -> bool:
    """Stop a registry a crashed platform left serving for this state dir. Answers
    whether one ran."""
    paths = RegistryPaths.of(state_dir)
    pid = running_pid(paths)
    paths.pid_file.unlink(missing_ok=True)
    if pid is None:
        return False
    _terminate(pid, 5.0)
    return True


def _terminate(pid: int, grace: float, child: subprocess.Popen[bytes] | None = None) -> None:
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if child is not None and child.pid == pid:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=0.05)
            if not alive(pid):
                return
            time.sleep(0.05)
        log.warning("registry: pid %s did not stop on %s", pid, sig.name)


def _reason(output: str, port: int) -> str:
    """Why docker-registry exited, from the last lines it wrote."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if any("address already in use" in line for line in lines):
        return f"port {port} is already in use on {ADDRESS} (--registry-port chooses another)"
    return lines[-1][-300:] if lines else "it exited without a word"


MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)


def split_reference(image: str) -> tuple[str, str, str]:
    """`127.0.0.1:5000/team/api:1.4` → ("127.0.0.1:5000", "team/api", "1.4")."""
    host, _, rest = image.partition("/")
    name, colon, tag = rest.rpartition(":")
    if not colon or "/" in tag:
        name, tag = rest, "latest"
    return host, name, tag


class RegistryClient:
    """The registry's HTTP API, for what the platform deletes (Distribution's v2 API:
    a manifest is deleted by digest, which removes every tag that points at it)."""

    def __init__(
        self,
        address: str,
        timeout: float = 30.0,
        bearer: Callable[[str], str] | None = None,
    ) -> None:
        """bearer(repository): a token of the platform's for that repository (the
        registry asks for one), or None for a registry without authentication."""
        self.address = address
        self.timeout = timeout
        self.bearer = bearer

    def _auth(self, repository: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.bearer(repository)}"} if self.bearer else {}

    def holds(self, image: str) -> bool:
        """Whether the image reference names this registry."""
        return split_reference(image)[0] == self.address

    def digest(self, image: str) -> str | None:
        _, name, tag = split_reference(image)
        response = httpx.head(
            f"http://{self.address}/v2/{name}/manifests/{tag}",
            headers={"Accept": MANIFEST_TYPES, **self._auth(name)},
            timeout=self.timeout,
            trust_env=False,
        )
        if response.status_code == 404:
            return None
        response.raise_for_status()
        digest = response.headers.get("Docker-Content-Digest")
        return str(digest) if digest else None

    def tags(self, name: str) -> list[str]:
        response = httpx.get(
            f"http://{self.address}/v2/{name}/tags/list",
            headers=self._auth(name),
            timeout=self.timeout,
            trust_env=False,
        )
        if response.status_code == 404:
            return []
        response.raise_for_status()
        return list(response.json().get("tags") or [])

    def delete(self, image: str, keep: set[str]) -> bool:
        """Delete the image's manifest unless a digest to keep is the same one. True when
        it was deleted."""
        digest = self.digest(image)
        if digest is None or digest in keep:
            return False
        _, name, _ = split_reference(image)
        response = httpx.delete(
            f"http://{self.address}/v2/{name}/manifests/{digest}",
            headers=self._auth(name),
            timeout=self.timeout,
            trust_env=False,
        )
        if response.status_code == 404:
            return False
        response.raise_for_status()
        return True
