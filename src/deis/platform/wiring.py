"""The composition root: settings in, one adapter per port chosen by name, the app out.

`build_app` gives the ASGI app the server runs: the controller's API, with the git smart
HTTP transport in front of it when the builder is on, and a lifespan that starts the
router, the runtime and the builder with the server and stops them with it. Apps keep
running when the platform stops.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol, cast, runtime_checkable

from argon2 import PasswordHasher
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from deis import dashboard, threads
from deis.api.app import create_app
from deis.logs.builds import FileBuildOutputs
from deis.logs.collector import CollectingLogs
from deis.logs.files import FileLogs
from deis.logs.unavailable import UnavailableLogs
from deis.objects.filesystem import FilesystemObjects
from deis.periodic import Periodic
from deis.platform import acme_platform
from deis.platform.artifacts import LocalArtifacts
from deis.platform.cron import CronLoop
from deis.platform.forwarding import FromWorkers, InPrimaryOnly, ToPrimary
from deis.platform.primary import PrimaryOverSocket
from deis.ports import (
    AcmeIssuer,
    AddonServers,
    Artifacts,
    BuildOutputs,
    CpuMeter,
    Logs,
    Objects,
    Router,
    Runtime,
    Store,
)
from deis.router.recording import RecordingRouter
from deis.runtime.record import RecordingRuntime
from deis.services import acme, addons, deploys, routes
from deis.services.context import Context
from deis.settings import Settings
from deis.store.engine import is_sqlite
from deis.store.sqlalchemy_store import SqlStore

log = logging.getLogger("deis.platform")


class UnknownAdapter(ValueError):
    pass


KUBERNETES_EXTRA = "pip install 'deis-platform[kubernetes]'"


def kubernetes_wiring() -> Any:
    """deis.platform.kubernetes.wiring, or a clear UnknownAdapter when the `kubernetes`
    extra is not installed (instead of "No module named 'kubernetes'" at the first call)."""
    try:
        import kubernetes  # noqa: F401 - the adapters import it lazily; fail here, clearly
    except ImportError as exc:
        raise UnknownAdapter(
            f"the Kubernetes adapters need the Python module 'kubernetes': {KUBERNETES_EXTRA}"
        ) from exc
    from deis.platform.kubernetes import wiring as k8s

    return k8s


def container_logs(settings: Settings) -> Path:
    """Where podman writes each replica's output, for the log collector to read."""
    return settings.state_dir / "logs" / "containers"


# Threads of a platform process that may use the database besides the API's (the
# runtime's supervisor, the log collector, the autoscaler), with room to spare.
BACKGROUND_THREADS = 8


def make_store(settings: Settings) -> Store:
    threads = settings.api_threads + settings.api_blocking_threads + BACKGROUND_THREADS
    return SqlStore(settings.effective_database_url, threads=threads)


def make_objects(settings: Settings) -> Objects:
    if settings.objects == "filesystem":
        return FilesystemObjects(settings.state_dir / "objects")
    if settings.objects == "s3":
        from deis.objects.s3 import S3Config, S3Objects

        store = S3Objects(S3Config.from_env(), settings.state_dir / "cache" / "objects")
        store.check()  # a missing bucket or refused keys stop the start, with the reason
        return store
    raise UnknownAdapter(f"unknown object store {settings.objects!r} (known: filesystem, s3)")


def make_router(settings: Settings) -> Router:
    if settings.router == "none":
        return RecordingRouter()
    if settings.router == "nginx":
        from deis.router.nginx import NginxRouter

        return NginxRouter(
            settings.state_dir,
            http_port=settings.router_port,
            https_port=settings.router_https_port,
            platform_domain=settings.domain,
            controller_address=f"{settings.bind}:{settings.api_port}",
            controller_source=settings.router_source,
            listen_addresses=(settings.bind,),
            client_max_body_size=settings.router_body_size,
            max_body_size=settings.router_max_body_size,
            proxy_connect_timeout=settings.router_connect_timeout,
            proxy_read_timeout=settings.router_read_timeout,
            proxy_send_timeout=settings.router_send_timeout,
            controller_tls_enforce=settings.tls_enforce,
            wake_timeout=settings.sleep_wake_timeout,
            wake_queue=settings.sleep_wake_queue,
        )
    if settings.router == "kubernetes":
        k8s = kubernetes_wiring()
        kube_settings = k8s.KubernetesSettings.from_env()
        return cast(Router, k8s.make_router(kube_settings, k8s.connect(kube_settings)))
    raise UnknownAdapter(f"unknown router {settings.router!r} (known: nginx, kubernetes, none)")


