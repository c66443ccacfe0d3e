"""Build attempts and their output in files: kept per app, the last N, cut when huge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deis.domain.attempts import BuildAttempt, id_prefix, matching
from deis.domain.errors import Invalid
from deis.logs import builds
from deis.logs.builds import FileBuildOutputs

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def attempt(n: int, app: str = "shop") -> BuildAttempt:
    return BuildAttempt(
        uuid=f"{n:08x}-0000-4000-8000-000000000000", app=app, owner="alice",
        started=T0 + timedelta(seconds=n), sha="060da68" + "0" * 33,
    )  # fmt: skip


def test_an_attempt_keeps_its_output_and_how_it_ended(tmp_path: Path) -> None:
    outputs = FileBuildOutputs(tmp_path)
    first = attempt(1)
    outputs.start(first)
    outputs.write("shop", first.uuid, "-----> Build 00000001 started\n")
    outputs.write("shop", first.uuid, " !     it broke\n")
    assert outputs.get("shop", first.uuid) == first
    outputs.finish(first.failed(T0, "it broke"))
    again = FileBuildOutputs(tmp_path)  # survives a restart
    found = again.get("shop", first.uuid)
    assert found is not None and found.status == "failed" and found.reason == "it broke"
    assert again.output("shop", first.uuid).splitlines()[1] == " !     it broke"
    assert again.get("other", first.uuid) is None and again.output("shop", "nope") == ""


def test_only_the_last_n_attempts_of_each_app_are_kept(tmp_path: Path) -> None:
    outputs = FileBuildOutputs(tmp_path, keep=3)
    for n in range(1, 6):
        outputs.start(attempt(n))
        outputs.write("shop", attempt(n).uuid, f"build {n}\n")
    outputs.start(attempt(9, app="other"))
    assert [a.uuid[:8] for a in outputs.list("shop")] == ["00000005", "00000004", "00000003"]
    assert len(list((tmp_path / "shop").iterdir())) == 6  # .json and .log of each
    assert len(outputs.list("other")) == 1
    outputs.remove("shop")
    assert outputs.list("shop") == [] and not (tmp_path / "shop").exists()
    outputs.finish(attempt(5).succeeded(T0, 3))  # a build ending after destroy: nothing back
    assert not (tmp_path / "shop").exists()


def test_a_huge_output_is_cut_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(builds, "MAX_OUTPUT", 100)
    outputs = FileBuildOutputs(tmp_path)
    outputs.start(attempt(1))
    for n in range(50):
        outputs.write("shop", attempt(1).uuid, f"line {n}\n")
    text = outputs.output("shop", attempt(1).uuid)
    assert text.startswith("line 0\n") and text.endswith(builds.CUT) and len(text) < 200


def test_ids_as_users_give_them() -> None:
    assert id_prefix(" 1A2B3C4D ") == "1a2b3c4d"
    for bad in ("1a2b", "../../etc", "x" * 8, "1" * 40):
        with pytest.raises(Invalid):
            id_prefix(bad)
    found = [attempt(1), attempt(2)]
    assert matching(found, "00000002") == found[1]
    assert matching(found, "0000000") is None  # several: not one


def test_attempts_left_building_by_a_dead_builder_end_as_failed(tmp_path: Path) -> None:
    outputs = FileBuildOutputs(tmp_path)
    outputs.start(attempt(1))
    outputs.start(attempt(2, app="other"))
    outputs.finish(attempt(2, app="other").succeeded(T0, 2))
    assert outputs.end_unfinished(T0, "the builder stopped during the build") == 1
    left = outputs.get("shop", attempt(1).uuid)
    assert left is not None and left.status == "failed" and "stopped" in left.reason
    done = outputs.get("other", attempt(2).uuid)
    assert done is not None and done.status == "succeeded"
