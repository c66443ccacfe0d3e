"""Names of replicas, network namespaces and veths: pure functions of their inputs.

A replica is named `APP-TYPE-<10 digits>-<5 chars>` (the Kubernetes shape the Deis client
parses with `[0-9]{8,10}-[a-z0-9]{5}$`). The 10 digits are stable per release and type,
like a ReplicaSet's pod-template hash; the 5 characters are random.
"""

from __future__ import annotations

import hashlib
import random
import re
import string

from deis.stack.podman_conf import validate_instance_id

__all__ = ["validate_instance_id"]

SUFFIX_ALPHABET = string.ascii_lowercase + string.digits
REPLICA_RE = re.compile(r"(?P<app>.+)-(?P<type>[^-]+(-[^-]+)*)-(?P<hash>[0-9]{10})-[a-z0-9]{5}")
RUN_TYPE = "run"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def release_hash(app: str, proc_type: str, version: int) -> str:
    """Ten digits, stable for one release and type: the version, then a hash of all three."""
    mixed = int(_digest(app, proc_type, str(version)), 16) % 10**6
    return f"{version % 10**4:04d}{mixed:06d}"


def random_suffix(rng: random.Random | None = None, length: int = 5) -> str:
    chooser = rng or random.SystemRandom()
    return "".join(chooser.choice(SUFFIX_ALPHABET) for _ in range(length))


def replica_name(app: str, proc_type: str, version: int, rng: random.Random | None = None) -> str:
    return f"{app}-{proc_type}-{release_hash(app, proc_type, version)}-{random_suffix(rng)}"


def run_name(app: str, rng: random.Random | None = None) -> str:
    return f"{app}-{RUN_TYPE}-{random_suffix(rng)}"


def netns_prefix(instance_id: str) -> str:
    return f"deis-{instance_id}-"


def netns_name(instance_id: str, container: str) -> str:
    """The network namespace of one container: carries the instance id, then a short hash."""
    return f"{netns_prefix(instance_id)}{_digest(container)[:12]}"


def veth_prefix(instance_id: str) -> str:
    return f"dv{_digest(instance_id)[:5]}"


def veth_name(instance_id: str, container: str) -> str:
    """The host end of a replica's veth pair: 15 characters at most (the kernel's limit)."""
    return f"{veth_prefix(instance_id)}{_digest(instance_id, container)[:8]}"


def build_netns_prefix(instance_id: str) -> str:
    return f"{netns_prefix(instance_id)}build-"


def build_netns_name(instance_id: str, token: str) -> str:
    """The network namespace of one build: `deis-INSTANCE-build-TOKEN`."""
    return f"{build_netns_prefix(instance_id)}{token}"