def make_runtime(
    settings: Settings, router: Router, objects: Objects, logs: Logs | None = None
) -> Runtime:
    if settings.runtime == "record":
        return RecordingRuntime(settings.state_dir)
    if settings.runtime == "podman":
        from deis.runtime.podman import PodmanRuntime, load_instance_id
        from deis.stack.definition import run_image

        return PodmanRuntime(
            settings.state_dir,
            load_instance_id(settings.state_dir),
            on_peers=router.set_peers,
            run_stack_image=run_image(),
            egress=settings.egress,
            slug_path=objects.path,
            container_logs=container_logs(settings),
            on_event=None if logs is None else runtime_events(logs),
            registry_logins=registry_logins(settings),
        )
    if settings.runtime == "kubernetes":
        k8s = kubernetes_wiring()
        kube_settings = k8s.KubernetesSettings.from_env()
        return cast(Runtime, k8s.make_runtime(kube_settings, k8s.connect(kube_settings)))
    raise UnknownAdapter(
        f"unknown runtime {settings.runtime!r} (known: podman, kubernetes, record)"
    )


def runtime_events(logs: Logs) -> Callable[[str, str], None]:
    def write(app: str, message: str) -> None:
        logs.write(app, "runtime", message)

    return write


def make_logs(settings: Settings) -> Logs:
    """The logs adapter; for "kubernetes", the file store of the platform's own events about
    apps, which with_pod_logs merges with what the pods print once the runtime exists."""
    if settings.logs == "none":
        return UnavailableLogs()
    if settings.logs == "file":
        return CollectingLogs(
            settings.state_dir / "logs" / "apps",
            settings.log_retention,
            container_logs(settings),
        )
    if settings.logs == "kubernetes":
        if settings.runtime != "kubernetes":
            raise UnknownAdapter(
                "DEIS_LOGS=kubernetes reads the pods' logs from the cluster:"
                " it needs DEIS_RUNTIME=kubernetes (on one machine use DEIS_LOGS=file)"
            )
        return FileLogs(settings.state_dir / "logs" / "apps", settings.log_retention)
    raise UnknownAdapter(f"unknown logs adapter {settings.logs!r} (known: none, file, kubernetes)")


def with_pod_logs(settings: Settings, logs: Logs, runtime: Runtime) -> Logs:
    """With DEIS_LOGS=kubernetes, `deis logs` shows what the app's pods wrote (read from the
    cluster) merged by time with the platform's events."""
    if settings.logs != "kubernetes":
        return logs
    return cast(Logs, kubernetes_wiring().make_logs(runtime, logs))


def registry_keys(settings: Settings) -> Any:
    """The keys of the registry's token authentication (deis.platform.registry_auth),
    made on first use; None when this instance runs no registry."""
    if not wants_registry(settings):
        return None
    from deis.platform.registry import RegistryPaths
    from deis.platform.registry_auth import TokenKeys

    return TokenKeys.load_or_create(RegistryPaths.of(settings.state_dir).root)


def registry_logins(settings: Settings) -> dict[str, dict[str, str]]:
    """What the runtime pulls from the platform's registry with."""
    keys = registry_keys(settings)
    return {settings.local_registry: keys.platform()} if keys is not None else {}


def wants_registry(settings: Settings) -> bool:
    """The platform's own registry runs where images are built or run on this machine."""
    return bool(settings.local_registry)


def make_registry(settings: Settings) -> Any:
    """Debian's docker-registry on 127.0.0.1:registry_port, or None when nothing needs it."""
    if not wants_registry(settings):
        return None
    from deis.platform.registry import Registry
    from deis.platform.registry_auth import TOKEN_PATH

    registry_keys(settings)  # the realm's keys exist before the registry reads them
    realm = f"http://{token_host(settings)}:{settings.api_port}{TOKEN_PATH}"
    return Registry(settings.state_dir, settings.registry_port, realm=realm)


def token_host(settings: Settings) -> str:
    """Where this machine's podman reaches the controller's token endpoint."""
    return "127.0.0.1" if settings.bind in ("0.0.0.0", "") else settings.bind


