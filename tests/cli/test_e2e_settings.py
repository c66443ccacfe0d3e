"""limits, tags, registry, healthchecks, maintenance, routing, whitelist, tls, autoscale and
labels against a running controller."""

from __future__ import annotations

import json

import pytest

from .conftest import Deis

pytestmark = pytest.mark.e2e


def test_limits(user: Deis, app: str) -> None:
    assert (
        user("limits", "-a", app).out
        == f"=== {app} Limits\n\n--- Memory\nUnlimited\n\n--- CPU\nUnlimited\n"
    )
    memory = user("limits:set", "web=512M", "worker=1G", "-a", app)
    assert memory.out == (
        f"Applying limits... done\n\n=== {app} Limits\n\n--- Memory\n"
        "web        512M\nworker     1G\n\n--- CPU\nUnlimited\n"
    )
    cpu = user("limits:set", "--cpu", "web=500m", "-a", app)
    assert "--- CPU\nweb     500m\n" in cpu.out
    assert json.loads(user("limits:list", "-a", app, "-o", "json").out) == {
        "memory": {"web": "512M", "worker": "1G"},
        "cpu": {"web": "500m"},
    }
    user("limits:unset", "worker", "-a", app)
    user("limits:unset", "--cpu", "web", "-a", app)
    assert json.loads(user("limits", "-a", app, "-o", "json").out) == {
        "memory": {"web": "512M"},
        "cpu": {},
    }
    assert "doesn't fit format" in user.fails("limits:set", "web=lots", "-a", app).err


def test_limits_for_a_type_the_app_does_not_have_are_refused_as_scale_does(
    user: Deis, app: str
) -> None:
    user("pull", "registry.example.com/go:1.0", "--procfile", "web: ./server", "-a", app)
    refused = user.fails("limits:set", "nope=256M", "-a", app)
    scale = user.fails("scale", "nope=1", "-a", app)
    assert refused.err == scale.err
    assert refused.err == (
        "Error: nope: Container type nope does not exist in application (it has: web).\n"
    )
    assert "does not exist" in user.fails("limits:set", "--cpu", "nope=500m", "-a", app).err
    assert json.loads(user("limits", "-a", app, "-o", "json").out) == {"memory": {}, "cpu": {}}
    user("limits:set", "web=256M", "-a", app)  # a type it has


def test_tags(user: Deis, app: str) -> None:
    result = user("tags:set", "environment=production", "rack=1", "-a", app)
    assert (
        result.out
        == f"Applying tags... done\n\n=== {app} Tags\nenvironment     production\nrack            1\n"
    )
    assert json.loads(user("tags", "-a", app, "-o", "json").out) == {
        "environment": "production",
        "rack": "1",
    }
    assert user("tags:unset", "rack", "-a", app).out.endswith(
        f"=== {app} Tags\nenvironment     production\n"
    )
    assert "Must be in format key=value" in user.fails("tags:set", "novalue", "-a", app).err


def test_registry(user: Deis, app: str) -> None:
    result = user("registry:set", "username=bob", "password=s3cret", "-a", app)
    assert result.out.startswith("Applying registry information... done\n\n")
    assert f"=== {app} Registry\npassword     s3cret\nusername     bob\n" in result.out
    assert json.loads(user("registry:list", "-a", app, "-o", "json").out) == {
        "username": "bob",
        "password": "s3cret",
    }
    user("registry:unset", "password", "-a", app)
    assert user("registry", "-a", app).out == f"=== {app} Registry\nusername     bob\n"
    assert (
        'Valid keys are "username" or "password"'
        in user.fails("registry:set", "token=x", "-a", app).err
    )


def test_healthchecks(user: Deis, app: str) -> None:
    assert (
        user("healthchecks", "-a", app).out
        == f"=== {app} Healthchecks\nNo health checks configured.\n"
    )
    http = user(
        "healthchecks:set",
        "liveness",
        "httpGet",
        "5000",
        "--path",
        "/health",
        "--type",
        "web",
        "-a",
        app,
    )
    assert http.out.startswith(
        f"Applying livenessProbe healthcheck... done\n\n=== {app} Healthchecks\n\nweb:\n"
    )
    assert 'HTTP GET Probe: Path="/health" Port=5000 HTTPHeaders=[]' in http.out
    user("healthchecks:set", "readiness", "exec", "-a", app, "--", "cat", "/tmp/ready")
    user("healthchecks:set", "liveness", "tcpSocket", "6000", "--type", "worker", "-a", app)
    checks = json.loads(user("healthchecks:list", "-a", app, "-o", "json").out)
    http_get = checks["web"]["livenessProbe"]["httpGet"]
    assert {k: http_get[k] for k in ("path", "port")} == {"path": "/health", "port": 5000}
    assert http_get.get("httpHeaders", []) == []
    assert checks["web"]["readinessProbe"]["exec"] == {"command": ["cat", "/tmp/ready"]}
    assert checks["worker"]["livenessProbe"]["tcpSocket"] == {"port": 6000}
    listing = user("healthchecks", "-a", app).out
    assert (
        "\nweb:\n" in listing and "\nworker:\n" in listing and "Command=[cat /tmp/ready]" in listing
    )
    unset = user("healthchecks:unset", "liveness", "--type", "web", "-a", app)
    assert "--- Liveness\nNo liveness probe configured.\n" in unset.out
    assert user.fails("healthchecks:set", "alive", "httpGet", "80", "-a", app, code=2).err


