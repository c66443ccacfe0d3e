"""One real container started the way every replica is (`deisctl doctor`, `deisctl up`).

The same `podman run` arguments as an app's replica (spec.run_args: `--init`, the
network namespace made by netns.setup, memory, CPU and pids limits, the platform's own
containers.conf with its runtime and cgroup manager), on a tiny image made from Debian's
busybox-static, so that what podman or the kernel refuses shows up before the platform
says it is up, never as a 503 on an app's first deploy.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from deis.runtime import spec
from deis.runtime.podman import netns
from deis.runtime.podman.egress import Egress
from deis.runtime.podman.podman import Podman
from deis.stack import podman_conf as conf

BUSYBOX = Path("/bin/busybox")
IMAGE = "localhost/deis/selftest:1"
APPLETS = ("sh", "echo", "cat", "true")
ANSWER = "deis-selftest-ok"
TIMEOUT = 60.0

# What podman says when a piece is missing, and the piece: (text in podman's output,
# what is missing, the package that brings it).
KNOWN_FAILURES = (
    ("container-init binary not found", "catatonit (podman's --init)", "catatonit"),
    ('"runc": executable file not found', "runc (the OCI runtime)", "runc"),
    ("could not find a working conmon binary", "conmon (podman's monitor)", "conmon"),
    ("slirp4netns", "slirp4netns (apps' egress)", "slirp4netns"),
)


@dataclass(frozen=True)
class SelfTest:
    ok: bool
    detail: str
    missing: str | None = None  # what podman said is missing, when it names a package
    package: str | None = None


def image_tarball(path: Path, busybox: Path = BUSYBOX) -> None:
    """A root with busybox and a few applets, for `podman import`."""
    with tarfile.open(path, "w") as archive:
        archive.add(busybox, "bin/busybox")
        for applet in APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            archive.addfile(link)
        tmp = tarfile.TarInfo("tmp")
        tmp.type, tmp.mode = tarfile.DIRTYPE, 0o1777
        archive.addfile(tmp, io.BytesIO(b""))


def explain(output: str) -> tuple[str, str] | None:
    """(what is missing, its package) when podman's output names a known missing piece."""
    for text, what, package in KNOWN_FAILURES:
        if text in output:
            return what, package
    return None


def container_spec(instance_id: str) -> spec.ContainerSpec:
    name = f"deis-selftest-{instance_id}"
    return spec.ContainerSpec(
        name=name,
        launch=spec.Launch(image=IMAGE, entrypoint="/bin/sh", args=("-c", f"echo {ANSWER}")),
        env={"PORT": str(spec.DEFAULT_PORT)},
        labels={spec.LABEL_INSTANCE: instance_id, spec.LABEL_HERITAGE: spec.HERITAGE},
        limits=spec.Limits(memory=64 * 1024 * 1024, cpus=0.5, pids=64),
    )


def run(
    state_dir: Path,
    instance_id: str,
    *,
    egress: bool = False,
    ipam_dir: Path = netns.IPAM_DIR,
    busybox: Path = BUSYBOX,
) -> SelfTest:
    """Start the self-test container like a replica and read its answer."""
    if not busybox.is_file():
        return SelfTest(False, f"{busybox} is missing", f"busybox ({busybox})", "busybox-static")
    paths = conf.write_config(state_dir, instance_id, shared_store=None)
    podman = Podman(paths, timeout=TIMEOUT)
    if not podman.image_exists(IMAGE):
        with tempfile.TemporaryDirectory(prefix="deis-selftest-") as work:
            tarball = Path(work) / "image.tar"
            image_tarball(tarball, busybox)
            imported = podman.call(["import", str(tarball), IMAGE], check=False)
        if imported.code != 0:
            return _failed("podman import", imported.output)
    container = container_spec(instance_id)
    podman.remove([container.name])  # a run killed half way
    ipam = netns.Ipam(ipam_dir)
    allocation = ipam.allocate(instance_id, state_dir, container.name)
    mover = Egress(state_dir) if egress else None
    try:
        netns.setup(allocation)
        if mover is not None:
            mover.attach(allocation.netns)
        args = ["--rm", *spec.run_args(container, allocation.netns_path)]
        outcome = podman.call(["run", *args], env=spec.podman_env(container), check=False)
    except (netns.NetworkError, OSError) as exc:
        return SelfTest(False, f"the network namespace could not be made: {exc}")
    finally:
        if mover is not None:
            mover.detach(allocation.netns)
        podman.remove([container.name])
        netns.teardown(allocation)
        ipam.release(allocation)
    if outcome.code != 0 or ANSWER not in outcome.output:
        return _failed("podman run", outcome.output, outcome.code)
    return SelfTest(True, "a container started with the flags of an app's replica")


def _failed(what: str, output: str, code: int | None = None) -> SelfTest:
    tail = " ".join(output.strip().splitlines()[-3:])[-600:]
    status = f" ({code})" if code is not None else ""
    known = explain(output)
    if known is None:
        return SelfTest(False, f"{what} failed{status}: {tail}")
    missing, package = known
    return SelfTest(False, f"{what} failed{status}: {tail}", missing, package)