def make_artifacts(settings: Settings, runtime: Runtime, objects: Objects) -> Artifacts | None:
    """Slugs and images on this machine, when apps run here (podman)."""
    from deis.runtime.podman import PodmanRuntime

    if not isinstance(runtime, PodmanRuntime):
        return None
    from deis.platform.registry import ADDRESS, RegistryClient

    keys = registry_keys(settings)
    registry = RegistryClient(
        f"{ADDRESS}:{settings.registry_port}", bearer=keys.bearer if keys is not None else None
    )
    return LocalArtifacts(objects, runtime.images, registry, runtime.remove_release_copies)


def registry_hosts(settings: Settings) -> tuple[str, ...]:
    """The platform's own registries (their images are apps' builds): the one this
    instance runs, and on Kubernetes the cluster's (DEIS_REGISTRY_HOST)."""
    hosts = [settings.local_registry] if settings.local_registry else []
    if settings.runtime == "kubernetes":
        from deis.platform.kubernetes import wiring as k8s

        hosts.append(k8s.KubernetesSettings.from_env().builds.registry)
    return tuple(hosts)


def make_build_networks(settings: Settings) -> Any:
    """A network namespace per build on this machine (deis.runtime.podman.buildnet); None
    when builds run as pods in a cluster (a NetworkPolicy there, docs/kubernetes.md)."""
    if settings.runtime == "kubernetes":
        return None
    from deis.domain.buildnet import parse_networks
    from deis.runtime.podman import load_instance_id
    from deis.runtime.podman.buildnet import BuildNetworks

    return BuildNetworks(
        settings.state_dir,
        load_instance_id(settings.state_dir),
        mode=settings.build_network,
        denied=parse_networks(settings.build_deny_networks),
    )


# Where idle apps can sleep: the runtime runs sleeping types at 0 replicas and the router
# holds a request while its app wakes ("record" and "none" run and route nothing: tests)
SLEEPING_RUNTIMES = ("podman", "record")
SLEEPING_ROUTERS = ("nginx", "none")


def platform_settings(settings: Settings) -> dict[str, Any]:
    """The context's facts and policies, the same in every API process."""
    return {
        "keep_releases": settings.keep_releases,
        "sleep_after": settings.sleep_after,
        "sleeps": settings.runtime in SLEEPING_RUNTIMES and settings.router in SLEEPING_ROUTERS,
        "platform_domain": settings.domain,
        "registry_hosts": registry_hosts(settings),
        "router_port": settings.router_port,
        "registration_mode": settings.registration_mode,
        "login_failures_allowed": settings.login_failures_allowed,
        "token_lifetime": (
            timedelta(seconds=settings.token_lifetime) if settings.token_lifetime > 0 else None
        ),
        "password_hasher": PasswordHasher(
            time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib
        ),
    }


def make_acme(settings: Settings) -> AcmeIssuer | None:
    """The ACME CA of automatic TLS, when the operator gave an email: the router answers
    the challenges (nginx itself; a cluster's router sends them to the controller). On
    Kubernetes, cert-manager instead when the operator named its issuer
    (DEIS_KUBERNETES_CERT_ISSUER)."""
    if settings.router == "kubernetes":
        k8s = kubernetes_wiring()
        kube_settings = k8s.KubernetesSettings.from_env()
        if kube_settings.router.cert_issuer is not None:
            return cast(
                AcmeIssuer, k8s.make_cert_manager(kube_settings, k8s.connect(kube_settings))
            )
    if not settings.acme_email or settings.router not in ("nginx", "kubernetes"):
        return None
    from deis.acme.client import AcmeClient

    return AcmeClient(
        settings.state_dir,
        settings.acme_directory,
        settings.acme_email,
        ca_bundle=settings.acme_ca_bundle or None,
        eab=(settings.acme_eab_kid, settings.acme_eab_hmac_key) if settings.acme_eab_kid else None,
    )


