"""What only the S3 adapter does: settings, presigned URLs, and clear errors."""

from __future__ import annotations

import secrets
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from deis.objects.s3 import ObjectStoreError, S3Config, S3Objects
from deis.platform.wiring import UnknownAdapter, make_objects
from deis.settings import from_env

from .conftest import S3Endpoint, free_port, start_moto, stop


def test_config_from_env() -> None:
    config = S3Config.from_env(
        {
            "DEIS_S3_ENDPOINT": "http://minio.deis:9000/",
            "DEIS_S3_BUCKET": "deis",
            "AWS_ACCESS_KEY_ID": "AK",
            "AWS_SECRET_ACCESS_KEY": "SK",
            "DEIS_S3_PREFIX": "/platform/",
        }
    )
    assert config == S3Config("http://minio.deis:9000", "deis", "us-east-1", "AK", "SK", "platform")
    ours = S3Config.from_env(
        {"DEIS_S3_BUCKET": "b", "DEIS_S3_ACCESS_KEY": "mine", "AWS_ACCESS_KEY_ID": "aws",
         "DEIS_S3_SECRET_KEY": "s", "DEIS_S3_REGION": "eu-west-1"}
    )  # fmt: skip
    assert (ours.access_key, ours.region, ours.endpoint) == ("mine", "eu-west-1", "")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "DEIS_S3_BUCKET"),
        ({"DEIS_S3_BUCKET": "b", "DEIS_S3_ENDPOINT": "minio:9000"}, "http:// or https://"),
        ({"DEIS_S3_BUCKET": "b", "DEIS_S3_ACCESS_KEY": "AK"}, "both the access key"),
        ({"DEIS_S3_BUCKET": "b", "DEIS_S3_PREFIX": "a/../b"}, "not an object key"),
    ],
)
def test_bad_settings_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises((ObjectStoreError, ValueError), match=message):
        S3Config.from_env(env)


def test_presigned_urls_read_and_write(s3_store: S3Objects) -> None:
    s3_store.put("builds/app/source.tgz", b"the source")
    with urllib.request.urlopen(s3_store.url("builds/app/source.tgz"), timeout=10) as response:
        assert response.read() == b"the source"
    put = urllib.request.Request(
        s3_store.url("slugs/app/git-x.tgz", "PUT"),
        data=b"the slug",
        method="PUT",
        headers={"Content-Type": "application/octet-stream"},  # as curl -T sends it
    )
    urllib.request.urlopen(put, timeout=10).close()
    assert s3_store.get("slugs/app/git-x.tgz") == b"the slug"


def test_a_missing_bucket_is_named(s3_endpoint: S3Endpoint, tmp_path: Path) -> None:
    bucket = f"deis-missing-{secrets.token_hex(4)}"
    store = S3Objects(s3_endpoint.config(bucket=bucket), tmp_path)
    for attempt in (store.check, lambda: store.put("a/b", b"x"), lambda: store.get("a/b")):
        with pytest.raises(ObjectStoreError, match=f"bucket '{bucket}' does not exist"):
            attempt()
    with pytest.raises(ObjectStoreError, match="does not exist"):
        store.put("a/b", tmp_path.joinpath("f").write_bytes(b"x") and tmp_path / "f")


def test_no_credentials_are_named(
    s3_endpoint: S3Endpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    store = S3Objects(s3_endpoint.config(access_key="", secret_key=""), tmp_path)
    with pytest.raises(ObjectStoreError, match="No credentials .* DEIS_S3_ACCESS_KEY"):
        store.check()


@pytest.fixture(scope="module")
def strict_moto() -> Iterator[str]:
    """A moto server that checks credentials, as a real store does."""
    process, url = start_moto({"INITIAL_NO_AUTH_ACTION_COUNT": "0"})
    try:
        yield url
    finally:
        stop(process)


def test_refused_credentials_are_named(strict_moto: str, tmp_path: Path) -> None:
    config = S3Config(strict_moto, "deis", access_key="AKIAWRONG0000000", secret_key="nope")
    store = S3Objects(config, tmp_path)
    with pytest.raises(ObjectStoreError, match="refused the credentials .* DEIS_S3_ACCESS_KEY"):
        store.check()
    with pytest.raises(ObjectStoreError, match="refused the credentials"):
        store.put("a/b", b"x")


def test_an_unreachable_endpoint_is_named(tmp_path: Path) -> None:
    config = S3Config(f"http://127.0.0.1:{free_port()}", "deis", access_key="a", secret_key="b")
    with pytest.raises(ObjectStoreError, match="Cannot reach the object store .*DEIS_S3_ENDPOINT"):
        S3Objects(config, tmp_path).check()


def test_the_platform_chooses_the_store_by_setting(
    s3_endpoint: S3Endpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEIS_S3_ENDPOINT", s3_endpoint.url)
    monkeypatch.setenv("DEIS_S3_BUCKET", s3_endpoint.bucket)
    monkeypatch.setenv("DEIS_S3_REGION", s3_endpoint.region)
    monkeypatch.setenv("DEIS_S3_ACCESS_KEY", s3_endpoint.access_key)
    monkeypatch.setenv("DEIS_S3_SECRET_KEY", s3_endpoint.secret_key)
    monkeypatch.setenv("DEIS_S3_PREFIX", f"wiring-{secrets.token_hex(4)}")
    store = make_objects(from_env({"DEIS_OBJECTS": "s3", "DEIS_STATE_DIR": str(tmp_path)}))
    assert isinstance(store, S3Objects)
    store.put("slugs/a/b.tgz", b"x")
    assert store.path("slugs/a/b.tgz").is_relative_to(tmp_path)
    store.delete("slugs/a/b.tgz")
    assert make_objects(from_env({"DEIS_STATE_DIR": str(tmp_path)})).name == "filesystem"
    monkeypatch.setenv("DEIS_S3_BUCKET", f"deis-missing-{secrets.token_hex(4)}")
    with pytest.raises(ObjectStoreError, match="does not exist"):
        make_objects(from_env({"DEIS_OBJECTS": "s3", "DEIS_STATE_DIR": str(tmp_path)}))
    with pytest.raises(UnknownAdapter, match="known: filesystem, s3"):
        make_objects(from_env({"DEIS_OBJECTS": "gcs", "DEIS_STATE_DIR": str(tmp_path)}))
