"""Which log lines a reader asked for: by process type, by replica."""

from __future__ import annotations

import pytest

from deis.domain.errors import Invalid
from deis.domain.logs import LineFilter, replica_label

WEB = "2026-11-27T08:00:00Z shop[web.1234567890-abcde]: GET / 200"
WEB2 = "2026-11-27T08:00:00Z shop[web.1234567890-zzzzz]: GET /b 200"
WORKER = "2026-11-27T08:00:00Z shop[worker.0987654321-xyz12]: job done"
EVENT = "2026-11-27T08:00:00Z deis[controller]: alice scaled web=2"
OTHER = "2026-11-27T08:00:00Z shop-2[web.1234567890-abcde]: not this app"


def test_nothing_asked_means_every_line() -> None:
    assert LineFilter.of("shop", None, None) is None
    assert LineFilter.of("shop", "", "") is None


def test_by_type_keeps_that_types_replicas_and_no_platform_events() -> None:
    keep = LineFilter.of("shop", "web", None)
    assert keep is not None
    assert [line for line in (WEB, WEB2, WORKER, EVENT, OTHER) if keep(line)] == [WEB, WEB2]


def test_by_replica_as_deis_ps_names_it_or_as_lines_do() -> None:
    for name in ("shop-web-1234567890-abcde", "web.1234567890-abcde"):
        keep = LineFilter.of("shop", None, name)
        assert keep is not None
        assert [line for line in (WEB, WEB2, WORKER, EVENT) if keep(line)] == [WEB]
    mismatch = LineFilter.of("shop", "worker", "shop-web-1234567890-abcde")
    assert mismatch is not None and not mismatch(WEB)


def test_bad_names_are_refused_with_the_field() -> None:
    with pytest.raises(Invalid) as caught:
        LineFilter.of("shop", None, "other-web-1234567890-abcde")
    assert caught.value.field == "replica"
    with pytest.raises(Invalid):
        LineFilter.of("shop", "Web!", None)
    assert replica_label("my-app", "my-app-worker-0000000001-zz9zz") == "worker.0000000001-zz9zz"
