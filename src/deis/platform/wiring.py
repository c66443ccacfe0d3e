"""The composition root: settings in, adapters chosen by name, the ASGI app out."""

from __future__ import annotations

import secrets
from pathlib import Path

from argon2 import PasswordHasher
from fastapi import FastAPI

from deis.api.app import create_app
from deis.logs.files import FileLogs
from deis.logs.unavailable import UnavailableLogs
from deis.ports import Logs, Router, Runtime, Store
from deis.router.recording import RecordingRouter
from deis.runtime.record import RecordingRuntime
from deis.services.context import Context
from deis.settings import Settings
from deis.store.sqlalchemy_store import SqlStore


class UnknownAdapter(ValueError):
    pass


def make_store(settings: Settings) -> Store:
    return SqlStore(settings.effective_database_url)


def make_runtime(settings: Settings) -> Runtime:
    if settings.runtime == "record":
        return RecordingRuntime(settings.state_dir)
    raise UnknownAdapter(f"unknown runtime {settings.runtime!r} (known: record)")


def make_logs(settings: Settings) -> Logs:
    if settings.logs == "none":
        return UnavailableLogs()
    if settings.logs == "file":
        return FileLogs(settings.state_dir / "logs" / "apps", settings.log_retention)
    raise UnknownAdapter(f"unknown logs adapter {settings.logs!r} (known: none, file)")


def make_router(settings: Settings) -> Router:
    if settings.router == "none":
        return RecordingRouter()
    raise UnknownAdapter(f"unknown router {settings.router!r} (known: none)")


def build_context(settings: Settings, store: Store | None = None) -> Context:
    return Context(
        store=store or make_store(settings),
        runtime=make_runtime(settings),
        logs=make_logs(settings),
        router=make_router(settings),
        platform_domain=settings.domain,
        router_port=settings.router_port,
        registration_mode=settings.registration_mode,
        login_failures_allowed=settings.login_failures_allowed,
        password_hasher=PasswordHasher(
            time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib
        ),
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


def platform_facts(settings: Settings) -> dict[str, str]:
    return {
        "domain": settings.domain,
        "builder": f"ssh://git@{settings.bind}:{settings.ssh_port}",
        "git_http": f"http://{settings.bind}:{settings.api_port}",
        "runtime": settings.runtime,
    }


def build_app(settings: Settings, store: Store | None = None) -> FastAPI:
    return create_app(
        build_context(settings, store),
        builder_key=builder_key(settings),
        platform=platform_facts(settings),
        max_body_bytes=settings.max_body_bytes,
    )
