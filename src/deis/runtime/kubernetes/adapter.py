"""KubernetesRuntime: the Runtime port on a cluster, through `client.Kube`.

Wiring (the composition root does this):

    kube = Kube.connect(kubeconfig)            # or in-cluster service account
    runtime = KubernetesRuntime(kube, Options(slugrunner_image="..."))

Every write is a server-side apply (or a delete), so deploying the same release again,
for example after a controller restart in the middle of a deploy, converges instead of
duplicating. The cluster is the state: nothing is kept in memory between calls.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime

from deis.domain.deploys import Deployed
from deis.domain.desired import DesiredApp, Pod, RunResult
from deis.domain.errors import DeployFailed, NotFound, Unavailable
from deis.domain.terminal import Opening
from deis.ports import Terminal
from deis.runtime import naming
from deis.runtime.kubernetes import manifests, observe
from deis.runtime.kubernetes.client import ApiError, Kube, path
from deis.runtime.kubernetes.failures import unavailable_on_api_error
from deis.runtime.kubernetes.manifests import Manifest, Options

log = logging.getLogger(__name__)

KEEP_SECRETS = 2  # release Secrets kept: the current one and the one before
RESTART_ANNOTATION = "deis.io/restartedAt"
RESTART_MANAGER = "deis-restart"
HPA = ("autoscaling/v2", "HorizontalPodAutoscaler")
CRON_JOB = ("batch/v1", "CronJob")
DEPLOYMENT = ("apps/v1", "Deployment")
NO_TERMINAL = (
    "Interactive runs (a command with a terminal) are not supported on the kubernetes "
    "runtime; run the command without one (deis run without -i, or with stdin not a terminal)."
)


def ours(namespace: Mapping[str, object], app: str) -> bool:
    """Whether a namespace is the one the platform made for the app."""
    meta = namespace.get("metadata")
    labels = meta.get("labels") if isinstance(meta, Mapping) else None
    if not isinstance(labels, Mapping):
        return False
    return all(labels.get(k) == v for k, v in manifests.app_labels(app).items())


class KubernetesRuntime:
    name = "kubernetes"

    def __init__(
        self,
        kube: Kube,
        options: Options | None = None,
        *,
        poll_interval: float = 0.5,
        namespace_timeout: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.kube = kube
        self.options = options or Options()
        self.poll_interval = poll_interval
        self.namespace_timeout = namespace_timeout
        self.clock = clock
        self.sleep = sleep

    # --- the Runtime port ----------------------------------------------------------------

    @unavailable_on_api_error
    def deploy(self, desired: DesiredApp) -> None:
        if desired.image is None:
            return
        types = self._runnable_types(desired)
        app = desired.app
        self._ensure_namespace(app)
        autoscale = self._autoscale(desired)
        previous = {d["metadata"]["name"]: d for d in self._deployments(app)}
        self._apply_release_inputs(desired)
        applied = []
        for proc_type in types:
            manifest = manifests.deployment(
                desired, proc_type, self.options, proc_type in autoscale
            )
            self.kube.apply(manifest)
            applied.append(manifest["metadata"]["name"])
        self.kube.apply(manifests.service(desired))
        self._apply_autoscalers(app, {t: r for t, r in autoscale.items() if t in types})
        timeout = manifests.deploy_timeout(desired, self.options)
        stuck = self._wait_rollouts(app, applied, timeout)
        if stuck:
            self._undo(app, applied, previous)
            raise DeployFailed(
                f"v{desired.version} did not become ready within {timeout:g} seconds "
                f"({', '.join(stuck)}); the previous release keeps serving."
            )
        for name in set(previous) - set(applied):
            self.kube.delete(*DEPLOYMENT, name, app)
        self._apply_cron_jobs(desired)
        self._prune_secrets(app, desired.version)

    @unavailable_on_api_error
    def deployed(self, app_id: str) -> Deployed | None:
        """From the app's Deployments: the release their pods run and their replicas."""
        versions, structure = set(), {}
        for deployment in self._deployments(app_id):
            labels = deployment["spec"]["template"]["metadata"].get("labels") or {}
            version = str(labels.get(manifests.LABEL_VERSION, "")).removeprefix("v")
            if version.isdigit():
                versions.add(int(version))
            proc_type = str(labels.get(manifests.LABEL_TYPE, ""))
            structure[proc_type] = int(deployment["spec"].get("replicas") or 0)
        return Deployed(max(versions), structure) if versions else None

    @unavailable_on_api_error
    def remove(self, app_id: str) -> None:
        """Delete the app's Namespace, and with it everything in it; never a namespace
        the platform did not make (an app named like one is refused at deploy)."""
        name = manifests.namespace_name(app_id)
        live = self.kube.get("v1", "Namespace", name)
        if live is not None and ours(live, app_id):
            self.kube.delete("v1", "Namespace", name)

    @unavailable_on_api_error
    def pods(self, app_id: str, proc_type: str | None = None) -> list[Pod]:
        return [observe.to_pod(p) for p in self._pods(app_id, proc_type)]

    @unavailable_on_api_error
    def restart(
        self, app_id: str, proc_type: str | None = None, name: str | None = None
    ) -> list[Pod]:
        """A named pod is deleted (its Deployment replaces it); a type, or every type,
        gets a rolling restart, so the old pods serve until the new ones are ready."""
        pods = self._pods(app_id, proc_type)
        before = {p["metadata"]["name"] for p in pods}
        if name is not None:
            pods = [p for p in pods if observe.matches(p, name)]
            if not pods:
                raise NotFound(f"No process named {name}.")
        if not pods:
            return []
        targets = {p["metadata"]["name"] for p in pods}
        types = sorted({p["metadata"]["labels"][manifests.LABEL_TYPE] for p in pods})
        # to the microsecond: two restarts within a second must still differ
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if name is not None:
            for pod in pods:
                self.kube.delete("v1", "Pod", pod["metadata"]["name"], app_id)
        else:
            patch = {
                "spec": {"template": {"metadata": {"annotations": {RESTART_ANNOTATION: stamp}}}}
            }
            for proc_type_ in types:
                url = path(*DEPLOYMENT, app_id, manifests.deployment_name(app_id, proc_type_))
                self.kube.merge_patch(url, patch)
        names = [manifests.deployment_name(app_id, t) for t in types]
        self._wait_rollouts(app_id, names, self.options.default_timeout, replaced=targets)
        return [
            observe.to_pod(p)
            for p in self._pods(app_id)
            if p["metadata"]["labels"].get(manifests.LABEL_TYPE) in types
            and p["metadata"]["name"] not in before
        ]

    @unavailable_on_api_error
    def run(self, desired: DesiredApp, command: str, timeout: float | None = None) -> RunResult:
        if desired.image is None:
            raise Unavailable("Cannot run the command: the release has no build.")
        self._ensure_namespace(desired.app)
        self._apply_release_inputs(desired)
        name = naming.run_name(desired.app)
        options = self.options
        if timeout is not None:
            options = replace(options, run_deadline_seconds=max(int(timeout), 1))
        try:
            pod = manifests.run_pod(desired, name, command, options)
        except manifests.NotRunnable as error:
            raise Unavailable(f"Cannot run the command: {error}") from None
        try:
            self.kube.create(pod)
        except ApiError as error:
            if error.status != 409:  # 409: a retried create whose first attempt landed
                raise
        try:
            deadline = self.clock() + options.run_deadline_seconds + 30
            code: int | None = None
            while code is None:
                live = self.kube.get("v1", "Pod", name, desired.app)
                if live is None:
                    raise Unavailable(f"The pod {name} of the command disappeared.")
                code = observe.exit_code(live)
                if code is None:
                    if self.clock() >= deadline:
                        return RunResult(124, self._log(desired.app, name) + "\n(timed out)\n")
                    self.sleep(self.poll_interval)
            return RunResult(code, self._log(desired.app, name))
        finally:
            self.kube.delete("v1", "Pod", name, desired.app)

    def terminal(self, desired: DesiredApp, opening: Opening) -> Terminal:
        raise Unavailable(NO_TERMINAL)

    # --- beyond the port -------------------------------------------------------------------

    @unavailable_on_api_error
    def set_autoscale(self, app_id: str, rules: Mapping[str, Mapping[str, int]]) -> None:
        """HorizontalPodAutoscalers from the app's autoscale settings ({type: {min, max,
        cpu_percent}}); the types left out lose theirs (and go back to their scale at the
        next deploy)."""
        self._ensure_namespace(app_id)
        self._apply_autoscalers(app_id, rules)

    @unavailable_on_api_error
    def logs(self, app_id: str, lines: int) -> list[str]:
        """The last `lines` lines the app's pods wrote, oldest first, each as
        `TIMESTAMP APP[POD]: MESSAGE`."""
        collected: list[tuple[str, str]] = []
        for pod in self._pods(app_id, include_runs=True):
            name = pod["metadata"]["name"]
            try:
                text = self.kube.log(app_id, name, tail_lines=lines, timestamps=True)
            except ApiError as error:
                if error.status in (400, 404):  # not started yet, or gone
                    continue
                raise
            shown = observe.display_name(pod)
            for line in text.splitlines():
                stamp, _, message = line.partition(" ")
                collected.append((stamp, f"{stamp} {app_id}[{shown}]: {message}"))
        collected.sort(key=lambda item: item[0])
        return [text for _, text in collected[-lines:]] if lines > 0 else []

    # --- helpers --------------------------------------------------------------------------

    def _runnable_types(self, desired: DesiredApp) -> list[str]:
        try:
            return manifests.runnable_types(desired, self.options)
        except manifests.NotRunnable as error:
            raise DeployFailed(f"Cannot run v{desired.version}: {error}") from None

    def _ensure_namespace(self, app: str) -> None:
        """Apply the app's Namespace; wait first if an old one is still terminating."""
        name = manifests.namespace_name(app)
        deadline = self.clock() + self.namespace_timeout
        while True:
            live = self.kube.get("v1", "Namespace", name)
            if live is not None and not ours(live, app):
                raise DeployFailed(
                    f"The namespace {name} exists and is not the platform's: "
                    "the app cannot run on this cluster under that name."
                )
            if live is None or not (live.get("metadata") or {}).get("deletionTimestamp"):
                break
            if self.clock() >= deadline:
                raise Unavailable(f"The namespace {name} is still being deleted.")
            self.sleep(self.poll_interval)
        self.kube.apply(manifests.namespace(app))

    def _apply_release_inputs(self, desired: DesiredApp) -> None:
        self.kube.apply(manifests.env_secret(desired))
        store = self.options.slug_store
        if store is not None and manifests.fetches_slug(desired, self.options):
            self.kube.apply(manifests.objectstore_secret(desired.app, store))
        registry = manifests.registry_secret(desired)
        if registry is not None:
            self.kube.apply(registry)
        else:
            self.kube.delete(
                "v1", "Secret", manifests.registry_secret_name(desired.app), desired.app
            )

    def _autoscale(self, desired: DesiredApp) -> dict[str, dict[str, int]]:
        """The app's autoscale rules, which the desired state carries: each type with one
        gets a HorizontalPodAutoscaler, and the others lose theirs."""
        return {str(t): dict(rule) for t, rule in desired.autoscale.items()}

    def _apply_autoscalers(self, app: str, rules: Mapping[str, Mapping[str, int]]) -> None:
        existing = self.kube.list(*HPA, app, manifests.app_labels(app))
        for proc_type, rule in sorted(rules.items()):
            self.kube.apply(manifests.autoscaler(app, proc_type, rule))
        keep = {manifests.deployment_name(app, t) for t in rules}
        for hpa in existing:
            if hpa["metadata"]["name"] not in keep:
                self.kube.delete(*HPA, hpa["metadata"]["name"], app)

    def _deployments(self, app: str) -> list[Manifest]:
        return self.kube.list(*DEPLOYMENT, app, manifests.app_labels(app))

    def _pods(
        self, app: str, proc_type: str | None = None, include_runs: bool = False
    ) -> list[Manifest]:
        labels = manifests.app_labels(app)
        if proc_type is not None:
            labels[manifests.LABEL_TYPE] = proc_type
        pods = self.kube.list("v1", "Pod", manifests.namespace_name(app), labels)
        if not include_runs:
            pods = [
                p
                for p in pods
                if (p["metadata"].get("labels") or {}).get(manifests.LABEL_TYPE)
                != manifests.RUN_TYPE
            ]
        return sorted(pods, key=lambda p: str(p["metadata"]["name"]))

    def _wait_rollouts(
        self,
        app: str,
        names: list[str],
        timeout: float,
        replaced: set[str] | None = None,
    ) -> list[str]:
        """Wait until each Deployment's rollout is done (and, with `replaced`, those pods
        are gone); the names of those not done when the time is up."""
        deadline = self.clock() + timeout
        while True:
            live = {n: self.kube.get(*DEPLOYMENT, n, app) for n in names}
            pending = [n for n, d in live.items() if d is not None and not observe.rollout_done(d)]
            if any(observe.deadline_exceeded(live[n] or {}) for n in pending):
                return pending  # the controller gave up first: no point waiting
            if replaced and not pending:
                pending = sorted({p["metadata"]["name"] for p in self._pods(app)} & replaced)
            if not pending or self.clock() >= deadline:
                return pending
            self.sleep(self.poll_interval)

    def _undo(self, app: str, applied: list[str], previous: Mapping[str, Manifest]) -> None:
        """Put back each Deployment as it was before the deploy; remove the new ones."""
        for name in applied:
            try:
                if name in previous:
                    self.kube.apply(manifests.applied_form(previous[name]))
                else:
                    self.kube.delete(*DEPLOYMENT, name, app)
            except ApiError as error:  # keep undoing the others
                log.warning("undoing %s/%s failed: %s", app, name, error)

    def _apply_cron_jobs(self, desired: DesiredApp) -> None:
        """The release's `deis cron` jobs as CronJobs; those of removed jobs go."""
        wanted = manifests.cron_jobs(desired, self.options)
        for manifest in wanted:
            self.kube.apply(manifest)
        names = {m["metadata"]["name"] for m in wanted}
        labels = {**manifests.app_labels(desired.app), manifests.LABEL_TYPE: manifests.CRON_TYPE}
        for live in self.kube.list(*CRON_JOB, desired.app, labels):
            if live["metadata"]["name"] not in names:
                self.kube.delete(*CRON_JOB, live["metadata"]["name"], desired.app)

    def _prune_secrets(self, app: str, version: int) -> None:
        secrets = self.kube.list("v1", "Secret", app, manifests.app_labels(app))
        versions = []
        for secret in secrets:
            label = (secret["metadata"].get("labels") or {}).get(manifests.LABEL_VERSION, "")
            if label.startswith("v") and label[1:].isdigit():
                versions.append((int(label[1:]), secret["metadata"]["name"]))
        older = sorted(v for v, _ in versions if v < version)[-(KEEP_SECRETS - 1) :]
        keep = {version, *older}
        for number, name in versions:
            if number not in keep and number < version:
                self.kube.delete("v1", "Secret", name, app)

    def _log(self, app: str, pod: str) -> str:
        try:
            return self.kube.log(app, pod)
        except ApiError as error:
            if error.status in (400, 404):
                return ""
            raise
