"""The podman runtime adapter: releases as rootful podman containers on one machine."""

from deis.runtime.podman.adapter import PodmanRuntime
from deis.runtime.podman.purge import purge
from deis.stack.podman_conf import load_instance_id

__all__ = ["PodmanRuntime", "load_instance_id", "purge"]
