"""The object store in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, ...), through boto3.

Keys are the same as the filesystem adapter's (`slugs/myapp/git-SHA.tgz`), under an
optional prefix in the bucket. Uploads and downloads stream: a file or a stream goes up
in multipart chunks, `open` reads the object as it arrives, and `path` downloads to a
local cache file (for local readers such as the podman runtime) without holding the
object in memory. `url` gives presigned URLs, so a build pod can read a source tarball
and write a slug without holding the store's credentials.

Settings (`S3Config.from_env`): DEIS_S3_ENDPOINT, DEIS_S3_BUCKET, DEIS_S3_REGION,
DEIS_S3_PREFIX, and the keys in DEIS_S3_ACCESS_KEY / DEIS_S3_SECRET_KEY (else the usual
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
"""

from __future__ import annotations

import io
import os
import secrets
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

from deis.domain.errors import Unavailable
from deis.objects.filesystem import validate_key

CHUNK = 8 * 1024 * 1024  # multipart part size: memory per upload stays near this
READ_CHUNK = 1024 * 1024
MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
NO_BUCKET = frozenset({"NoSuchBucket"})
BAD_CREDENTIALS = frozenset(
    {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403", "InvalidToken"}
)


class ObjectStoreError(Unavailable):
    """The object store cannot be used: no bucket, refused credentials, unreachable."""


@dataclass(frozen=True)
class S3Config:
    endpoint: str  # "" means AWS's own endpoints for the region
    bucket: str
    region: str = "us-east-1"
    access_key: str = ""
    secret_key: str = ""
    prefix: str = ""  # keys live under PREFIX/ in the bucket
    addressing: str = "path"  # path-style works with every S3-compatible server

    def check(self) -> S3Config:
        if not self.bucket:
            raise ObjectStoreError("DEIS_OBJECTS=s3 needs a bucket (DEIS_S3_BUCKET).")
        if self.endpoint and not self.endpoint.startswith(("http://", "https://")):
            raise ObjectStoreError(
                f"DEIS_S3_ENDPOINT must be an http:// or https:// URL, not {self.endpoint!r}."
            )
        if bool(self.access_key) != bool(self.secret_key):
            raise ObjectStoreError(
                "Give both the access key and the secret key of the object store"
                " (DEIS_S3_ACCESS_KEY and DEIS_S3_SECRET_KEY), or neither."
            )
        if self.prefix:
            validate_key(self.prefix)
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> S3Config:
        env = os.environ if env is None else env

        def get(*names: str, default: str = "") -> str:
            for name in names:
                value = env.get(name, "").strip()
                if value:
                    return value
            return default

        return cls(
            endpoint=get("DEIS_S3_ENDPOINT").rstrip("/"),
            bucket=get("DEIS_S3_BUCKET"),
            region=get("DEIS_S3_REGION", "AWS_DEFAULT_REGION", default="us-east-1"),
            access_key=get("DEIS_S3_ACCESS_KEY", "AWS_ACCESS_KEY_ID"),
            secret_key=get("DEIS_S3_SECRET_KEY", "AWS_SECRET_ACCESS_KEY"),
            prefix=get("DEIS_S3_PREFIX").strip("/"),
        ).check()


class _Counting(io.RawIOBase):
    """A readable stream that counts what was read from it (the size of an upload)."""

    def __init__(self, source: BinaryIO) -> None:
        self.source = source
        self.count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.count += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class S3Objects:
    """put/get/open/exists/delete/keys/path by key, in one bucket; `url` presigns."""

    name = "s3"

    def __init__(self, config: S3Config, cache_dir: Path, client: Any = None) -> None:
        self.config = config.check()
        self.bucket = config.bucket
        self.cache_dir = Path(cache_dir)
        self.client = client if client is not None else _client(config)
        from boto3.s3.transfer import TransferConfig

        self.transfer = TransferConfig(
            multipart_threshold=CHUNK, multipart_chunksize=CHUNK, max_concurrency=2
        )

    # --- naming ----------------------------------------------------------------------

    def _name(self, key: str) -> str:
        validate_key(key)
        return f"{self.config.prefix}/{key}" if self.config.prefix else key

    def _key_of(self, name: str) -> str:
        return name[len(self.config.prefix) + 1 :] if self.config.prefix else name

    # --- the Objects port ------------------------------------------------------------

    def check(self) -> None:
        """Fail now, with a clear message, if the bucket cannot be used."""
        with self._errors(""):
            self.client.head_bucket(Bucket=self.bucket)

    def put(self, key: str, data: bytes | BinaryIO | Path) -> int:
        name = self._name(key)
        with self._errors(key):
            if isinstance(data, bytes):
                self.client.put_object(Bucket=self.bucket, Key=name, Body=data)
                return len(data)
            if isinstance(data, Path):
                self.client.upload_file(str(data), self.bucket, name, Config=self.transfer)
                return data.stat().st_size
            counting = _Counting(data)
            self.client.upload_fileobj(counting, self.bucket, name, Config=self.transfer)
            return counting.count

    def get(self, key: str) -> bytes:
        with self.open(key) as body:
            return body.read()

    def open(self, key: str) -> BinaryIO:
        """The object as a stream, read as it arrives; close it when done."""
        name = self._name(key)
        with self._errors(key):
            response = self.client.get_object(Bucket=self.bucket, Key=name)
        return cast(BinaryIO, _Body(response["Body"]))

    def exists(self, key: str) -> bool:
        name = self._name(key)
        try:
            with self._errors(key):
                self.client.head_object(Bucket=self.bucket, Key=name)
        except KeyError:
            return False
        return True

    def delete(self, key: str) -> None:
        name = self._name(key)
        with self._errors(key):
            self.client.delete_object(Bucket=self.bucket, Key=name)

    def keys(self, prefix: str = "") -> list[str]:
        """Keys under a folder-like prefix ("slugs/app": not "slugs/app2/...")."""
        if prefix:
            start = self._name(prefix.rstrip("/")) + "/"
        else:
            start = f"{self.config.prefix}/" if self.config.prefix else ""
        found: list[str] = []
        with self._errors(prefix):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=start
            )
            for page in pages:
                found += [self._key_of(item["Key"]) for item in page.get("Contents") or []]
        return sorted(found)

    def path(self, key: str) -> Path:
        """A local copy of the object in the cache folder, downloaded again only when
        the object changed (its ETag); a path that does not exist if the key does not."""
        validate_key(key)
        local = self.cache_dir.joinpath(*key.split("/"))
        stamp = local.with_name(f".{local.name}.etag")
        try:
            with self._errors(key):
                head = self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except KeyError:
            local.unlink(missing_ok=True)
            stamp.unlink(missing_ok=True)
            return local
        etag = str(head.get("ETag", ""))
        if local.is_file() and stamp.is_file() and stamp.read_text() == etag:
            return local
        local.parent.mkdir(parents=True, exist_ok=True)
        temporary = local.with_name(f".{local.name}.{secrets.token_hex(6)}.part")
        try:
            with self.open(key) as body, temporary.open("wb") as out:
                shutil.copyfileobj(body, out, READ_CHUNK)
            temporary.replace(local)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        stamp.write_text(etag)
        return local

    # --- beyond the port -----------------------------------------------------------------

    def url(self, key: str, method: str = "GET", expires: int = 3600) -> str:
        """A presigned URL: GET reads the object, PUT writes it (one request, no keys)."""
        operation = {"GET": "get_object", "PUT": "put_object"}[method]
        with self._errors(key):
            url: str = self.client.generate_presigned_url(
                operation,
                Params={"Bucket": self.bucket, "Key": self._name(key)},
                ExpiresIn=expires,
            )
        return url

    @contextmanager
    def _errors(self, key: str) -> Iterator[None]:
        """boto3's errors as the port's: KeyError for a missing key, ObjectStoreError
        naming the setting to fix for a missing bucket, refused keys, or no endpoint."""
        try:
            yield
        except Exception as error:
            translated = self._translate(error, key)
            if translated is None:
                raise
            raise translated from None

    def _translate(self, error: Exception, key: str) -> Exception | None:
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            EndpointConnectionError,
            NoCredentialsError,
        )

        config = self.config
        where = config.endpoint or f"AWS S3 ({config.region})"
        keys = (
            "DEIS_S3_ACCESS_KEY and DEIS_S3_SECRET_KEY"
            " (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        )
        code = ""
        if isinstance(error, ClientError):
            code = str(error.response.get("Error", {}).get("Code", ""))
        elif isinstance(error, S3UploadFailedError):  # the code is only in the text
            code = next((c for c in (*NO_BUCKET, *BAD_CREDENTIALS) if c in str(error)), "")
        if code in NO_BUCKET or (code in MISSING and not key):
            return ObjectStoreError(
                f"The bucket {config.bucket!r} does not exist at {where}: create it,"
                " or set DEIS_S3_BUCKET to one that does."
            )
        if code in MISSING:
            return KeyError(key)
        if code in BAD_CREDENTIALS:
            return ObjectStoreError(
                f"The object store at {where} refused the credentials for bucket"
                f" {config.bucket!r} ({code}): check {keys}."
            )
        if isinstance(error, NoCredentialsError):
            return ObjectStoreError(f"No credentials for the object store at {where}: set {keys}.")
        if isinstance(error, EndpointConnectionError):
            return ObjectStoreError(
                f"Cannot reach the object store at {where} (DEIS_S3_ENDPOINT): {error}"
            )
        if isinstance(error, ClientError | BotoCoreError | S3UploadFailedError):
            return ObjectStoreError(f"The object store at {where} failed: {error}")
        return None


class _Body(io.RawIOBase):
    """botocore's StreamingBody as a binary file: read(n), iteration, context manager."""

    def __init__(self, body: Any) -> None:
        self.body = body

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data: bytes = self.body.read() if size is None or size < 0 else self.body.read(size)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.body.close()
        super().close()


def _client(config: S3Config) -> Any:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id=config.access_key or None,
        aws_secret_access_key=config.secret_key or None,
        region_name=config.region,
    )
    return session.client(
        "s3",
        endpoint_url=config.endpoint or None,
        config=Config(
            s3={"addressing_style": config.addressing},
            signature_version="s3v4",
            retries={"max_attempts": 5, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
        ),
    )
