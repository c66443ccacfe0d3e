"""The platform instance's podman, as the builder runs it: the same configuration and
store as the runtime (deis.stack.podman_conf), so that the images Dockerfile builds make
(`localhost/APP:git-SHA7`) are the ones the runtime runs.
"""

from __future__ import annotations

import os
from pathlib import Path

from deis.stack import podman_conf


def podman_env(state_dir: Path) -> dict[str, str]:
    """The environment a podman command of this instance runs with."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CONTAINERS_", "DEIS_", "GIT_", "SSH_"))
    }
    paths = podman_conf.write_config(state_dir, podman_conf.load_instance_id(state_dir))
    env.update(paths.env())
    return env


def podman_args() -> list[str]:
    """The podman command (its settings come from podman_env's containers.conf)."""
    return ["podman"]
