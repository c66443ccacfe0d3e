"""Write the slug at URL to standard output: `python3 slugfetch.py URL`.

http(s):// URLs are fetched as they are; s3://BUCKET/KEY is read from the platform's
S3-compatible object store with an AWS Signature Version 4 GET (the standard library
only: the run stack has no boto3), using the files of DEIS_OBJECTSTORE_DIR (default
/var/run/secrets/deis/objectstore): endpoint, region, access-key, secret-key.
Exit status 0 when the whole object was written, 1 with the reason on stderr otherwise.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import os
import shutil
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _read(directory: Path, name: str, default: str = "") -> str:
    try:
        return (directory / name).read_text().strip()
    except FileNotFoundError:
        return default


def signed_request(url: str, directory: Path, now: datetime.datetime) -> urllib.request.Request:
    parsed = urllib.parse.urlsplit(url)
    bucket, key = parsed.netloc, parsed.path.lstrip("/")
    endpoint = _read(directory, "endpoint").rstrip("/")
    region = _read(directory, "region", "us-east-1")
    access_key = _read(directory, "access-key")
    secret_key = _read(directory, "secret-key")
    if not endpoint or not access_key or not secret_key:
        raise SystemExit(f"slugfetch: {directory} lacks endpoint, access-key or secret-key")
    base = urllib.parse.urlsplit(endpoint)
    path = f"{base.path.rstrip('/')}/{bucket}/{urllib.parse.quote(key, safe='/~')}"
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    day = now.strftime("%Y%m%d")
    headers = {"host": base.netloc, "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": stamp}
    signed = ";".join(sorted(headers))
    canonical = "\n".join(
        ["GET", path, "", *(f"{k}:{headers[k]}" for k in sorted(headers)), "", signed,
         EMPTY_SHA256]
    )  # fmt: skip
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key_bytes = ("AWS4" + secret_key).encode()
    for part in (day, region, "s3", "aws4_request"):
        key_bytes = hmac.new(key_bytes, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key_bytes, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed},"
        f" Signature={signature}"
    )
    del headers["host"]  # urllib sends it from the URL
    return urllib.request.Request(f"{base.scheme}://{base.netloc}{path}", headers=headers)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: slugfetch.py URL   (http://, https:// or s3://BUCKET/KEY)", file=sys.stderr)
        return 2
    url = argv[1]
    if url.startswith("s3://"):
        directory = Path(
            os.environ.get("DEIS_OBJECTSTORE_DIR", "/var/run/secrets/deis/objectstore")
        )
        request = signed_request(url, directory, datetime.datetime.now(datetime.UTC))
    elif url.startswith(("http://", "https://")):
        request = urllib.request.Request(url)
    else:
        print(f"slugfetch: not a slug URL: {url}", file=sys.stderr)
        return 2
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            shutil.copyfileobj(response, sys.stdout.buffer, 1 << 20)
    except urllib.error.HTTPError as error:
        print(f"slugfetch: {url}: HTTP {error.code} {error.reason}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"slugfetch: {url}: {error}", file=sys.stderr)
        return 1
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
