"""Images in the platform's podman store: pulled when a release needs one that is not
here (from the platform's registry or any registry this machine reaches, with the app's
`deis registry:set` credentials), and removed when no release needs it any more.

Credentials go to podman in an auth file written 0600 in a private temporary folder that
is removed right after: never on a command line, in the environment or in a log. Every
pull uses such a file, empty without credentials, so that neither the machine's own
podman logins nor another app's credentials are ever used for an app.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from deis.runtime.podman.podman import Podman

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
DEFAULT_REGISTRY = "docker.io"
PULL_TIMEOUT = 900.0


class ImagePullError(RuntimeError):
    """The image cannot be pulled; the message says why, for the user."""


def registry_host(image: str) -> str:
    """The registry an image reference names (docker.io when it names none), as podman
    and auth files name it: `127.0.0.1:5000/team/api:1.4` → `127.0.0.1:5000`."""
    first, slash, _ = image.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return DEFAULT_REGISTRY


def full_name(image: str) -> str:
    """The name podman lists an image under: `debian:bookworm` is
    `docker.io/library/debian:bookworm`, `team/api` is `docker.io/team/api:latest`."""
    host = registry_host(image)
    if host == DEFAULT_REGISTRY and not image.startswith(f"{DEFAULT_REGISTRY}/"):
        image = f"{DEFAULT_REGISTRY}/{image if '/' in image else 'library/' + image}"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last and "@" not in last:
        image += ":latest"
    return image


def plain_http(host: str) -> bool:
    """Registries on this machine's loopback with a port are spoken to over plain HTTP."""
    name, colon, port = host.rpartition(":")
    return bool(colon) and name in LOOPBACK_HOSTS and port.isdigit()


def auth_json(host: str, credentials: Mapping[str, str]) -> str:
    """The auth file's text: the app's username and password for `host`, or none."""
    username = credentials.get("username", "")
    password = credentials.get("password", "")
    if not username or not password:
        return json.dumps({"auths": {}})
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return json.dumps({"auths": {host: {"auth": token}}})


@contextlib.contextmanager
def auth_file(host: str, credentials: Mapping[str, str]) -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="deis-auth-"))  # 0700
    try:
        path = directory / "auth.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(auth_json(host, credentials))
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def pull_problem(image: str, host: str, output: str, with_credentials: bool) -> str:
    """One line for the user from what `podman pull` said."""
    text = output.lower()
    if "short-name" in text and "did not resolve" in text:
        return (
            f"{image} is a short name, and this platform looks up no registry for short"
            f" names: give the image's full name with its registry, such as"
            f" docker.io/library/{image} or HOST:PORT/{image}."
        )
    refused = ("unauthorized", "authentication required", "access to the resource is denied")
    if any(word in text for word in refused):
        if with_credentials:
            return (
                f"The registry {host} refused the credentials set with `deis registry:set`"
                f" for {image} (or the image is not there)."
            )
        return (
            f"The registry {host} asks for credentials to pull {image}:"
            " set them with `deis registry:set username=... password=...`."
        )
    if "manifest unknown" in text or "not found" in text or "name unknown" in text:
        return f"{image} was not found in the registry {host}."
    if "connection refused" in text or "no such host" in text or "i/o timeout" in text:
        return f"Cannot reach the registry {host} to pull {image}."
    if "timed out" in text:
        return f"Pulling {image} from {host} took too long."
    last = [line.strip() for line in output.strip().splitlines() if line.strip()]
    reason = last[-1].removeprefix("Error: ")[-300:] if last else "podman pull failed"
    return f"Cannot pull {image}: {reason}"


class Images:
    def __init__(
        self,
        podman: Podman,
        timeout: float = PULL_TIMEOUT,
        logins: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        """logins: {registry host: credentials} for the platform's own registry, used for
        every image there instead of an app's credentials."""
        self.podman = podman
        self.timeout = timeout
        self.logins = dict(logins or {})

    def exists(self, image: str) -> bool:
        return self.podman.image_exists(image)

    def names(self) -> set[str]:
        """Every REPOSITORY:TAG in the store (one podman call)."""
        outcome = self.podman.call(
            ["images", "--format", "{{.Repository}}:{{.Tag}}"], check=False, merge_stderr=False
        )
        return {line.strip() for line in outcome.output.splitlines() if line.strip()}

    def ensure(self, image: str, credentials: Mapping[str, str]) -> bool:
        """Pull the image unless it is here already. True when it was pulled."""
        if self.exists(image):
            return False
        self.pull(image, credentials)
        return True

    def pull(self, image: str, credentials: Mapping[str, str]) -> None:
        """`podman pull IMAGE` with the credentials (if any). Raises ImagePullError."""
        if registry_host(image) in self.logins:
            credentials = self.logins[registry_host(image)]
        host = credentials.get("hostname") or registry_host(image)
        args = ["pull", "--quiet"]
        if plain_http(registry_host(image)):
            args.append("--tls-verify=false")
        with_credentials = bool(credentials.get("username") and credentials.get("password"))
        with auth_file(host, credentials) as path:
            outcome = self.podman.call(
                [*args, "--authfile", str(path), "--", image], timeout=self.timeout, check=False
            )
        if outcome.code != 0:
            problem = pull_problem(image, registry_host(image), outcome.output, with_credentials)
            log.warning("pulling %s failed: %s", image, outcome.output.strip()[-500:])
            raise ImagePullError(problem)
        log.info("pulled %s", image)

    def remove(self, image: str) -> bool:
        """Untag the image; its layers, and the layer cache of the build that made it, go
        when no other tag or container uses them. Never forced: an image a container
        still uses stays. True when it was removed."""
        if not self.exists(image):
            return False
        outcome = self.podman.call(["rmi", "--", image], check=False)
        if outcome.code != 0:
            log.warning("cannot remove the image %s: %s", image, outcome.output.strip()[-300:])
            return False
        return True
