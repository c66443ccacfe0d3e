"""The API's worker threads: few for the quick routes, a limiter of their own for the
routes that wait (deploys, run, logs -f)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import anyio.to_thread
import pytest
from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.testclient import TestClient

from deis import threads
from deis.platform.wiring import BACKGROUND_THREADS, build_app, make_store
from deis.settings import SettingsError, from_env
from deis.store.migrate import upgrade
from deis.store.sqlalchemy_store import SqlStore
from tests.api.conftest import LIGHT


def app_with_one_thread(entered: threading.Event, release: threading.Event) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        threads.use_threads(1, 4)
        yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/wait")
    @threads.blocking
    def wait(seconds: Annotated[int, Query(ge=1, le=60)]) -> JSONResponse:
        entered.set()
        released = release.wait(seconds)
        return JSONResponse({"released": released, "thread": threading.current_thread().name})

    @app.get("/quick")
    def quick() -> JSONResponse:
        return JSONResponse({"ok": True})

    def lines() -> Iterator[str]:
        entered.set()
        yield "first\n"
        release.wait(30)
        yield "second\n"

    @app.get("/follow")
    def follow() -> StreamingResponse:
        return StreamingResponse(threads.blocking_iterate(lines()), media_type="text/plain")

    return app


def test_a_blocking_route_leaves_the_only_default_thread_free() -> None:
    entered, release = threading.Event(), threading.Event()
    with (
        TestClient(app_with_one_thread(entered, release)) as client,
        ThreadPoolExecutor(1) as pool,
    ):
        waiting = pool.submit(client.get, "/wait", params={"seconds": 30})
        assert entered.wait(30)
        assert client.get("/quick").json() == {"ok": True}  # while /wait holds its thread
        release.set()
        answer = waiting.result(timeout=30)
    assert answer.status_code == 200
    assert answer.json()["released"] is True


def test_a_blocking_route_keeps_its_parameters_and_their_validation() -> None:
    entered, release = threading.Event(), threading.Event()
    release.set()
    with TestClient(app_with_one_thread(entered, release)) as client:
        assert client.get("/wait", params={"seconds": 1}).json()["released"] is True
        assert client.get("/wait", params={"seconds": 0}).status_code == 422
        assert client.get("/wait").status_code == 422
        schema = client.get("/openapi.json").json()
    parameter = schema["paths"]["/wait"]["get"]["parameters"][0]
    assert parameter["name"] == "seconds"
    assert parameter["schema"]["minimum"] == 1


def test_a_followed_stream_leaves_the_only_default_thread_free() -> None:
    entered, release = threading.Event(), threading.Event()
    with (
        TestClient(app_with_one_thread(entered, release)) as client,
        ThreadPoolExecutor(1) as pool,
    ):
        following = pool.submit(client.get, "/follow")
        assert entered.wait(30)
        assert client.get("/quick").json() == {"ok": True}
        release.set()
        assert following.result(timeout=30).text == "first\nsecond\n"


def test_the_platform_caps_its_default_threads(tmp_path: Path) -> None:
    settings = from_env(
        {"DEIS_API_THREADS": "3", "DEIS_API_BLOCKING_THREADS": "5"},
        state_dir=tmp_path / "state",
        logs="none",
        **LIGHT,
    )
    upgrade(settings.effective_database_url)
    app = build_app(settings)

    async def tokens() -> tuple[float, float]:
        default = anyio.to_thread.current_default_thread_limiter().total_tokens
        return default, threads.blocking_limiter().total_tokens

    with TestClient(app) as client:
        assert client.portal is not None
        assert client.portal.call(tokens) == (3, 5)
    app.state.context.store.close()


@pytest.mark.parametrize("var", ["DEIS_API_THREADS", "DEIS_API_BLOCKING_THREADS", "DEIS_WORKERS"])
def test_thread_and_worker_counts_must_be_positive(var: str) -> None:
    with pytest.raises(SettingsError, match=f"{var} must be at least 1"):
        from_env({var: "0"})


def test_the_database_keeps_a_connection_for_every_api_thread(tmp_path: Path) -> None:
    settings = from_env(
        {"DEIS_API_THREADS": "3", "DEIS_API_BLOCKING_THREADS": "20"},
        state_dir=tmp_path / "state",
        **LIGHT,
    )
    store = make_store(settings)
    assert isinstance(store, SqlStore)
    try:
        assert store.engine.pool.size() == 3 + 20 + BACKGROUND_THREADS  # type: ignore[attr-defined]
    finally:
        store.close()
