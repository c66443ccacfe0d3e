"""Remove what a crashed platform instance left behind: its containers, namespaces,
veths, mounts, egress processes and address allocations (`deisctl down --purge`).
Images, storage and the desired state stay."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from pathlib import Path

from deis.runtime import naming, spec
from deis.runtime.podman import addon_disk, netns
from deis.runtime.podman.addons import stop_forwarder
from deis.runtime.podman.buildnet import BuildNetworks
from deis.runtime.podman.egress import Egress
from deis.runtime.podman.podman import Podman, PodmanError
from deis.stack import podman_conf as conf

UMOUNT = "umount"


def mounts_under(directory: Path) -> list[str]:
    """Mount points at or below `directory`, deepest first."""
    prefix = str(directory.resolve())
    found = []
    with contextlib.suppress(OSError), open("/proc/self/mountinfo") as table:
        for line in table:
            fields = line.split()
            if len(fields) > 4:
                point = fields[4].replace("\\040", " ")
                if point == prefix or point.startswith(prefix + "/"):
                    found.append(point)
    return sorted(set(found), key=len, reverse=True)


def processes_using(marker: str) -> list[int]:
    """Processes whose command line mentions `marker` (conmon, `podman container cleanup`)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in command:
            found.append(int(entry.name))
    return found


def wait_for_podman_helpers(paths: conf.PodmanPaths, timeout: float = 15.0) -> None:
    """conmon runs `podman container cleanup` after a container ends, and that remakes the
    run dir and the storage mount: wait for those helpers before cleaning up after them."""
    deadline = time.monotonic() + timeout
    while processes_using(str(paths.graphroot)) and time.monotonic() < deadline:
        time.sleep(0.1)


def purge(
    state_dir: Path, instance_id: str | None = None, *, ipam_dir: Path = netns.IPAM_DIR
) -> None:
    state_dir = Path(state_dir)
    if instance_id is None:
        id_file = state_dir / "runtime" / "instance-id"
        if not id_file.is_file():
            instance_id = None
        else:
            instance_id = id_file.read_text().strip()
    if not instance_id:
        return
    instance = naming.validate_instance_id(instance_id)
    paths = conf.paths_for(state_dir, instance)
    if paths.containers_conf.is_file() and paths.storage_conf.is_file():
        podman = Podman(paths, timeout=60)
        with contextlib.suppress(PodmanError, OSError):
            names = [c.name for c in podman.ps({spec.LABEL_INSTANCE: instance})]
            podman.remove(names)
        wait_for_podman_helpers(paths)
    stop_forwarder(state_dir)  # the add-ons' (deis.runtime.podman.addons)
    with contextlib.suppress(addon_disk.DiskError):
        addon_disk.detach_all(state_dir / "addons")  # their disks (the data stays in them)
    BuildNetworks(state_dir, instance).purge()  # with their resolv.conf under /etc/netns
    Egress(state_dir).detach_all()
    netns.purge_instance(instance, netns.Ipam(ipam_dir))
    for point in mounts_under(state_dir / "runtime"):
        subprocess.run([UMOUNT, "-l", point], capture_output=True, timeout=20, check=False)  # noqa: S603
    shutil.rmtree(paths.run_dir, ignore_errors=True)