def make_addons(settings: Settings, runtime: Runtime, objects: Objects) -> AddonServers | None:
    """The add-ons' servers (deis addons), by DEIS_ADDONS (by default as the runtime)."""
    name = settings.addons_adapter
    if name == "none":
        return None
    if name == "record":
        from deis.runtime.record_addons import RecordingAddons

        return RecordingAddons()
    if name == "podman":
        from deis.runtime.podman import PodmanRuntime
        from deis.runtime.podman.addons import PodmanAddons

        if not isinstance(runtime, PodmanRuntime):
            raise UnknownAdapter("DEIS_ADDONS=podman needs DEIS_RUNTIME=podman")
        return PodmanAddons(runtime, image=addon_image, objects=objects)
    if name == "kubernetes":
        from deis.runtime.kubernetes import KubernetesRuntime

        if not isinstance(runtime, KubernetesRuntime):
            raise UnknownAdapter("DEIS_ADDONS=kubernetes needs DEIS_RUNTIME=kubernetes")
        return cast(AddonServers, kubernetes_wiring().make_addons(runtime.kube, objects))
    raise UnknownAdapter(
        f"unknown add-ons adapter {name!r} (known: podman, kubernetes, record, none)"
    )


def addon_image() -> str:
    """The add-on stack's image: made the first time an add-on is created on this machine."""
    from deis.stack.build import ensure_extra
    from deis.stack.definition import ADDON_STACK

    return ensure_extra(ADDON_STACK, log.info)


def build_context(
    settings: Settings, store: Store | None = None, objects: Objects | None = None
) -> Context:
    router = make_router(settings)
    objects = objects or make_objects(settings)
    logs = make_logs(settings)
    runtime = make_runtime(settings, router, objects, logs)
    logs = with_pod_logs(settings, logs, runtime)
    outputs = FileBuildOutputs(settings.state_dir / "logs" / "builds", settings.build_log_retention)
    # On Kubernetes the jobs are CronJobs of the app's namespace: the cluster runs them.
    scheduler = CronLoop(
        catch_up=settings.cron_catch_up, scheduled=settings.runtime != "kubernetes"
    )
    context = Context(
        store=store or make_store(settings),
        runtime=runtime,
        artifacts=make_artifacts(settings, runtime, objects),
        logs=logs,
        router=router,
        build_outputs=outputs,
        app_removers=[outputs.remove],
        cron_runner=scheduler,
        acme=make_acme(settings),
        addons=make_addons(settings, runtime, objects),
        objects=objects,
        **platform_settings(settings),
    )
    context.app_removers.append(lambda app_id: addons.app_removed(context, app_id))
    scheduler.context = context
    return context


def worker_context(settings: Settings, primary_socket: Path) -> Context:
    """An extra API process's context: the database, no adapter that acts (those are the
    primary's; see deis.platform.forwarding), and the primary to carry out the follow-ups
    of the releases it makes."""
    return Context(
        store=make_store(settings),
        runtime=cast(Runtime, InPrimaryOnly("runtime")),
        logs=cast(Logs, InPrimaryOnly("log store")),
        router=cast(Router, InPrimaryOnly("router")),
        build_outputs=cast(BuildOutputs, InPrimaryOnly("build output store")),
        primary=PrimaryOverSocket(primary_socket),
        acme=make_acme(settings),  # to say whether it is on: the primary orders
        **platform_settings(settings),
    )


def builder_key(settings: Settings) -> str:
    """The builder's shared secret: from settings, else kept in the state dir (0600)."""
    if settings.builder_key:
        return settings.builder_key
    path: Path = settings.state_dir / "builder-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


def dashboard_key(settings: Settings) -> str:
    """The key that seals the dashboard's session cookies: STATE/dashboard-key (0600),
    made once. Not in backups: after a restore, users sign in to the dashboard again."""
    path: Path = settings.state_dir / "dashboard-key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as out:
            out.write(dashboard.new_key() + "\n")
    return path.read_text().strip()


def platform_facts(settings: Settings) -> Mapping[str, str]:
    facts = {
        "domain": settings.domain,
        "builder": f"ssh://git@{settings.bind}:{settings.ssh_port}",
        "git_http": f"http://{settings.bind}:{settings.api_port}",
        "runtime": settings.runtime,
    }
    if settings.builder != "git":
        return facts
    return BuilderFacts(facts, builder_host_key_file(settings))


def builder_host_key_file(settings: Settings) -> Path:
    """The public half of the builder's SSH host key (made when the builder first starts)."""
    from deis.builder.config import BuilderConfig

    return BuilderConfig(state_dir=settings.state_dir).host_key.with_suffix(".pub")


