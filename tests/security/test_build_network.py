"""Issue 17, item 2: a stranger's build must not reach the platform or other apps.

Real pushes into the real builder (SSH, podman on the stack images, Debian's
docker-registry): the build itself (a Dockerfile `RUN`, or an app's `bin/pre_compile`
under buildpacks) tries what an attacker would, from inside the build:

- read the platform registry's catalog and the victim's tags;
- write a tag into the victim's repository (blob upload, then a manifest PUT);
- reach a replica of the victim directly by its internal address (a namespace and veth
  pair made by the runtime's own `netns.setup`, serving HTTP inside the namespace as a
  replica does), and the host end of its veth;
- reach a service the host serves on all its addresses (through the host's own address
  and through slirp4netns's gateway 10.0.2.2).

The probe prints `REACHED name ...` or `BLOCKED name ...` per target and the build goes on
(so the test reads what the build could do from the push output), and the registry is
checked afterwards for the tag the build tried to write. A package index must still be
reachable (PyPI, through the machine's proxy and CA).
"""

# The builder's fixtures are imported by name (pytest finds them so), and the tests take
# them as parameters of the same name:
# ruff: noqa: F811

from __future__ import annotations

import contextlib
import http.server
import os
import re
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from deis.runtime.podman import netns
from deis.stack.definition import build_image
from tests.builder.conftest import (  # noqa: F401 - fixtures
    Platform,
    can_build,
    platform,
    registry,
    source_tree,
    stack_images,
)
from tests.builder.test_builds import set_config

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(can_build() is not None, reason=str(can_build())),
    pytest.mark.usefixtures("stack_images"),
]

PROBE = r"""
import hashlib, json, os, socket, sys, urllib.error, urllib.request

def get(url, method="GET", data=None, headers=None):
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()

def probe(name, action):
    try:
        status, detail = action()
        print(f"REACHED {name} {status} {detail}", flush=True)
    except Exception as exc:  # refused, unreachable, timed out
        print(f"BLOCKED {name} {type(exc).__name__}: {exc}", flush=True)

registry, victim = os.environ["PROBE_REGISTRY"], os.environ["PROBE_VICTIM"]

def catalog():
    status, _, body = get(f"http://{registry}/v2/_catalog")
    return status, body.decode()[:200]

def tags():
    status, _, body = get(f"http://{registry}/v2/{victim}/tags/list")
    return status, body.decode()[:200]

def write_tag():
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    digest = "sha256:" + hashlib.sha256(config).hexdigest()
    status, headers, _ = get(f"http://{registry}/v2/{victim}/blobs/uploads/", "POST", b"")
    if status != 202:
        return status, "upload refused"
    location = headers["Location"]
    if location.startswith("/"):
        location = f"http://{registry}{location}"
    sep = "&" if "?" in location else "?"
    status, _, _ = get(f"{location}{sep}digest={digest}", "PUT", config,
                       {"Content-Type": "application/octet-stream"})
    if status != 201:
        return status, "blob refused"
    manifest = json.dumps({"schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "size": len(config), "digest": digest},
        "layers": []}).encode()
    status, _, _ = get(f"http://{registry}/v2/{victim}/manifests/pwned", "PUT", manifest,
                       {"Content-Type": "application/vnd.docker.distribution.manifest.v2+json"})
    return status, "manifest"

def http(url):
    def action():
        status, _, body = get(url)
        return status, body.decode(errors="replace")[:80].strip()
    return action

probe("catalog", catalog)
probe("tags", tags)
probe("write-tag", write_tag)
for name in ("replica", "replica-host-end", "host-address", "slirp-gateway"):
    url = os.environ.get("PROBE_" + name.upper().replace("-", "_"))
    if url:
        probe(name, http(url))
probe("pypi", http("https://pypi.org/simple/pip/"))
"""

SECRET = "the victim's replica answered"


HOST_SECRET = "the host's service answered"


class Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = HOST_SECRET.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@dataclass
class Victim:
    app: str
    replica_url: str  # the replica's own address, in its namespace
    replica_host_end_url: str  # the host end of its veth pair
    host_url: str  # a service the host serves on every address
    gateway_url: str  # the same port through slirp4netns's gateway


