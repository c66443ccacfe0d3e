"""`.venv/bin/python images/smoke.py`: the builder images doing a real build, outside a cluster.

Starts moto's S3 server on a free port of 127.0.0.1, then runs, with podman, what a build
pod and an app's pod run: the slugbuilder builds examples/static from a presigned source
URL and stores the slug through a presigned PUT; the slugrunner fetches that slug with
its s3:// URL and the store's keys (as the `fetch-slug` init container does) and runs a
command of the app. Prints each step's output; exit status 0 when all worked.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

from deis.objects.s3 import S3Config, S3Objects

ROOT = Path(__file__).resolve().parents[1]
PREFIX = os.environ.get("IMAGE_PREFIX", "deis")
TAG = os.environ.get("VERSION", "")
PODMAN = ["podman", "--storage-opt", "additionalimagestore=/var/lib/deis/stack-images"]
CONF = """[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def podman(args: list[str], env: dict[str, str]) -> int:
    print("$ podman " + " ".join(a if len(a) < 60 else a[:57] + "..." for a in args), flush=True)
    return subprocess.run([*PODMAN, *args], env=env, timeout=900).returncode  # noqa: S603


def main() -> int:
    from importlib.metadata import version

    tag = TAG or version("deis-platform")
    work = Path(tempfile.mkdtemp(prefix="deis-smoke-"))
    (work / "containers.conf").write_text(CONF)
    env = {**os.environ, "CONTAINERS_CONF": str(work / "containers.conf")}
    port = free_port()
    moto = subprocess.Popen(  # noqa: S603 - an argument list
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        endpoint = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2).close()
                break
            except OSError:
                time.sleep(0.1)
        config = S3Config(endpoint, f"smoke-{secrets.token_hex(3)}", "us-east-1", "AK", "SK")
        store = S3Objects(config, work / "cache")
        store.client.create_bucket(Bucket=config.bucket)
        source = work / "source.tgz"
        with tarfile.open(source, "w:gz") as tar:
            for child in sorted((ROOT / "examples" / "static").iterdir()):
                tar.add(child, arcname=child.name)
        store.put("builds/static/source.tgz", source)
        slug = "slugs/static/git-smoke.tgz"
        envdir = work / "env"
        envdir.mkdir()
        (envdir / "GREETING").write_text("hello")
        for path in (work, envdir, *envdir.iterdir()):
            path.chmod(0o755 if path.is_dir() else 0o644)
        built = podman(
            ["run", "--rm", "--network=host", "-v", f"{envdir}:/tmp/env:ro",
             "-e", f"SOURCE_URL={store.url('builds/static/source.tgz')}",
             "-e", f"SLUG_URL={store.url(slug, 'PUT')}",
             "-e", f"RESULT_URL={store.url('builds/static/release.yml', 'PUT')}",
             "-e", f"CACHE_URL={store.url('caches/static.tgz')}",
             "-e", f"CACHE_PUT_URL={store.url('caches/static.tgz', 'PUT')}",
             "-e", "DEIS_BUILDPACKS=/opt/deis/buildpacks/static", "-e", "DEIS_EXPLICIT=0",
             f"{PREFIX}/slugbuilder:{tag}"],
            env,
        )  # fmt: skip
        if built != 0 or not store.exists(slug):
            print(f"the slugbuilder failed (exit status {built})")
            return 1
        print(f"slug stored: {slug}, {len(store.get(slug))} bytes;"
              f" bin/release: {store.get('builds/static/release.yml').decode().strip()!r}")  # fmt: skip
        keys = work / "objectstore"
        keys.mkdir()
        for name, value in {"endpoint": endpoint, "region": "us-east-1",
                            "access-key": "AK", "secret-key": "SK"}.items():  # fmt: skip
            (keys / name).write_text(value)
            (keys / name).chmod(0o644)
        keys.chmod(0o755)
        ran = podman(
            ["run", "--rm", "--network=host",
             "-v", f"{keys}:/var/run/secrets/deis/objectstore:ro",
             "-e", f"SLUG_URL=s3://{config.bucket}/{slug}",
             f"{PREFIX}/slugrunner:{tag}", "ls -a /app && head -c 120 /app/index.html"],
            env,
        )  # fmt: skip
        return 0 if ran == 0 else 1
    finally:
        moto.terminate()
        moto.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