class BuilderFacts(Mapping[str, str]):
    """The facts, plus `builder_host_key` ("ssh-ed25519 AAAA...") once the builder has made
    its key: read when asked, since the builder may make it after the API started."""

    def __init__(self, facts: dict[str, str], key_file: Path) -> None:
        self.facts = facts
        self.key_file = key_file

    def _all(self) -> dict[str, str]:
        try:
            words = self.key_file.read_text().split()
        except OSError:
            return self.facts
        return {**self.facts, "builder_host_key": " ".join(words[:2])} if words else self.facts

    def __getitem__(self, key: str) -> str:
        return self._all()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


@runtime_checkable
class Supervised(Protocol):
    """An adapter with processes or threads of its own (nginx, the runtime's supervisor)."""

    def start(self) -> None: ...
    def stop(self) -> None: ...


@dataclass
class Platform:
    """The wired parts, and how to start and stop the ones that run."""

    settings: Settings
    context: Context
    objects: Objects
    builder: Any = None  # deis.builder.server.Builder when the builder is on
    autoscaler: Any = None  # an AutoscalerLoop when the runtime measures CPU
    sleeper: Any = None  # a SleepLoop when idle apps may sleep (podman and nginx)
    addon_backups: Any = None  # an AddonBackupLoop when there are add-ons and backups
    registry: Any = None  # deis.platform.registry.Registry when images are built or run
    started: list[Callable[[], None]] = field(default_factory=list)

    def start(self) -> None:
        """The registry first (builds push to it, the runtime pulls from it), then the
        router (it must hold every route before replicas are announced), then the runtime
        (adopting what runs), then every app's route; the autoscaler last. Then, in the
        background, every app whose records say other than what its runtime runs (the
        platform stopped in the middle of a deploy) is deployed."""
        parts = (self.registry, self.context.router, self.context.runtime, self.context.logs)
        for part in (*parts, self.context.addons, self.autoscaler, self.sleeper):
            if isinstance(part, Supervised):
                part.start()
                self.started.append(part.stop)
        count = addons.adopt_all(self.context)
        log.info("supervising %d add-ons", count)
        count = routes.publish_all(self.context)
        log.info("published the routes of %d apps", count)
        threading.Thread(
            target=deploys.converge_all, args=(self.context,), name="deis-converge", daemon=True
        ).start()
        if self.context.acme is not None:  # automatic TLS: orders and renewals
            job = Periodic("deis-acme", self.renew_certificates, self.settings.acme_interval)
            job.start()
            self.started.append(job.stop)
        if self.addon_backups is not None:  # after adopt_all: the servers are running
            self.addon_backups.start()
            self.started.append(self.addon_backups.stop)
        if isinstance(self.context.cron_runner, CronLoop):  # `deis cron` jobs, last
            self.context.cron_runner.begin()
            self.started.append(self.context.cron_runner.stop)

    def renew_certificates(self) -> None:
        """One pass of automatic TLS: the apps' domains, then the controller's own name
        when the operator asked for it (--acme-platform)."""
        acme.renew_due(self.context)
        issuer = self.context.acme
        own_router = self.settings.router == "nginx"  # deis.DOMAIN's files are its own
        if (
            self.settings.acme_platform
            and own_router
            and issuer is not None
            and not issuer.delegated
        ):
            acme_platform.renew(self.settings, issuer, self.context.router, self.context.clock())

    def stop(self) -> None:
        while self.started:
            stop = self.started.pop()
            try:
                stop()
            except Exception:
                log.exception("stopping a part of the platform failed")


def make_autoscaler(settings: Settings, context: Context, meter: CpuMeter) -> Any:
    from deis.platform.autoscaling import AutoscalerLoop
    from deis.services.autoscaler import Autoscaler

    interval = settings.autoscale_interval
    autoscaler = Autoscaler(
        context,
        meter,
        window=settings.autoscale_down_window,
        sample_seconds=min(max(interval, 3.0), 60.0),
        retry_base=interval,
    )
    return AutoscalerLoop(autoscaler, interval)


def make_sleeper(settings: Settings, context: Context) -> Any:
    """Idle apps sleep where the platform runs them and routes to them (podman, nginx):
    the sleep loop, and the router told to ask it for wakes. None elsewhere (on
    Kubernetes apps do not sleep yet, docs/sleep.md)."""
    from deis.router.nginx import NginxRouter
    from deis.runtime.podman import PodmanRuntime

    if not isinstance(context.router, NginxRouter):
        return None
    if not isinstance(context.runtime, PodmanRuntime):
        return None
    from deis.platform.sleeping import SleepLoop

    loop = SleepLoop(context, settings.sleep_interval, on_failed=context.router.wake_failed)
    context.router.on_wake = loop.wake
    return loop


