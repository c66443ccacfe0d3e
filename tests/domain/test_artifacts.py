"""Which build artefacts may be deleted: the pure decision."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from deis.domain.artifacts import Garbage, collectable, needed_builds
from deis.domain.records import Build, Release

T0 = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
APP = "api"


def build(n: int, kind: str = "buildpack", image: str | None = None) -> Build:
    sha = f"{n:07x}" + "0" * 33
    if image is None:
        image = {
            "buildpack": f"slugs/{APP}/git-{sha}.tgz",
            "dockerfile": f"127.0.0.1:5000/{APP}:git-{sha[:7]}",
            "image": f"registry.example.com/team/{APP}:{n}",
        }[kind]
    return Build(
        uuid=f"b{n}",
        app=APP,
        owner="alice",
        image=image,
        sha="" if kind == "image" else sha,
        procfile={"web": "run"},
        dockerfile="FROM debian:bookworm\n" if kind == "dockerfile" else "",
        created=T0 + dt.timedelta(minutes=n),
        updated=T0 + dt.timedelta(minutes=n),
    )


def release(version: int, build_uuid: str | None, failed: bool = False) -> Release:
    return Release(
        uuid=f"r{version}",
        app=APP,
        owner="alice",
        version=version,
        build=build_uuid,
        config=f"c{version}",
        summary="",
        failed=failed,
        created=T0 + dt.timedelta(minutes=version),
        updated=T0 + dt.timedelta(minutes=version),
    )


def pushes(count: int, kind: str = "buildpack") -> tuple[list[Release], list[Build]]:
    """v1 without a build, then one release per build."""
    builds = [build(n, kind) for n in range(1, count + 1)]
    releases = [release(1, None)] + [release(n + 1, b.uuid) for n, b in enumerate(builds, 1)]
    return releases, builds


def test_nothing_goes_within_the_window() -> None:
    releases, builds = pushes(9)  # v1..v10
    assert not collectable(APP, releases, builds, keep=10)


def test_versions_outside_the_window_but_the_serving_one() -> None:
    releases, builds = pushes(3)  # v2..v4 on builds 1..3
    more = [build(n) for n in range(4, 7)]
    releases += [release(n + 1, b.uuid, failed=True) for n, b in enumerate(more, 4)]  # v5..v7
    garbage = collectable(APP, releases, builds + more, keep=2)
    assert garbage.versions == (1, 2, 3, 5)  # v4 serves; v6 and v7 are the window


def test_builds_older_than_the_window_go() -> None:
    releases, builds = pushes(14)  # v1..v15: the window is v6..v15 (builds 5..14)
    garbage = collectable(APP, releases, builds, keep=10)
    assert garbage.slugs == tuple(b.image for b in builds[:4])
    assert not garbage.images and not garbage.pulled


def test_a_rollback_in_the_window_keeps_its_old_build() -> None:
    releases, builds = pushes(14)
    releases.append(release(16, "b2"))  # `deis rollback v3`: v16 runs build 2 again
    garbage = collectable(APP, releases, builds, keep=10)
    assert builds[1].image not in garbage.slugs
    assert set(garbage.slugs) == {
        builds[0].image,
        builds[2].image,
        builds[3].image,
        builds[4].image,
    }


def test_config_releases_share_their_build() -> None:
    releases, builds = pushes(2)  # v2: b1, v3: b2
    releases += [release(v, "b2") for v in range(4, 20)]  # config changes on top of b2
    garbage = collectable(APP, releases, builds, keep=10)
    assert garbage.slugs == (builds[0].image,)


def test_the_serving_release_is_kept_however_old() -> None:
    releases, builds = pushes(3)  # v2..v4 on builds 1..3
    more = [build(n) for n in range(4, 16)]
    releases += [release(n + 1, b.uuid, failed=True) for n, b in enumerate(more, 4)]
    garbage = collectable(APP, releases, builds + more, keep=10)
    assert builds[2].image not in garbage.slugs  # v4 still serves: every later one failed
    assert builds[0].image in garbage.slugs


def test_kinds_sort_into_slugs_images_and_pulled() -> None:
    old = [build(1, "buildpack"), build(2, "dockerfile"), build(3, "image")]
    new = [build(n, "dockerfile") for n in range(4, 7)]
    releases = [release(n + 1, b.uuid) for n, b in enumerate(old + new, 1)]
    garbage = collectable(APP, releases, old + new, keep=3)
    assert garbage == Garbage(
        app=APP,
        slugs=(old[0].image,),
        images=(old[1].image,),
        pulled=(old[2].image,),
        kept_images=tuple(sorted(b.image for b in new)),
        versions=(2, 3, 4),
    )


def test_an_artefact_a_kept_build_shares_is_kept() -> None:
    # Two pushes of one commit: two builds, one slug key.
    first, again = build(1), build(1)
    again = Build(**{**again.__dict__, "uuid": "b1-again"})
    later = [build(n) for n in range(2, 4)]
    releases = [release(2, "b1"), release(3, "b2"), release(4, "b3"), release(5, "b1-again")]
    garbage = collectable(APP, releases, [first, again, *later], keep=2)
    assert first.image not in garbage.slugs
    assert garbage.slugs == (later[0].image,)


def test_keep_below_one_keeps_the_latest() -> None:
    releases, builds = pushes(3)
    assert needed_builds(releases, 0) == {"b3"}


@given(
    st.lists(st.integers(min_value=1, max_value=8), min_size=1, max_size=40),
    st.integers(min_value=1, max_value=12),
)
def test_never_deletes_what_the_window_needs(picks: list[int], keep: int) -> None:
    """Whatever the history (pushes, rollbacks, config changes): no release among the
    last `keep` loses its build's artefact."""
    builds = [build(n, ("buildpack", "dockerfile", "image")[n % 3]) for n in range(1, 9)]
    releases = [release(v, f"b{pick}") for v, pick in enumerate(picks, 2)]
    garbage = collectable(APP, releases, builds, keep=keep)
    deleted = set(garbage.slugs) | set(garbage.images) | set(garbage.pulled)
    by_uuid = {b.uuid: b for b in builds}
    for r in sorted(releases, key=lambda r: r.version)[-keep:]:
        assert r.build is not None
        assert by_uuid[r.build].image not in deleted
    used = {by_uuid[r.build].image for r in releases if r.build}
    unused = {b.image for b in builds} - used
    assert unused <= deleted  # and what no release ever used goes