@contextlib.contextmanager
def serving_everywhere() -> Iterator[int]:
    """An HTTP service on 0.0.0.0 (what an operator's service bound to all addresses is)."""
    server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def replica_network(tmp: Path) -> Iterator[netns.Allocation]:
    """A replica's network as the podman runtime makes it (a machine-wide /30 of
    10.199.0.0/16, a namespace, a veth pair), with an HTTP server inside, as a replica."""
    instance = f"test-{os.getpid()}-sec{secrets.token_hex(2)}"
    ipam = netns.Ipam()
    allocation = ipam.allocate(instance, tmp, f"victim-web-{secrets.token_hex(3)}")
    server: subprocess.Popen[bytes] | None = None
    try:
        netns.setup(allocation)
        server = subprocess.Popen(  # noqa: S603 - an argument list
            ["ip", "netns", "exec", allocation.netns, "python3", "-c",
             "import http.server, sys\n"
             "class H(http.server.BaseHTTPRequestHandler):\n"
             "    def do_GET(self):\n"
             f"        b = {SECRET!r}.encode()\n"
             "        self.send_response(200); self.send_header('Content-Length', len(b))\n"
             "        self.end_headers(); self.wfile.write(b)\n"
             "http.server.HTTPServer(('0.0.0.0', 5000), H).serve_forever()\n"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(f"http://{allocation.address}:5000/", timeout=1, trust_env=False)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the stand-in replica did not answer"
                time.sleep(0.1)
        yield allocation
    finally:
        if server is not None:
            server.kill()
            server.wait(timeout=10)
        netns.teardown(allocation)
        ipam.release(allocation)


def host_addresses() -> list[str]:
    out = subprocess.run(
        ["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, check=True
    ).stdout
    return [line.split()[3].split("/")[0] for line in out.splitlines()]


@pytest.fixture
def victim(platform: Platform) -> Iterator[Victim]:
    """Bob's app, with an image in the platform's registry (a real Dockerfile build), a
    replica's network serving HTTP, and a service of the host on all its addresses."""
    bob = platform.user("bob")
    app = platform.create_app("bob")
    src = source_tree(
        platform.tmp,
        {"Dockerfile": 'FROM debian:bookworm\nCMD ["sleep", "infinity"]\n'},
        bob,
    )
    done = bob.push(src, app)
    assert done.returncode == 0, done.stderr
    host = next(a for a in host_addresses() if not a.startswith(("127.", "10.199.")))
    with serving_everywhere() as port, replica_network(platform.tmp) as replica:
        yield Victim(
            app=app,
            replica_url=f"http://{replica.address}:5000/",
            replica_host_end_url=f"http://{replica.host_address}:{port}/",
            host_url=f"http://{host}:{port}/",
            gateway_url=f"http://10.0.2.2:{port}/",
        )


def probe_env(platform: Platform, victim: Victim) -> dict[str, str]:
    return {
        "PROBE_REGISTRY": platform.config.registry,
        "PROBE_VICTIM": victim.app,
        "PROBE_REPLICA": victim.replica_url,
        "PROBE_REPLICA_HOST_END": victim.replica_host_end_url,
        "PROBE_HOST_ADDRESS": victim.host_url,
        "PROBE_SLIRP_GATEWAY": victim.gateway_url,
    }


def outcomes(output: str) -> dict[str, str]:
    """{target: "REACHED ..." | "BLOCKED ..."} from the push output."""
    found = {}
    for match in re.finditer(r"(REACHED|BLOCKED) (\S+)(.*)", output):
        found[match[2]] = f"{match[1]}{match[3]}".strip()
    return found


def assert_isolated(platform: Platform, victim: Victim, output: str) -> None:
    seen = outcomes(output)
    print("\n".join(f"{k}: {v}" for k, v in seen.items()))  # shown with pytest -s
    expected = {"catalog", "tags", "write-tag", "replica", "replica-host-end",
                "host-address", "slirp-gateway", "pypi"}  # fmt: skip
    assert set(seen) == expected, output
    reached = {k: v for k, v in seen.items() if k != "pypi" and v.startswith("REACHED")}
    assert reached == {}, f"the build reached: {reached}"
    assert seen["pypi"].startswith("REACHED 200"), seen["pypi"]
    assert SECRET not in output
    assert HOST_SECRET not in output
    tags = httpx.get(
        f"http://{platform.config.registry}/v2/{victim.app}/tags/list",
        timeout=10,
        trust_env=False,
        headers=platform_registry_headers(platform, victim.app),
    )
    assert "pwned" not in tags.text


def platform_registry_headers(platform: Platform, app: str) -> dict[str, str]:
    """What the platform itself sends the registry to read an app's tags."""
    token = getattr(platform, "registry_token", None)
    return {"Authorization": f"Bearer {token(app)}"} if callable(token) else {}


def test_build_dockerfile_run_cannot_reach_registry_replicas_or_host(
    platform: Platform, victim: Victim
) -> None:
    mallory = platform.user("mallory")
    app = platform.create_app("mallory")
    env_lines = "".join(f"ENV {k}={v}\n" for k, v in probe_env(platform, victim).items())
    src = source_tree(
        platform.tmp,
        {
            "Dockerfile": f"FROM {build_image()}\n{env_lines}COPY probe.py /probe.py\n"
            'RUN python3 /probe.py\nCMD ["sleep", "infinity"]\n',
            "probe.py": PROBE,
        },
        mallory,
    )
    done = mallory.push(src, app)
    assert done.returncode == 0, done.stderr
    assert_isolated(platform, victim, done.stderr)


def test_build_buildpack_cannot_reach_registry_replicas_or_host(
    platform: Platform, victim: Victim
) -> None:
    mallory = platform.user("mallory")
    app = platform.create_app("mallory")
    exports = "".join(f"export {k}={v}\n" for k, v in probe_env(platform, victim).items())
    src = source_tree(
        platform.tmp,
        {
            "Procfile": "web: sleep infinity\n",
            "bin/pre_compile": f"#!/bin/bash\n{exports}exec python3 probe.py\n",
            "probe.py": PROBE,
        },
        mallory,
    )
    (src / "bin" / "pre_compile").chmod(0o755)
    for args in (("add", "-A"), ("commit", "-q", "-m", "executable")):
        assert mallory.git(src, *args).returncode == 0
    done = mallory.push(src, app)
    assert done.returncode == 0, done.stderr
    assert_isolated(platform, victim, done.stderr)


def test_build_buildpack_url_is_fetched_inside_the_build_network(platform: Platform) -> None:
    """A BUILDPACK_URL is the pusher's too: git fetches it from inside the build's
    namespace, so it cannot be pointed at the platform's own services."""
    mallory = platform.user("mallory")
    app = platform.create_app("mallory")
    url = f"http://{platform.config.registry}/v2/_catalog.git"
    set_config(platform, "mallory", app, {"BUILDPACK_URL": url})
    src = source_tree(platform.tmp, {"Procfile": "web: sleep infinity\n"}, mallory)
    done = mallory.push(src, app)
    assert done.returncode != 0
    print(done.stderr)
    assert f"Cannot fetch the buildpack {url}" in done.stderr
    assert "Failed to connect" in done.stderr or "Couldn't connect" in done.stderr