def build_platform(settings: Settings, store: Store | None = None) -> Platform:
    objects = make_objects(settings)
    context = build_context(settings, store, objects)
    platform = Platform(settings, context, objects, registry=make_registry(settings))
    if isinstance(context.runtime, CpuMeter):
        platform.autoscaler = make_autoscaler(settings, context, context.runtime)
    platform.sleeper = make_sleeper(settings, context)
    if context.addons is not None and context.objects is not None:
        from deis.platform.addon_backups import AddonBackupLoop

        platform.addon_backups = AddonBackupLoop(context, settings.addon_backup_interval)
    if settings.builder == "git":
        from deis.builder.server import Builder

        platform.builder = Builder(
            context, settings, objects=objects, networks=make_build_networks(settings)
        )
        context.app_removers.append(platform.builder.forget_app)
        keys = registry_keys(settings)
        if keys is not None:
            platform.builder.pipeline.registry_login = keys.builder
        if settings.runtime == "kubernetes":  # builds run as pods in the cluster
            kubernetes_wiring().use_cluster_builds(platform.builder.pipeline, objects)
    elif settings.builder != "none":
        raise UnknownAdapter(f"unknown builder {settings.builder!r} (known: git, none)")
    if isinstance(context.artifacts, LocalArtifacts):
        context.app_removers.append(context.artifacts.forget_app)
    return platform


def lifespan_of(platform: Platform) -> Callable[[FastAPI], Any]:
    """The primary process starts the parts that run (router, runtime, log collector,
    builder) and stops them; the other API processes only serve requests."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings = platform.settings
        threads.use_threads(settings.api_threads, settings.api_blocking_threads)
        try:
            await asyncio.to_thread(platform.start)
        except BaseException:  # stop what did start (an nginx would be left serving)
            await asyncio.to_thread(platform.stop)
            raise
        if platform.builder is not None:
            await platform.builder.start(host=platform.settings.bind)
        try:
            yield
        finally:
            if platform.builder is not None:
                await platform.builder.stop()
            await asyncio.to_thread(platform.stop)

    return lifespan


class GitOrApi:
    """Sends git's smart HTTP paths (`/APP.git/...`) to the builder before the API's
    body limit (pushes are larger than any API body), everything else to the API."""

    def __init__(self, api: FastAPI, git: ASGIApp, is_git_path: Callable[[str], bool]) -> None:
        self.api = api
        self.git = git
        self.is_git_path = is_git_path

    @property
    def state(self) -> Any:
        return self.api.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.is_git_path(scope["path"]):
            await self.git(scope, receive, send)
        else:
            await self.api(scope, receive, send)


def build_app(settings: Settings, store: Store | None = None) -> Any:
    """The primary API process's app: everything, with the parts that run."""
    platform = build_platform(settings, store)
    api = create_app(
        platform.context,
        builder_key=builder_key(settings),
        platform=platform_facts(settings),
        max_body_bytes=settings.max_body_bytes,
        lifespan=lifespan_of(platform),
    )
    dashboard.install(api, dashboard_key(settings))
    keys = registry_keys(settings)
    if keys is not None:
        from deis.platform.registry_auth import TOKEN_PATH, token_endpoint

        api.add_route(
            TOKEN_PATH, token_endpoint(platform.context, keys), ["GET"], include_in_schema=False
        )
    if platform.builder is None:
        return FromWorkers(api)
    from deis.builder.http import is_git_path

    return FromWorkers(GitOrApi(api, platform.builder.http_app, is_git_path))


def build_worker_app(settings: Settings, primary_socket: Path) -> Any:
    """An extra API process's app: the routes that only read the database, and every
    other request handed on to the primary over `primary_socket`."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        threads.use_threads(settings.api_threads, settings.api_blocking_threads)
        try:
            yield
        finally:
            forwarder.relay.close()

    api = create_app(
        worker_context(settings, primary_socket),
        builder_key=builder_key(settings),
        platform=platform_facts(settings),
        max_body_bytes=settings.max_body_bytes,
        lifespan=lifespan,
    )
    several_writers = not is_sqlite(settings.effective_database_url)
    forwarder = ToPrimary(api, api.router.routes, primary_socket, writes=several_writers)
    return forwarder
