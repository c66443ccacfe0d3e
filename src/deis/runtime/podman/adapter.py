"""PodmanRuntime: the Runtime port on one machine, releases as rootful podman containers.

Wiring (the composition root does this):

    runtime = PodmanRuntime(state_dir, load_instance_id(state_dir),
                            on_peers=router.set_peers, run_stack_image="...")
    runtime.start()   # at platform start: adopt what runs, start supervising
    ...
    runtime.stop()    # at platform stop: stop supervising, leave the apps running
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from deis.domain.deploys import Deployed
from deis.domain.desired import DesiredApp, Pod, RunResult
from deis.domain.errors import NotFound, Unavailable
from deis.domain.sleep import running_state
from deis.domain.terminal import Opening, Watch
from deis.runtime import naming, policy, spec
from deis.runtime.podman import converge, netns, slugs
from deis.runtime.podman.egress import Egress
from deis.runtime.podman.engine import Engine, EventCallback, Options, PeersCallback
from deis.runtime.podman.images import ImagePullError, Images
from deis.runtime.podman.podman import Podman
from deis.runtime.podman.supervisor import Supervisor
from deis.runtime.podman.terminal import PtyTerminal
from deis.runtime.record import RecordingRuntime
from deis.stack import podman_conf as conf

log = logging.getLogger(__name__)

DEFAULT_RUN_STACK_IMAGE = "localhost/deis/stack-run:bookworm"
# `deis ps` and the dashboard may show replicas as the running supervisor saw them this
# long ago
RECENT_PS_S = 1.0


class PodmanRuntime:
    name = "podman"

    def __init__(
        self,
        state_dir: Path,
        instance_id: str,
        *,
        on_peers: PeersCallback | None = None,
        run_stack_image: str = DEFAULT_RUN_STACK_IMAGE,
        egress: bool = False,
        grace_seconds: float = 30.0,
        drain_seconds: float = 2.0,
        run_timeout: float = 3600.0,
        run_idle_timeout: float = 600.0,
        deploy_timeout: float = policy.DEFAULT_TIMEOUT,
        deploy_batches: int | None = None,
        pids_limit: int = 4096,
        supervise_interval: float = 1.0,
        ipam_dir: Path = netns.IPAM_DIR,
        shared_image_store: Path | None = conf.SHARED_IMAGE_STORE,
        slug_path: Callable[[str], Path] = Path,
        container_logs: Path | None = None,
        on_event: EventCallback | None = None,
        registry_logins: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        """slug_path: where on this host the slug a buildpack build names can be read.
        container_logs: the folder where each replica's output is written, per app.
        on_event: told (app, message) of what happens to replicas: crashes, restarts.
        registry_logins: {registry host: credentials} the runtime pulls with from
        registries of the platform's own (whatever an app's `deis registry:set` says)."""
        self.state_dir = Path(state_dir)
        self.instance_id = naming.validate_instance_id(instance_id)
        self.run_timeout = run_timeout
        self.run_idle_timeout = run_idle_timeout
        paths = conf.write_config(self.state_dir, self.instance_id, shared_image_store)
        self.podman = Podman(paths)
        self.desired_store = RecordingRuntime(self.state_dir)
        self.egress = Egress(self.state_dir) if egress else None
        self.engine = Engine(
            state_dir=self.state_dir,
            instance_id=self.instance_id,
            podman=self.podman,
            ipam=netns.Ipam(ipam_dir),
            on_peers=on_peers,
            egress=self.egress,
            slug_path=slug_path,
            container_logs=container_logs,
            on_event=on_event,
            registry_logins=registry_logins,
            options=Options(
                run_stack_image=run_stack_image,
                grace=grace_seconds,
                drain=drain_seconds,
                pids_limit=pids_limit,
                default_batch=deploy_batches,
                default_timeout=deploy_timeout,
            ),
        )
        self.supervisor = Supervisor(self.engine, self.running, self.apps, supervise_interval)

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Adopt the containers and namespaces of this instance, then supervise them."""
        self.adopt()
        self.supervisor.start()

    def stop(self) -> None:
        """Stop supervising; the apps keep running."""
        self.supervisor.stop()

    def adopt(self) -> None:
        allocations = self.engine.load_allocations()
        found = self.engine.containers(include_runs=True)
        for container in found:
            if container.labels.get(spec.LABEL_TYPE) == naming.RUN_TYPE:
                # a one-off run of a platform process that is gone: no one awaits it
                self.podman.remove([container.name])
                self._free(naming.netns_name(self.instance_id, container.name))
        names = {c.name for c in found if c.labels.get(spec.LABEL_TYPE) != naming.RUN_TYPE}
        for allocation in allocations:
            if allocation.container not in names:  # a start that never finished
                netns.teardown(allocation)
                self.engine.ipam.release(allocation)
        self.engine.load_allocations()
        for allocation in self.engine.ipam.of_instance(self.instance_id):
            netns.ensure(allocation)  # after a reboot: the namespaces are gone

    def apps(self) -> list[str]:
        directory = self.desired_store.directory
        if not directory.is_dir():
            return []
        return sorted(p.stem for p in directory.glob("*.json"))

    # --- the Runtime port ----------------------------------------------------------------

    def deploy(self, desired: DesiredApp) -> None:
        if desired.image is None:
            return
        timeout = policy.deploy_timeout(desired.env, self.engine.options.default_timeout)
        batch = policy.deploy_batches(desired.env, self.engine.options.default_batch)
        with self.engine.holding(desired.app):
            previous = self.running(desired.app)
            if desired.asleep:  # checked, and its slug or image ready, as if it ran
                converge.check_runnable(self.engine, desired)
            converge.deploy(
                self.engine, running_state(desired), previous, timeout=timeout, batch=batch
            )
            self.desired_store.deploy(desired)

    def remove(self, app_id: str) -> None:
        with self.engine.holding(app_id):
            self.desired_store.remove(app_id)
            names = [
                c.name
                for c in self.podman.ps(
                    {spec.LABEL_INSTANCE: self.instance_id, spec.LABEL_APP: app_id}
                )
            ]
            self.engine.stop(
                names, wait=True, grace=min(self.engine.options.grace, 5.0), drain=False
            )
            for allocation in self.engine.ipam.of_instance(self.instance_id):
                if allocation.container in names:
                    netns.teardown(allocation)
                    self.engine.ipam.release(allocation)
            slugs.remove_app(self.state_dir, app_id)
            self.engine.forget_peers(app_id)
            self.engine.forget_crash_loops(app_id)

    def deployed(self, app_id: str) -> Deployed | None:
        return self.desired_store.deployed(app_id)

    def running(self, app_id: str) -> DesiredApp | None:
        """What runs: the desired state with its sleeping types at 0 replicas."""
        desired = self.desired_store.desired(app_id)
        return None if desired is None else running_state(desired)

    def pods(self, app_id: str, proc_type: str | None = None) -> list[Pod]:
        desired = self.running(app_id)
        recent = RECENT_PS_S if self.supervisor.running else 0.0
        containers = self.engine.recent_containers(app_id, max_age=recent)
        observed = self.engine.observe(app_id, desired, containers, time.time())
        return [
            pod for pod in self.engine.pods(observed) if proc_type is None or pod.type == proc_type
        ]

    def restart(
        self, app_id: str, proc_type: str | None = None, name: str | None = None
    ) -> list[Pod]:
        with self.engine.holding(app_id):
            desired = self.running(app_id)
            if desired is None:
                return []
            targets = self._targets(app_id, desired, proc_type, name)
            if not targets:
                if name is not None:
                    raise NotFound(f"No process named {name}.")
                return []
            timeout = policy.deploy_timeout(desired.env, self.engine.options.default_timeout)
            batch = policy.deploy_batches(desired.env, self.engine.options.default_batch)
            new = converge.restart(self.engine, desired, targets, timeout=timeout, batch=batch)
        return [pod for pod in self.pods(app_id) if pod.name in set(new)]

    def _targets(
        self, app_id: str, desired: DesiredApp, proc_type: str | None, name: str | None
    ) -> list[str]:
        targets = []
        for container in self.engine.containers(app_id):
            labels = container.labels
            if proc_type is not None and labels.get(spec.LABEL_TYPE) != proc_type:
                continue
            if name is not None and container.name != name:
                continue
            if labels.get(spec.LABEL_VERSION) != str(desired.version):
                continue
            targets.append(container.name)
        return targets

    def run(self, desired: DesiredApp, command: str, timeout: float | None = None) -> RunResult:
        limit = self.run_timeout if timeout is None else timeout
        container, namespace = self._one_off(desired, command)
        try:
            path = self._isolated(namespace)
            outcome = self.podman.run_attached(
                ["--rm", *spec.run_args(container, path)],
                spec.podman_env(container),
                timeout=limit,
            )
        finally:
            self.podman.remove([container.name])
            self._free(namespace)
        if outcome.timed_out:
            return RunResult(
                exit_code=124,
                output=outcome.output + f"\n(stopped after {limit:g} seconds)\n",
            )
        return RunResult(exit_code=outcome.code, output=outcome.output)

    def terminal(self, desired: DesiredApp, opening: Opening) -> PtyTerminal:
        container, namespace = self._one_off(desired, opening.command, {"TERM": opening.term})
        try:
            path = self._isolated(namespace)
            return PtyTerminal(
                self.podman,
                ["--rm", *spec.run_args(container, path)],
                spec.podman_env(container),
                name=container.name,
                size=(opening.cols, opening.rows),
                watch=Watch(self.run_timeout, self.run_idle_timeout, time.monotonic()),
                cleanup=lambda: self._free(namespace),
            )
        except BaseException:
            self.podman.remove([container.name])
            self._free(namespace)
            raise

    def _one_off(
        self, desired: DesiredApp, command: str, extra_env: dict[str, str] | None = None
    ) -> tuple[spec.ContainerSpec, str]:
        """The container of a one-off command, and the name of its network namespace."""
        name = naming.run_name(desired.app)
        try:
            slug_dir = self.engine.slug_dir(desired)
            launch = spec.run_launch(
                desired, command, slug_dir, self.engine.options.run_stack_image
            )
        except (spec.NotRunnable, slugs.SlugError, ImagePullError) as exc:
            raise Unavailable(f"Cannot run the command: {exc}") from None
        port = self.engine.port_for(desired)
        container = spec.ContainerSpec(
            name=name,
            launch=launch,
            env={**spec.environment(desired, port), **(extra_env or {})},
            labels={**spec.labels(desired, naming.RUN_TYPE, self.instance_id, port)},
            limits=spec.limits(desired, naming.RUN_TYPE, self.engine.options.pids_limit),
        )
        return container, naming.netns_name(self.instance_id, name)

    def _isolated(self, namespace: str) -> Path:
        """A network namespace with only a loopback (and egress when the operator allows)."""
        path = netns.create_isolated(namespace)
        if self.egress is not None:
            self.egress.attach(namespace)
        return path

    def _free(self, namespace: str) -> None:
        if self.egress is not None:
            self.egress.detach(namespace)
        netns.delete_namespace(namespace)

    # --- measurements, for the autoscaler ----------------------------------------------------

    def cpu_usage(self, app_id: str, proc_type: str, window: float) -> list[float]:
        """Millicores each ready replica of the type of the app's current release used over
        the last `window` seconds (sampled by the supervisor); replicas without enough
        samples yet are left out."""
        desired = self.desired_store.desired(app_id)
        if desired is None:
            return []
        now = time.time()
        observed = self.engine.observe(app_id, desired, self.engine.containers(app_id), now)
        usage = []
        for item in observed:
            replica = item.replica
            if replica.type != proc_type or replica.version != desired.version:
                continue
            if not replica.ready or replica.terminating:
                continue
            millicores = self.engine.cpu.millicores(replica.name, time.monotonic(), window)
            if millicores is not None:
                usage.append(millicores)
        return usage

    # --- helpers for operators and tests ---------------------------------------------------

    def remove_release_copies(self, app_id: str, versions: Sequence[int]) -> list[int]:
        """Remove the extracted slugs of releases no replica runs (old ones, collected)."""
        with self.engine.holding(app_id):
            desired = self.desired_store.desired(app_id)
            running = {desired.version} if desired is not None else set()
            return slugs.remove_versions(
                self.state_dir, app_id, [v for v in versions if v not in running]
            )

    @property
    def images(self) -> Images:
        """The images releases run: pulled when missing, removed when no longer needed."""
        return self.engine.images

    def desired(self, app_id: str) -> DesiredApp | None:
        return self.desired_store.desired(app_id)

    def peers(self, app_id: str) -> list[str]:
        """The peers last sent to the router."""
        return self.engine.last_peers(app_id)

    def address(self, name: str) -> str | None:
        return self.engine.address(name)

    def links(self, app_id: str) -> list[tuple[str, str]]:
        """The host ends of the links of the app's replicas, (address, veth): where its
        processes reach this host (and the add-ons attached to the app, through the
        forwarder). The veth's name is the replica's own (a hash of its name), so a
        listener bound to it never serves another replica given the address later."""
        found = []
        for container in self.engine.recent_containers(app_id, max_age=2.0):
            allocation = self.engine.allocation(container.name)
            if allocation is not None:
                found.append((allocation.host_address, allocation.veth))
        return sorted(found)
