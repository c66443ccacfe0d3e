"""Fixtures of the object store tests: every adapter behind one `store` fixture.

The S3 adapter runs against moto's S3 server, started as a real HTTP server (a separate
process) on a free port of 127.0.0.1, or against a real S3-compatible endpoint when
DEIS_TEST_S3_ENDPOINT is set (with DEIS_TEST_S3_BUCKET, DEIS_TEST_S3_ACCESS_KEY,
DEIS_TEST_S3_SECRET_KEY and optionally DEIS_TEST_S3_REGION). Each test works under a
prefix of its own, so tests share a bucket without seeing each other's keys.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from deis.objects.filesystem import FilesystemObjects
from deis.objects.s3 import S3Config, S3Objects
from deis.ports import Objects

REAL_ENDPOINT = os.environ.get("DEIS_TEST_S3_ENDPOINT", "")
MOTO_KEYS = ("testing-access-key", "testing-secret-key")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class S3Endpoint:
    url: str
    bucket: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    real: bool = False

    def config(self, prefix: str = "", **changes: str) -> S3Config:
        values = {
            "endpoint": self.url,
            "bucket": self.bucket,
            "region": self.region,
            "access_key": self.access_key,
            "secret_key": self.secret_key,
            "prefix": prefix,
            **changes,
        }
        return S3Config(**values)


def start_moto(env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - argument list
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=2).close()
            return process, url
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("moto's S3 server did not start") from None
            time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[S3Endpoint]:
    if REAL_ENDPOINT:
        yield S3Endpoint(
            url=REAL_ENDPOINT,
            bucket=os.environ["DEIS_TEST_S3_BUCKET"],
            access_key=os.environ.get("DEIS_TEST_S3_ACCESS_KEY", ""),
            secret_key=os.environ.get("DEIS_TEST_S3_SECRET_KEY", ""),
            region=os.environ.get("DEIS_TEST_S3_REGION", "us-east-1"),
            real=True,
        )
        return
    process, url = start_moto()
    try:
        endpoint = S3Endpoint(url, f"deis-test-{secrets.token_hex(4)}", *MOTO_KEYS)
        S3Objects(endpoint.config(), Path("/nonexistent")).client.create_bucket(
            Bucket=endpoint.bucket
        )
        yield endpoint
    finally:
        stop(process)


@pytest.fixture
def s3_store(s3_endpoint: S3Endpoint, tmp_path: Path) -> Iterator[S3Objects]:
    prefix = f"test-{secrets.token_hex(6)}"
    store = S3Objects(s3_endpoint.config(prefix), tmp_path / "cache")
    try:
        yield store
    finally:
        for key in store.keys():
            store.delete(key)


@pytest.fixture(params=["filesystem", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Objects:
    if request.param == "filesystem":
        return FilesystemObjects(tmp_path / "objects")
    result: Objects = request.getfixturevalue("s3_store")
    return result
