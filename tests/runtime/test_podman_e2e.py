"""The podman runtime end to end: real containers, namespaces, probes and rollouts."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import tarfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from deis.domain.desired import DesiredApp
from deis.domain.errors import DeployFailed
from deis.domain.logs import replica_label
from deis.runtime.naming import veth_prefix
from deis.runtime.podman import PodmanRuntime, netns, purge
from deis.runtime.podman.purge import wait_for_podman_helpers

from .conftest import WEB, EventLog, PeerLog, wait_for

pytestmark = pytest.mark.e2e

Make = Callable[..., DesiredApp]
client = httpx.Client(trust_env=False, timeout=3)


def get(peer: str, path: str = "/") -> str:
    response = client.get(f"http://{peer}{path}")
    response.raise_for_status()
    return response.text


def containers(runtime: Any, app: str) -> list[dict[str, Any]]:
    args = ["ps", "-a", "--format", "json", "--filter", f"label=deis.app={app}"]
    args += ["--filter", f"label=deis.instance={runtime.instance_id}"]
    return json.loads(runtime.podman.call(args, merge_stderr=False).output or "[]")


def inspect(runtime: Any, name: str) -> dict[str, Any]:
    return json.loads(runtime.podman.call(["inspect", name], merge_stderr=False).output)[0]


def up(runtime: Any, app: str) -> list[str]:
    return sorted(p.name for p in runtime.pods(app) if p.state == "up")


def test_deploy_runs_replicas_with_names_labels_and_env(
    runtime: Any, make_desired: Make, app_name: str, peer_log: PeerLog
) -> None:
    desired = make_desired(app_name, 3, structure={"web": 2})
    runtime.deploy(desired)
    pods = runtime.pods(app_name)
    assert len(pods) == 2
    for pod in pods:
        assert pod.state == "up" and pod.type == "web" and pod.release == "v3"
        assert pod.name.startswith(f"{app_name}-web-0003")
        assert pod.started is not None
    rows = containers(runtime, app_name)
    labels = rows[0]["Labels"]
    assert labels["deis.app"] == app_name and labels["deis.type"] == "web"
    assert labels["deis.version"] == "3" and labels["heritage"] == "deis"
    assert labels["deis.instance"] == runtime.instance_id
    peers = peer_log.last(app_name)
    assert peers is not None and len(peers) == 2
    assert all(p.startswith("10.199.") and p.endswith(":5000") for p in peers)
    env = dict(line.split("=", 1) for line in get(peers[0], "/env.txt").splitlines())
    assert env["GREETING"] == "hello"
    assert env["PORT"] == "5000" and env["DEIS_APP"] == app_name
    assert env["WORKFLOW_RELEASE"] == "v3" and env["SOURCE_VERSION"] == "0000003"
    assert runtime.desired(app_name) == desired


def test_scale_up_and_down_keeps_existing_replicas(
    runtime: Any, make_desired: Make, app_name: str, peer_log: PeerLog
) -> None:
    runtime.deploy(make_desired(app_name, structure={"web": 1}))
    [first] = up(runtime, app_name)
    runtime.deploy(
        make_desired(
            app_name,
            structure={"web": 3, "worker": 1},
            procfile={"web": WEB, "worker": "exec sleep 1000"},
        )
    )
    pods = runtime.pods(app_name)
    assert sorted(p.type for p in pods) == ["web", "web", "web", "worker"]
    assert first in [p.name for p in pods]
    assert len(peer_log.last(app_name) or []) == 3  # workers get no traffic
    runtime.deploy(make_desired(app_name, structure={"web": 0, "worker": 0}))
    assert peer_log.last(app_name) == []  # out of the router before the deploy answers
    assert all(p.state == "down" for p in runtime.pods(app_name))  # draining, then stopped
    wait_for(lambda: runtime.pods(app_name) == [], 30, "the replicas to be stopped")


def test_new_release_rolls_old_stopped_only_after_new_ready(
    runtime: Any, make_desired: Make, app_name: str, peer_log: PeerLog
) -> None:
    runtime.deploy(make_desired(app_name, 1, structure={"web": 2}))
    old = set(up(runtime, app_name))
    slow = "sleep 1.5; " + WEB  # ready only after 1.5 s
    observations: list[tuple[set[str], set[str]]] = []
    failures: list[str] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            pods = runtime.pods(app_name)
            observations.append(({p.name for p in pods if p.state == "up"}, {p.name for p in pods}))
            for peer in peer_log.last(app_name) or []:
                try:
                    get(peer)
                except httpx.HTTPError as exc:
                    failures.append(f"{peer}: {exc}")
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        runtime.deploy(make_desired(app_name, 2, structure={"web": 2}, procfile={"web": slow}))
    finally:
        done.set()
        watcher.join()
    new = set(up(runtime, app_name))
    assert new and not new & old
    assert all(p.release == "v2" for p in runtime.pods(app_name) if p.state != "down")
    wait_for(  # the old replicas drain, out of the router, then stop
        lambda: all(p.release == "v2" for p in runtime.pods(app_name)), 30, "the old to stop"
    )
    assert all(get(p).strip() == "v2" for p in peer_log.last(app_name) or [])
    # always something up; old replicas present until new ones were up
    for up_now, present in observations:
        assert up_now, "nothing was up during the rollout"
        if not up_now & new:
            assert old <= present
    history = peer_log.of(app_name)
    first_served = next(i for i, peers in enumerate(history) if peers)
    assert all(history[first_served:]), "the router was left without replicas"
    assert len(failures) <= 1, failures  # at most a request racing the switch


def test_release_that_never_gets_ready_fails_and_old_keeps_serving(
    runtime: Any, make_desired: Make, app_name: str, peer_log: PeerLog
) -> None:
    good = make_desired(app_name, 1, structure={"web": 2})
    runtime.deploy(good)
    old = up(runtime, app_name)
    old_peers = peer_log.last(app_name)
    wrong_port = "exec httpd -f -p 5999 -h /"
    bad = make_desired(
        app_name, 2, structure={"web": 2}, procfile={"web": wrong_port},
        env={"DEIS_DEPLOY_TIMEOUT": "2"},
    )  # fmt: skip
    began = time.monotonic()
    with pytest.raises(DeployFailed, match="did not become ready within 2s"):
        runtime.deploy(bad)
    assert time.monotonic() - began < 15  # the 2 s timeout, not the 20 s default
    assert up(runtime, app_name) == old
    assert peer_log.last(app_name) == old_peers
    assert all(get(p).strip() == "v1" for p in old_peers or [])
    assert runtime.desired(app_name) == good
    crashing = make_desired(app_name, 3, structure={"web": 2}, procfile={"web": "exit 3"})
    with pytest.raises(DeployFailed, match="keeps crashing|exit code"):
        runtime.deploy(crashing)
    assert up(runtime, app_name) == old


def test_killed_replica_is_replaced(
    runtime: Any, make_desired: Make, app_name: str, peer_log: PeerLog, event_log: EventLog
) -> None:
    runtime.deploy(make_desired(app_name))
    [pod] = runtime.pods(app_name)
    pid = inspect(runtime, pod.name)["State"]["Pid"]
    os.kill(pid, signal.SIGKILL)

    def back_up() -> bool:
        # `started` is to the second, and a restart may well fall in the same second: the
        # crash event says the replica was restarted, the state that it serves again
        if not event_log.of(app_name):
            return False
        pods = runtime.pods(app_name)
        serving = len(pods) == 1 and pods[0].name == pod.name and pods[0].state == "up"
        return serving and len(peer_log.last(app_name) or []) == 1  # back in the router

    wait_for(back_up, 30, "the replica to be replaced")  # bench/runtime.py times it
    [peer] = peer_log.last(app_name) or []
    assert get(peer).strip() == "v1"
    label = replica_label(app_name, pod.name)
    assert event_log.of(app_name) == [
        f"{label} crashed (exit 137: killed, by SIGKILL or for going over its memory limit);"
        " restart 1, if it crashes again it waits 1 s"
    ]


def test_adoption_after_platform_restart_does_not_restart_apps(
    runtime: Any, make_desired: Make, app_name: str, peer_log: PeerLog
) -> None:
    runtime.deploy(make_desired(app_name, structure={"web": 2}))
    before = runtime.pods(app_name)
    runtime.stop()
    try:
        again = PodmanRuntime(
            runtime.state_dir, runtime.instance_id, on_peers=peer_log,
            run_stack_image=runtime.test_image, grace_seconds=1, shared_image_store=None,
            supervise_interval=0.5,
        )  # fmt: skip
        calls = len(peer_log.of(app_name))
        again.start()
        wait_for(lambda: len(peer_log.of(app_name)) > calls, 20, "the peers to be sent again")
        assert sorted(peer_log.last(app_name) or []) == sorted(runtime.peers(app_name))
        again.stop()
        assert again.pods(app_name) == before  # same names, same start times: not restarted
        assert again.desired(app_name) == runtime.desired(app_name)
    finally:
        runtime.start()


def test_run_returns_exit_code_and_output_and_cleans_up(
    runtime: Any, make_desired: Make, app_name: str
) -> None:
    desired = make_desired(app_name, env={"GREETING": "hi there"})
    result = runtime.run(desired, 'echo "$GREETING from $DEIS_APP"; echo oops >&2; exit 7')
    assert result.exit_code == 7
    assert f"hi there from {app_name}" in result.output and "oops" in result.output
    isolated = runtime.run(desired, "ip -o addr; echo ---; wget -q -O- http://10.199.0.1/")
    addresses, _, fetched = isolated.output.partition("---")
    assert "10.199." not in addresses and "unreachable" in fetched  # only a loopback
    began = time.monotonic()
    slow = runtime.run(desired, "sleep 30")
    assert slow.exit_code == 124 and 4 < time.monotonic() - began < 20
    assert containers(runtime, app_name) == []
    assert not [
        n
        for n in os.listdir("/run/netns")
        if n.startswith(f"deis-{runtime.instance_id}")
        and n not in {a.netns for a in netns.Ipam().of_instance(runtime.instance_id)}
    ]


def test_two_apps_listen_on_the_same_port_and_cannot_reach_each_other(
    runtime: Any, make_desired: Make, app_name: str, peer_log: PeerLog
) -> None:
    other = app_name + "-b"
    try:
        runtime.deploy(make_desired(app_name))
        runtime.deploy(make_desired(other))
        [mine] = peer_log.last(app_name) or []
        [theirs] = peer_log.last(other) or []
        assert mine.endswith(":5000") and theirs.endswith(":5000")
        assert f"DEIS_APP={app_name}" in get(mine, "/env.txt")
        assert f"DEIS_APP={other}" in get(theirs, "/env.txt")
        [pod] = runtime.pods(app_name)
        reach = runtime.podman.exec(pod.name, ["wget", "-q", "-O-", f"http://{theirs}/"], 30)
        assert reach.code == 1 and "unreachable" in reach.output
        own = runtime.podman.exec(pod.name, ["wget", "-q", "-O-", f"http://{mine}/"], 30)
        assert own.output.strip() == "v1"
    finally:
        runtime.remove(other)


def test_restart_all_and_one_replica_rolls(runtime: Any, make_desired: Make, app_name: str) -> None:
    runtime.deploy(make_desired(app_name, structure={"web": 2}))
    before = up(runtime, app_name)
    restarted = runtime.restart(app_name)
    assert len(restarted) == 2 and not {p.name for p in restarted} & set(before)
    after = up(runtime, app_name)
    assert sorted(p.name for p in restarted) == after
    one = runtime.restart(app_name, "web", after[0])
    assert len(one) == 1 and one[0].name not in after
    assert sorted(up(runtime, app_name)) == sorted([after[1], one[0].name])


def test_remove_cleans_everything_of_the_app_only(
    runtime: Any, make_desired: Make, app_name: str, peer_log: PeerLog, state_dir: Path
) -> None:
    other = app_name + "-keep"
    runtime.deploy(make_desired(other))
    runtime.deploy(make_desired(app_name, structure={"web": 2}))
    names = up(runtime, app_name)
    runtime.remove(app_name)
    assert containers(runtime, app_name) == []
    assert runtime.desired(app_name) is None
    allocations = netns.Ipam().of_instance(runtime.instance_id)
    assert not [a for a in allocations if a.container in names]
    assert up(runtime, other)
    runtime.remove(other)


def test_remove_right_after_a_deploy_also_removes_the_draining_old_replica(
    runtime: Any, make_desired: Make, app_name: str
) -> None:
    """The old release's replica drains in the background after a deploy; removing the
    app then must not leave it behind (its image could not be removed: `deis destroy`)."""
    runtime.deploy(make_desired(app_name, 1))
    [old] = up(runtime, app_name)
    runtime.deploy(make_desired(app_name, 2))
    assert old in [c["Names"][0] for c in containers(runtime, app_name)]  # still draining
    runtime.remove(app_name)
    assert containers(runtime, app_name) == []
    allocations = netns.Ipam().of_instance(runtime.instance_id)
    assert not [a for a in allocations if a.container == old]


def test_a_waited_stop_waits_for_the_stop_already_under_way(
    runtime: Any, make_desired: Make, app_name: str
) -> None:
    runtime.deploy(make_desired(app_name, 1))
    [old] = up(runtime, app_name)
    runtime.deploy(make_desired(app_name, 2))
    assert old in [c["Names"][0] for c in containers(runtime, app_name)]  # still draining
    runtime.engine.stop([old], wait=True)
    assert old not in [c["Names"][0] for c in containers(runtime, app_name)]


def test_buildpack_slug_runs_on_the_stack_with_profile_d(
    runtime: Any, make_desired: Make, app_name: str, peer_log: PeerLog, tmp_path: Path,
    state_dir: Path,
) -> None:  # fmt: skip
    slug = tmp_path / "slug.tgz"
    with tarfile.open(slug, "w:gz") as archive:
        for path, text in {
            "app/.profile.d/greet.sh": "export FROM_PROFILE=yes\n",
            "app/Procfile": f"web: {WEB}\n",
        }.items():
            info = tarfile.TarInfo(path)
            info.size = len(text)
            archive.addfile(info, io.BytesIO(text.encode()))
    desired = make_desired(app_name, 4, kind="buildpack", image=str(slug), procfile={"web": WEB})
    runtime.deploy(desired)
    [peer] = peer_log.last(app_name) or []
    env = get(peer, "/env.txt")
    assert "FROM_PROFILE=yes" in env and "WORKFLOW_RELEASE=v4" in env
    assert (state_dir / "runtime" / "slugs" / app_name / "v4" / "app" / "Procfile").is_file()
    result = runtime.run(desired, "pwd; echo $FROM_PROFILE")
    assert result.output.split() == ["/app", "yes"]
    runtime.remove(app_name)
    assert not (state_dir / "runtime" / "slugs" / app_name).exists()


def test_limits_become_podman_limits(runtime: Any, make_desired: Make, app_name: str) -> None:
    runtime.deploy(make_desired(app_name, memory={"web": "64M"}, cpu={"web": "250m"}))
    [pod] = runtime.pods(app_name)
    host = inspect(runtime, pod.name)["HostConfig"]
    assert host["Memory"] == 64 * 1024 * 1024
    assert host["NanoCpus"] == 250_000_000
    assert host["PidsLimit"] > 0


def test_purge_removes_a_crashed_instance(tmp_path: Path, runtime: Any, make_desired: Make) -> None:
    instance = f"{runtime.instance_id}-p"
    state = tmp_path / "state"
    crashed = PodmanRuntime(state, instance, grace_seconds=1, shared_image_store=None)
    tarball = tmp_path / "image.tar"
    from .conftest import build_image_tarball

    build_image_tarball(tarball)
    crashed.podman.import_image(tarball, runtime.test_image)
    crashed.deploy(make_desired("purged", structure={"web": 2}))
    assert len(crashed.pods("purged")) == 2
    purge(state, instance)
    assert not crashed.podman.paths.run_dir.exists()
    assert netns.Ipam().of_instance(instance) == []
    assert not [n for n in os.listdir("/run/netns") if n.startswith(f"deis-{instance}-")]
    assert not [link for link in netns.host_links() if link.startswith(veth_prefix(instance))]
    assert crashed.podman.ps({"deis.instance": instance}) == []
    purge(state, instance)  # again: podman ps made its run dir


def test_replica_removed_behind_the_platforms_back_is_replaced(
    runtime: Any, make_desired: Make, app_name: str
) -> None:
    runtime.deploy(make_desired(app_name))
    [pod] = runtime.pods(app_name)
    runtime.podman.remove([pod.name])
    wait_for(
        lambda: [p for p in runtime.pods(app_name) if p.state == "up" and p.name != pod.name],
        30,
        "a replacement",
    )
    wait_for(
        lambda: not [a for a in netns.Ipam().of_instance(runtime.instance_id)
                     if a.container == pod.name],
        15,
        "the old address to be freed",
    )  # fmt: skip


def test_egress_gives_a_default_route_but_not_other_replicas(
    tmp_path: Path, runtime: Any, make_desired: Make, peer_log: PeerLog
) -> None:
    from .conftest import build_image_tarball

    instance = f"{runtime.instance_id}-e"
    state = tmp_path / "state"
    outward = PodmanRuntime(state, instance, egress=True, grace_seconds=1, shared_image_store=None)
    try:
        tarball = tmp_path / "image.tar"
        build_image_tarball(tarball)
        outward.podman.import_image(tarball, runtime.test_image)
        outward.deploy(make_desired("outward"))
        [pod] = outward.pods("outward")
        routes = outward.podman.exec(pod.name, ["ip", "route"], 30).output
        assert "default via 10.0.2.2 dev tap0" in routes
        assert "unreachable 10.199.0.0/16" in routes
        other = runtime.peers(next(iter(runtime.apps()), "")) or []
        target = other[0] if other else "10.199.255.254:5000"
        reach = outward.podman.exec(pod.name, ["wget", "-q", "-O-", f"http://{target}/"], 30)
        assert reach.code != 0
        address = outward.address(pod.name)
        assert get(f"{address}:5000").strip() == "v1"  # the host still reaches it directly
        outward.remove("outward")
        assert not list((state / "runtime" / "egress").glob("*.pid"))
    finally:
        purge(state, instance)


def test_after_a_reboot_start_brings_the_apps_back(
    runtime: Any, make_desired: Make, app_name: str, peer_log: PeerLog
) -> None:
    runtime.deploy(make_desired(app_name, structure={"web": 2}))
    before = {p.name for p in runtime.pods(app_name)}
    runtime.stop()
    try:  # what a reboot does: every process and namespace is gone
        runtime.podman.call(["stop", "-t", "0", *before])
        for allocation in netns.Ipam().of_instance(runtime.instance_id):
            if allocation.container in before:
                netns.delete_namespace(allocation.netns)
        wait_for_podman_helpers(runtime.podman.paths)
        shutil.rmtree(runtime.podman.paths.run_dir)  # /run is a tmpfs
        assert all(p.state == "crashed" for p in runtime.pods(app_name))
    finally:
        runtime.start()
    wait_for(
        lambda: sorted(p.state for p in runtime.pods(app_name)) == ["up", "up"], 30, "apps back"
    )
    assert {p.name for p in runtime.pods(app_name)} == before
    assert all(get(peer).strip() == "v1" for peer in peer_log.last(app_name) or [])


def test_probes_from_healthcheck_config(runtime: Any, make_desired: Make, app_name: str) -> None:
    ready_later = "(sleep 1; touch /tmp/www/ready) & " + WEB
    healthcheck = {
        "web": {
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 5000}, "periodSeconds": 1},
            "livenessProbe": {
                "exec": {"command": ["test", "-f", "/tmp/www/index.html"]},
                "periodSeconds": 1,
                "failureThreshold": 1,
            },
        }
    }
    began = time.monotonic()
    runtime.deploy(make_desired(app_name, procfile={"web": ready_later}, healthcheck=healthcheck))
    assert time.monotonic() - began >= 1  # not ready before /ready exists
    [pod] = runtime.pods(app_name)
    assert pod.state == "up"
    runtime.podman.exec(pod.name, ["rm", "/tmp/www/index.html"], 10)
    wait_for(
        lambda: [p for p in runtime.pods(app_name) if p.started != pod.started], 30, "a restart"
    )
    wait_for(lambda: up(runtime, app_name) == [pod.name], 30, "the replica to be up again")


def test_two_apps_deploy_in_parallel(runtime: Any, make_desired: Make, app_name: str) -> None:
    other = app_name + "-p"
    errors: list[BaseException] = []

    def deploy(name: str) -> None:
        try:
            runtime.deploy(make_desired(name, structure={"web": 2}))
        except BaseException as exc:  # reported below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=deploy, args=(n,)) for n in (app_name, other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(up(runtime, app_name)) == 2 and len(up(runtime, other)) == 2
    finally:
        runtime.remove(other)


def test_listing_replicas_reuses_the_last_ps_of_every_app_until_a_replica_changes(
    runtime: Any, make_desired: Make, app_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime.deploy(make_desired(app_name, structure={"web": 1}))
    engine = runtime.engine
    ps_of_this_app: list[dict[str, str]] = []  # the supervisor's own, of every app, go on
    real_ps = engine.podman.ps

    def counting_ps(labels: dict[str, str]) -> Any:
        if labels.get("deis.app") == app_name:
            ps_of_this_app.append(dict(labels))
        return real_ps(labels)

    monkeypatch.setattr(engine.podman, "ps", counting_ps)
    assert runtime.supervisor.running
    engine.containers(include_runs=True)  # what the supervisor does every second
    listed = [p.name for p in runtime.pods(app_name)]
    assert len(listed) == 1 and ps_of_this_app == []
    restarted = runtime.restart(app_name)  # a change: the last ps is stale now
    assert up(runtime, app_name) == [restarted[0].name]


def test_a_replica_that_crashes_on_start_says_what_it_printed(
    runtime: Any, make_desired: Make, app_name: str
) -> None:
    """Issue 18: the push showed only the exit code; the app's own words (a SyntaxError)
    say what is wrong."""
    runtime.deploy(make_desired(app_name, 1))
    crash = (
        'echo "Traceback (most recent call last):"; echo "  File \\"app.py\\", line 3";'
        ' echo "SyntaxError: invalid syntax" >&2; exit 1'
    )
    with pytest.raises(DeployFailed) as failed:
        runtime.deploy(make_desired(app_name, 2, procfile={"web": crash}))
    message = failed.value.message
    assert "keeps crashing (exit code 1); its last output:\n" in message, message
    assert message.endswith(
        '\n    Traceback (most recent call last):\n      File "app.py", line 3'
        "\n    SyntaxError: invalid syntax"
    ), message
    with pytest.raises(DeployFailed) as missing:
        runtime.deploy(make_desired(app_name, 3, procfile={"web": "exec ./server"}))
    assert "cannot run its command (exit code 127); its last output:\n" in missing.value.message
    assert "./server" in missing.value.message


def test_a_web_replica_on_another_port_fails_fast_and_says_where_it_listens(
    runtime: Any,
    make_desired: Make,
    app_name: str,
    event_log: EventLog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 18: nothing was said for 120 s, then "did not become ready" with no hint."""
    from deis.runtime.podman import converge

    monkeypatch.setattr(converge, "PROGRESS_SECONDS", 1.0)
    monkeypatch.setattr(converge, "WRONG_PORT_SECONDS", 3.0)
    runtime.deploy(make_desired(app_name, 1))
    wrong = make_desired(app_name, 2, procfile={"web": "exec httpd -f -p 3000 -h /"})
    began = time.monotonic()
    with pytest.raises(
        DeployFailed, match=r"is not ready: web listens on 3000, but \$PORT is 5000"
    ):
        runtime.deploy(wrong)
    assert time.monotonic() - began < 10  # not the 20 s timeout
    progress = [e for e in event_log.of(app_name) if e.startswith("v2 not ready after")]
    assert progress and "web listens on 3000, but $PORT is 5000" in progress[0], progress
    loopback = make_desired(app_name, 3, procfile={"web": "exec httpd -f -p 127.0.0.1:$PORT -h /"})
    with pytest.raises(DeployFailed, match=r"web listens on 127.0.0.1:5000 only"):
        runtime.deploy(loopback)
    nowhere = make_desired(
        app_name, 4, procfile={"web": "exec sleep 1000"}, env={"DEIS_DEPLOY_TIMEOUT": "3"}
    )
    with pytest.raises(DeployFailed) as failed:
        runtime.deploy(nowhere)
    assert "did not become ready within 3s" in failed.value.message
    assert "web listens on no TCP port yet (it must listen on $PORT, 5000)" in failed.value.message
    progress = [e for e in event_log.of(app_name) if e.startswith("v4 not ready after")]
    assert progress and "listens on no TCP port yet" in progress[0], progress
    assert up(runtime, app_name)  # v1 kept serving throughout
