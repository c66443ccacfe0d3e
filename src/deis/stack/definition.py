"""What the stacks are: plain data, and the hash that names their images.

The images live in one machine-wide podman store (STACK_STORE), shared by every platform
instance and test run through storage.conf `additionalimagestores`. Each image is tagged
with a hash of its definition, so a changed definition makes a new image and an unchanged
one is never built twice.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

STACK_STORE = Path("/var/lib/deis/stack-images")  # podman graphroot of the stack images
STACK_RUNROOT = Path("/run/deis/stack-images")  # podman runroot used while building them
STACK_CACHE = Path("/var/cache/deis")  # debootstrap and rootfs tarballs
STACK_LOCK = Path("/var/lib/deis/stack-images.lock")  # exclusive flock while building

RECIPE_VERSION = 1  # bump when the way a stack is made changes
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
SECURITY_MIRROR = "http://deb.debian.org/debian-security"

# Where the host's CA bundle is copied inside every image, and who is told about it.
CA_PATH = "/etc/deis/ca-certificates.crt"
CA_ENV_VARS = (
    "SSL_CERT_FILE",
    "PIP_CERT",
    "NODE_EXTRA_CA_CERTS",
    "REQUESTS_CA_BUNDLE",
    "GIT_SSL_CAINFO",
    "CURL_CA_BUNDLE",
)
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")

BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    **{var: CA_PATH for var in CA_ENV_VARS},
}


@dataclass(frozen=True)
class Stack:
    """One image: a name, the image it starts from (None: debootstrap), its packages."""

    kind: str  # "base", "run" or "build"
    repository: str  # image name without the tag
    parent: str | None
    packages: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    fixed_tag: str | None = None  # the base is also known by its usual name

    def definition(self) -> dict[str, object]:
        parent = STACKS[self.parent].definition() if self.parent else None
        return {
            "recipe": RECIPE_VERSION,
            "suite": SUITE,
            "variant": "minbase",
            "mirror": MIRROR,
            "kind": self.kind,
            "parent": parent,
            "packages": sorted(self.packages),
            "env": dict(sorted({**BASE_ENV, **self.env}.items())),
        }

    @property
    def hash(self) -> str:
        """The first 12 hex digits of the sha256 of the definition (stable JSON)."""
        data = json.dumps(self.definition(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(data.encode()).hexdigest()[:12]

    @property
    def image(self) -> str:
        """The image's name in the stack store, e.g. localhost/deis/stack-build:0123456789ab."""
        return f"{self.repository}:{self.hash}"

    @property
    def names(self) -> tuple[str, ...]:
        return (self.image, self.fixed_tag) if self.fixed_tag else (self.image,)

    @property
    def full_env(self) -> dict[str, str]:
        return {**BASE_ENV, **self.env, "STACK": f"deis-{SUITE}"}

    @property
    def rootfs_tarball(self) -> Path:
        return STACK_CACHE / f"stack-{self.kind}-{self.hash}.tar"


RUN_PACKAGES = ("bash", "ca-certificates", "python3", "nodejs", "tar", "gzip")
BUILD_PACKAGES = (
    "python3-venv",
    "python3-pip",
    "python3-dev",
    "npm",
    "golang",
    "build-essential",
    "git",
    "curl",
    "xz-utils",
    "unzip",
)

STACKS: dict[str, Stack] = {
    "base": Stack(
        kind="base",
        repository="localhost/deis/stack-base",
        parent=None,
        fixed_tag="docker.io/library/debian:bookworm",
    ),
    "run": Stack(
        kind="run", repository="localhost/deis/stack-run", parent="base", packages=RUN_PACKAGES
    ),
    "build": Stack(
        kind="build",
        repository="localhost/deis/stack-build",
        parent="run",
        packages=BUILD_PACKAGES,
        env={"DEBIAN_FRONTEND": "noninteractive"},
    ),
}


# The add-ons' servers (deis addons:create): PostgreSQL 15 and Redis 7 from Debian, and curl
# for the backup and restore pods on a cluster (images/addons is this stack). Not one of
# STACKS (which every platform needs): made the first time an add-on is created.
ADDON_PACKAGES = (
    "postgresql-15",
    "postgresql-client-15",
    "redis-server",
    "redis-tools",
    "curl",
    "ca-certificates",
)
ADDON_STACK = Stack(
    kind="addons",
    repository="localhost/deis/stack-addons",
    parent="base",
    packages=ADDON_PACKAGES,
    env={"PATH": "/usr/lib/postgresql/15/bin:" + BASE_ENV["PATH"]},
)


def stack(kind: str) -> Stack:
    return STACKS[kind]


def build_image() -> str:
    """The build stack's image name (buildpacks compile in it)."""
    return STACKS["build"].image


def run_image() -> str:
    """The run stack's image name (slugs run on it)."""
    return STACKS["run"].image


def addon_image() -> str:
    """The add-on stack's image name (PostgreSQL and Redis servers run on it)."""
    return ADDON_STACK.image


def base_image() -> str:
    return STACKS["base"].fixed_tag or STACKS["base"].image
