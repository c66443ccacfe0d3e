"""`deisctl install-service`: the systemd unit it writes, checked by systemd-analyze when
the machine has it; and a clear refusal where systemd does not run."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from deis.platform import service_unit

from .conftest import Instance


def verify(unit: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        return
    done = subprocess.run(  # noqa: S603 - an argument list
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_writes_a_unit_that_runs_deisctl_up_and_down(
    make_instance: Callable[[], Instance], tmp_path: Path
) -> None:
    instance = make_instance()
    units = tmp_path / "units"
    done = instance.deisctl("install-service", "--unit-dir", str(units))
    assert done.returncode == 0, done.stderr
    unit = units / "deis-platform.service"
    text = unit.read_text()
    state = instance.state_dir.resolve()
    assert f" up --state-dir {state}\n" in text and f" down --state-dir {state}\n" in text
    assert "Type=forking" in text and f"PIDFile={state}/platform.pid" in text
    assert "KillMode=process" in text and "WantedBy=multi-user.target" in text
    exec_start = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    assert Path(exec_start.split()[0].removeprefix("ExecStart=")).is_file()  # this deisctl
    assert "systemctl daemon-reload && systemctl enable --now deis-platform.service" in done.stdout
    assert unit.stat().st_mode & 0o777 == 0o644
    verify(unit)


def test_a_state_dir_with_spaces_is_quoted_and_a_name_can_be_given(tmp_path: Path) -> None:
    text = service_unit.render(Path("/usr/bin/deisctl"), tmp_path / "my $state 100%")
    assert f'up --state-dir "{tmp_path}/my $$state 100%%"' in text
    assert f"PIDFile={tmp_path}/my $state 100%%/platform.pid" in text
    assert service_unit.unit_file_name("deis-staging") == "deis-staging.service"
    with pytest.raises(service_unit.UnitError):
        service_unit.unit_file_name("../evil")
    unit = tmp_path / "quoted.service"
    unit.write_text(
        service_unit.render(Path(shutil.which("true") or "/bin/true"), tmp_path / "a b")
    )
    verify(unit)


def test_a_different_unit_is_kept_unless_forced(
    make_instance: Callable[[], Instance], tmp_path: Path
) -> None:
    instance = make_instance()
    units = tmp_path / "units"
    units.mkdir()
    (units / "deis-staging.service").write_text("[Unit]\nDescription=mine\n")
    args = ("install-service", "--unit-dir", str(units), "--name", "deis-staging")
    refused = instance.deisctl(*args)
    assert refused.returncode == 1 and "exists and differs" in refused.stderr
    assert (units / "deis-staging.service").read_text() == "[Unit]\nDescription=mine\n"
    assert instance.deisctl(*args, "--force").returncode == 0
    assert "deisctl" in (units / "deis-staging.service").read_text()
    again = instance.deisctl(*args)  # the same unit again: fine
    assert again.returncode == 0
    bad = instance.deisctl("install-service", "--unit-dir", str(units), "--name", "a/b")
    assert bad.returncode == 1 and "not a unit name" in bad.stderr


@pytest.mark.skipif(
    service_unit.SYSTEMD_RUNNING.is_dir(), reason="systemd runs here: it would install"
)
def test_refuses_without_systemd_unless_a_unit_dir_is_given(
    make_instance: Callable[[], Instance],
) -> None:
    instance = make_instance()
    done = instance.deisctl("install-service")
    assert done.returncode == 1
    assert "does not run systemd" in done.stderr and "--unit-dir" in done.stderr
    assert "Traceback" not in done.stderr
