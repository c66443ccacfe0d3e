"""The slugrunner's fetcher (images/slugrunner/slugfetch.py), run as the image runs it,
against moto's S3 server with signature checking on: an s3:// slug is read with a correct
AWS Signature Version 4, and refused with a wrong key."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from ..objects.conftest import start_moto, stop

FETCH = Path(__file__).resolve().parents[2] / "images" / "slugrunner" / "slugfetch.py"
KEY = "pre/slugs/my-app/git-0123456+build=1.tgz"


@pytest.fixture(scope="module")
def strict_s3() -> Iterator[tuple[str, str, str]]:
    """(endpoint, access key, secret key) of a moto that checks signatures after the
    four requests that make a user, its key, its policy and the bucket."""
    process, url = start_moto({"INITIAL_NO_AUTH_ACTION_COUNT": "4"})
    try:
        iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id="x", aws_secret_access_key="x")  # fmt: skip
        iam.create_user(UserName="slugrunner")
        key = iam.create_access_key(UserName="slugrunner")["AccessKey"]
        policy = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}'
        iam.put_user_policy(UserName="slugrunner", PolicyName="s3", PolicyDocument=policy)
        s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="x")  # fmt: skip
        s3.create_bucket(Bucket="slugs")
        yield url, key["AccessKeyId"], key["SecretAccessKey"]
    finally:
        stop(process)


def fetch(url: str, directory: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(  # noqa: S603 - an argument list
        [sys.executable, str(FETCH), url],
        env={**os.environ, "DEIS_OBJECTSTORE_DIR": str(directory)},
        capture_output=True,
        timeout=60,
    )


def credentials(directory: Path, endpoint: str, access: str, secret: str) -> Path:
    directory.mkdir()
    for name, value in {"endpoint": endpoint, "region": "us-east-1", "access-key": access,
                        "secret-key": secret}.items():  # fmt: skip
        (directory / name).write_text(value + "\n")
    return directory


def test_an_s3_slug_is_fetched_with_a_signed_request(
    strict_s3: tuple[str, str, str], tmp_path: Path
) -> None:
    url, access, secret = strict_s3
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                      aws_access_key_id=access, aws_secret_access_key=secret)  # fmt: skip
    slug = os.urandom(3 * 1024 * 1024)
    s3.put_object(Bucket="slugs", Key=KEY, Body=slug)
    done = fetch(f"s3://slugs/{KEY}", credentials(tmp_path / "ok", url, access, secret))
    assert done.returncode == 0, done.stderr
    assert done.stdout == slug
    wrong = fetch(f"s3://slugs/{KEY}", credentials(tmp_path / "bad", url, access, "wrong"))
    assert wrong.returncode == 1 and b"HTTP 403" in wrong.stderr
    missing = fetch("s3://slugs/pre/slugs/none.tgz", tmp_path / "ok")
    assert missing.returncode == 1 and b"HTTP 404" in missing.stderr
    assert fetch("ftp://x/y", tmp_path / "ok").returncode == 2
