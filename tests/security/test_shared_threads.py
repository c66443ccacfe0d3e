"""Issue 17, item 5: no request that can wait on a deploy holds one of the API's few
shared threads. A settings change with `autoscale` deploys; while its deploy waits,
another user's quick request (POST /tls, as in the report) is answered at once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.api.conftest import Api, User

STALL = 10.0  # seconds the deploy waits unless released


def test_a_deploy_does_not_stall_another_users_request(
    api: Api, alice: User, bob: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice.create_app("slow")
    bob.create_app("other")
    built = alice.post("/v2/apps/slow/builds/", {"image": "x/y:1", "procfile": {"web": "./w"}})
    assert built.status_code == 201, built.text
    runtime = api.client.app.state.context.runtime  # type: ignore[attr-defined]
    entered, release = threading.Event(), threading.Event()
    real_deploy = runtime.deploy

    def slow_deploy(desired: Any) -> None:
        entered.set()
        release.wait(STALL)
        real_deploy(desired)

    monkeypatch.setattr(runtime, "deploy", slow_deploy)
    autoscale = {"autoscale": {"web": {"min": 1, "max": 3, "cpu_percent": 50}}}
    with ThreadPoolExecutor(1) as pool:
        changing = pool.submit(alice.post, "/v2/apps/slow/settings/", autoscale)
        assert entered.wait(10), "the settings change did not deploy"
        start = time.monotonic()
        other = bob.post("/v2/apps/other/tls/", {"https_enforced": True})
        waited = time.monotonic() - start
        release.set()
        assert other.status_code == 201, other.text
        assert waited < STALL / 2, f"another user's request waited {waited:.1f} s for a deploy"
        assert changing.result(timeout=30).status_code == 201


# The audit: the routes that stay on the shared quick threads read or write the database
# and nothing else (no runtime, router, podman, registry or deploy). A new route must be
# put on one side or the other here, by someone who checked what it waits on.
QUICK_ROUTES = {
    "apps.list_apps", "apps.get_app", "apps.transfer_app", "apps.list_perms", "apps.share",
    "apps.unshare",
    "auth.logout", "auth.whoami", "auth.cancel", "auth.tokens", "auth.list_users",
    "auth.list_admins", "auth.grant_admin", "auth.revoke_admin",
    "approuting.list_domains", "approuting.get_settings", "approuting.get_whitelist",
    "approuting.get_tls",
    # automatic TLS: the database and a log line; the orders run in the primary's loop
    "approuting.get_tls_auto", "approuting.enable_tls_auto", "approuting.disable_tls_auto",
    "certs.list_certs", "certs.add_cert", "certs.get_cert",
    # cron:run starts the job's thread and answers: it waits on no run
    "cron.list_jobs", "cron.get_job", "cron.run_job",
    "sleep.get_sleep",
    # an add-on's backup schedule: its row; the backups are taken by the primary's loop
    "addons.get_backup_schedule", "addons.set_backup_schedule", "addons.delete_backup_schedule",
    "hooks.key_owner", "hooks.app_keys", "hooks.app_user_keys", "hooks.push_config",
    "keys.list_keys", "keys.add_key", "keys.get_key", "keys.remove_key",
    "meta.healthz", "meta.readiness", "meta.root", "meta.platform",
    "releases.list_builds", "releases.get_build", "releases.build_log",
    "releases.list_attempts", "releases.get_attempt", "releases.get_config",
    "releases.list_releases", "releases.get_release",
}  # fmt: skip


# The dashboard's too: its pages and actions are routes of the same server.
QUICK_DASHBOARD_ROUTES = {
    "actions.confirm_config", "actions.confirm_rollback",
    "admin.user_list", "admin.admin_list", "admin.every_app", "admin.set_admin",
    "apps.app_list", "apps.app_releases", "apps.app_config", "apps.config_value",
    "apps.app_domains", "apps.app_builds", "apps.app_cron",  # apps.app_addons: @blocking
    "auth.signin_form", "auth.signout",
    "buildlogs.build_output",  # reads the build's output file
    "logstream.logs_stream",  # answers at once; the stream runs on the blocking threads
    "static.static_file",
}  # fmt: skip


def _routes(package_file: str) -> dict[str, bool]:
    """Every route function of a package's modules: whether it is quick (sync and not
    @blocking)."""
    import ast
    from pathlib import Path

    found: dict[str, bool] = {}
    for path in Path(package_file).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            names = [ast.unparse(d) for d in node.decorator_list]
            if not any(n.startswith(("router.", "app.")) for n in names):
                continue
            quick = isinstance(node, ast.FunctionDef) and "blocking" not in names
            found[f"{path.stem}.{node.name}"] = quick
    return found


def test_only_routes_that_wait_on_nothing_but_the_database_are_quick() -> None:
    import deis.api.routes
    import deis.dashboard

    quick = {name for name, is_quick in _routes(deis.api.routes.__file__).items() if is_quick}
    assert quick == QUICK_ROUTES
    dashboard = {name for name, is_quick in _routes(deis.dashboard.__file__).items() if is_quick}
    assert dashboard == QUICK_DASHBOARD_ROUTES