def test_maintenance(user: Deis, app: str) -> None:
    assert user("maintenance", "-a", app).out == "Maintenance mode is off.\n"
    assert user("maintenance:on", "-a", app).out == f"Enabling maintenance mode for {app}... done\n"
    assert user("maintenance:info", "-a", app).out == "Maintenance mode is on.\n"
    assert json.loads(user("maintenance:info", "-a", app, "-o", "json").out) == {
        "maintenance": True
    }
    assert (
        user("maintenance:off", "-a", app).out == f"Disabling maintenance mode for {app}... done\n"
    )
    assert user("maintenance", "-a", app).out == "Maintenance mode is off.\n"


def test_routing(user: Deis, app: str) -> None:
    assert user("routing", "-a", app).out == "Routing is enabled.\n"
    assert user("routing:disable", "-a", app).out == f"Disabling routing for {app}... done\n"
    assert user("routing:info", "-a", app).out == "Routing is disabled.\n"
    assert json.loads(user("routing:info", "-a", app, "-o", "json").out) == {"routable": False}
    assert user("routing:enable", "-a", app).out == f"Enabling routing for {app}... done\n"
    assert user("routing", "-a", app).out == "Routing is enabled.\n"


def test_whitelist(user: Deis, app: str) -> None:
    result = user("whitelist:add", "10.0.0.0/8,1.2.3.4", "-a", app)
    assert result.out == f"Adding 10.0.0.0/8,1.2.3.4 to {app} whitelist...\ndone\n"
    assert (
        user("whitelist", "-a", app).out
        == f"=== {app} Whitelisted Addresses\n10.0.0.0/8\n1.2.3.4\n"
    )
    user("whitelist:remove", "1.2.3.4", "-a", app)
    assert json.loads(user("whitelist:list", "-a", app, "-o", "json").out) == ["10.0.0.0/8"]
    assert user.fails("whitelist:add", "not-an-address", "-a", app).err.startswith("Error: ")


def test_tls(user: Deis, app: str) -> None:
    assert user("tls", "-a", app).out in (
        f"=== {app} TLS\nHTTPS Enforced: false\n",
        f"=== {app} TLS\nHTTPS Enforced: not set\n",
    )
    assert user("tls:enable", "-a", app).out == f"Enabling https-only requests for {app}... done\n"
    assert user("tls:info", "-a", app).out == f"=== {app} TLS\nHTTPS Enforced: true\n"
    assert json.loads(user("tls", "-a", app, "-o", "json").out)["https_enforced"] is True
    assert (
        user("tls:disable", "-a", app).out == f"Disabling https-only requests for {app}... done\n"
    )
    assert user("tls", "-a", app).out == f"=== {app} TLS\nHTTPS Enforced: false\n"


def test_autoscale(user: Deis, app: str) -> None:
    assert user("autoscale", "-a", app).out == f"=== {app} Autoscale\n\nNo autoscale rules found.\n"
    result = user(
        "autoscale:set", "web", "--min", "1", "--max", "5", "--cpu-percent", "70", "-a", app
    )
    assert result.out == f"Applying autoscale settings for process type web on {app}... done\n"
    assert user("autoscale:list", "-a", app).out == (
        f"=== {app} Autoscale\n\n--- web:\nMin Replicas: 1\nMax Replicas: 5\nCPU: 70%\n"
    )
    assert json.loads(user("autoscale", "-a", app, "-o", "json").out)["web"] == {
        "min": 1,
        "max": 5,
        "cpu_percent": 70,
    }
    assert (
        user("autoscale:unset", "web", "-a", app).out
        == f"Removing autoscale for process type web on {app}... done\n"
    )
    assert "No autoscale rules found." in user("autoscale", "-a", app).out
    user.fails("autoscale:set", "web", "--min", "1", "-a", app, code=2)


def test_labels(user: Deis, app: str) -> None:
    assert (
        user("labels:set", "team=frontend", "tier=gold", "-a", app).out
        == f"Applying labels on {app}... done\n"
    )
    assert (
        user("labels", "-a", app).out == f"=== {app} Label\nteam:      frontend\ntier:      gold\n"
    )
    assert json.loads(user("labels:list", "-a", app, "-o", "json").out) == {
        "team": "frontend",
        "tier": "gold",
    }
    assert f"=== {app} Label\nteam:      frontend\n" in user("info", "-a", app).out
    assert (
        user("labels:unset", "team", "tier", "-a", app).out == f"Removing labels on {app}... done\n"
    )
    assert user("labels", "-a", app).out == f"=== {app} Label\nNo labels found.\n"


def test_healthchecks_default_to_cmd_for_an_image_without_a_procfile(user: Deis, app: str) -> None:
    user("pull", "registry.example.com/go:1.0", "-a", app)  # runs the image's own command: cmd
    result = user("healthchecks:set", "liveness", "tcpSocket", "5000", "-a", app)
    assert f"=== {app} Healthchecks\n\ncmd:\n--- Liveness\n" in result.out
    checks = json.loads(user("healthchecks:list", "-a", app, "-o", "json").out)
    assert checks["cmd"]["livenessProbe"]["tcpSocket"] == {"port": 5000}
    assert "web" not in checks
    user("healthchecks:unset", "liveness", "-a", app)
    checks = json.loads(user("healthchecks:list", "-a", app, "-o", "json").out)
    assert "livenessProbe" not in checks.get("cmd", {})
