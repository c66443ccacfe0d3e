"""What each command prints, from the API's JSON shapes (API.md), without a controller."""

from __future__ import annotations

from datetime import UTC, datetime

from deis.cli import (
    apps,
    auth,
    autoscale,
    builds,
    certs,
    config,
    domains,
    healthchecks,
    keys,
    labels,
    limits,
    maintenance,
    perms,
    ps,
    releases,
    routing,
    tls,
    users,
    version,
    whitelist,
)

APP = {
    "uuid": "de1bf5b5-4a72-4f94-a10c-d2a3741cdf75",
    "id": "myapp",
    "owner": "alice",
    "structure": {"web": 1},
    "url": "myapp.example.com",
    "created": "2016-06-01T12:00:00Z",
    "updated": "2016-06-02T12:00:00Z",
}


def test_app_info_block_as_the_go_client() -> None:
    assert apps.format_app(APP, "myapp.example.com") == (
        "=== myapp Application\n"
        "updated:  2016-06-02T12:00:00Z\n"
        "uuid:     de1bf5b5-4a72-4f94-a10c-d2a3741cdf75\n"
        "created:  2016-06-01T12:00:00Z\n"
        "url:      myapp.example.com\n"
        "owner:    alice\n"
        "id:       myapp\n"
    )


def test_apps_list() -> None:
    assert apps.format_apps([APP], 1) == "=== Apps\nmyapp\n"
    assert apps.format_apps([APP], 7) == "=== Apps (1 of 7)\nmyapp\n"


def test_processes_grouped_by_type() -> None:
    pods = [
        {
            "name": "myapp-web-1234567890-bbbbb",
            "state": "up",
            "type": "web",
            "release": "v3",
            "started": "x",
        },
        {
            "name": "myapp-worker-1234567890-aaaaa",
            "state": "crashed",
            "type": "worker",
            "release": "v3",
        },
        {"name": "myapp-web-1234567890-aaaaa", "state": "starting", "type": "web", "release": "v3"},
    ]
    assert ps.format_processes("myapp", pods) == (
        "=== myapp Processes\n"
        "--- web:\n"
        "myapp-web-1234567890-aaaaa starting (v3)\n"
        "myapp-web-1234567890-bbbbb up (v3)\n"
        "--- worker:\n"
        "myapp-worker-1234567890-aaaaa crashed (v3)\n"
    )
    in_back_off = {**pods[1], "detail": "crashed 5 times; next start in 32 s"}
    assert ps.format_processes("myapp", [in_back_off]).endswith(
        "myapp-worker-1234567890-aaaaa crashed (v3): crashed 5 times; next start in 32 s\n"
    )


def test_sleeping_types_and_the_sleep_setting() -> None:
    worker = {"name": "myapp-worker-1234567890-aaaaa", "state": "up", "type": "worker",
              "release": "v3"}  # fmt: skip
    sleep = {"after": 1800, "default": False, "all_types": False, "asleep": True,
             "since": "2026-12-06T17:30:00Z"}  # fmt: skip
    asleep = ps.sleeping_types(sleep, {"web": 2, "worker": 1})
    assert ps.format_processes("myapp", [worker], asleep) == (
        "=== myapp Processes\n"
        "--- web:\n"
        "asleep since 2026-12-06T17:30:00Z (the next request wakes it)\n"
        "--- worker:\n"
        "myapp-worker-1234567890-aaaaa up (v3)\n"
    )
    assert set(ps.sleeping_types({**sleep, "all_types": True}, {"web": 2, "worker": 1})) == {
        "web", "worker"
    }  # fmt: skip
    assert ps.sleeping_types({**sleep, "asleep": False}, {"web": 1}) == {}
    assert ps.format_sleep("myapp", sleep) == (
        "=== myapp Sleep\n"
        "Sleeps:  after 30m without a request\n"
        "Types:   web\n"
        "State:   asleep since 2026-12-06T17:30:00Z\n"
    )
    never = {"after": 0, "default": True, "all_types": False, "asleep": False, "since": None}
    assert ps.format_sleep("myapp", never).splitlines()[1:] == [
        "Sleeps:  never (the platform's default)", "Types:   web", "State:   awake"
    ]  # fmt: skip
    assert [ps.duration_text(s) for s in (5400, 90, 86400, 0)] == ["1h30m", "1m30s", "1d", "never"]


def test_config_three_ways() -> None:
    values = {"B": "two words", "A": "1"}
    assert config.format_config("myapp", values) == "=== myapp Config\nA      1\nB      two words\n"
    assert config.format_config("myapp", values, "oneline") == "A=1 B=two words\n"
    assert config.format_config("myapp", values, "diff") == "A=1\nB=two words\n"
    assert config.format_config("myapp", {}, "oneline") == ""


def test_releases() -> None:
    rels = [
        {"version": 10, "created": "2016-06-02T12:00:00Z", "summary": "alice deployed 060da68"},
        {"version": 9, "created": "2016-06-01T12:00:00Z", "summary": "alice added FOO"},
    ]
    assert releases.format_releases("myapp", rels, 2) == (
        "=== myapp Releases\n"
        "v10  2016-06-02T12:00:00Z  alice deployed 060da68\n"
        "v9   2016-06-01T12:00:00Z  alice added FOO\n"
    )
    rels[0]["failed"] = True  # as releases:info and the dashboard do, the list says so
    assert releases.format_releases("myapp", rels, 2).splitlines()[1] == (
        "v10  2016-06-02T12:00:00Z  alice deployed 060da68 (failed)"
    )
    info = releases.format_release(
        "myapp", {"version": 2, "build": "b-uuid", "config": "c", "owner": "alice"}
    )
    assert info.splitlines()[:3] == ["=== myapp Release v2", "build:    b-uuid", "config:   c"]
    failed = releases.format_release(
        "myapp",
        {"version": 3, "failed": True, "failure": "web.1 keeps crashing; its last output:\n"
         "    SyntaxError: invalid syntax"},
    )  # fmt: skip
    assert failed.endswith(
        "failed:   true\n"
        "failure:  web.1 keeps crashing; its last output:\n"
        "              SyntaxError: invalid syntax\n"
    )
    assert releases.rollback_message(None) == "Rolling back one release..."
    assert releases.rollback_message(3) == "Rolling back to v3..."


def test_limits() -> None:
    assert limits.format_limits("myapp", {}, {}) == (
        "=== myapp Limits\n\n--- Memory\nUnlimited\n\n--- CPU\nUnlimited\n"
    )
    assert limits.format_limits("myapp", {"web": "512M"}, {"web": "500m"}) == (
        "=== myapp Limits\n\n--- Memory\nweb     512M\n\n--- CPU\nweb     500m\n"
    )


def test_healthchecks() -> None:
    probe = {
        "initialDelaySeconds": 50,
        "timeoutSeconds": 50,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
        "httpGet": {"path": "/", "port": 5000, "httpHeaders": [{"name": "X", "value": "1"}]},
    }
    text = healthchecks.format_healthchecks("myapp", {"web": {"livenessProbe": probe}}, None)
    assert text.startswith(
        "=== myapp Healthchecks\n\nweb:\n--- Liveness\nInitial Delay (seconds): 50\n"
    )
    assert 'HTTP GET Probe: Path="/" Port=5000 HTTPHeaders=[X=1]' in text
    assert "--- Readiness\nNo readiness probe configured.\n" in text
    assert (
        healthchecks.format_healthchecks("myapp", {}, None)
        == "=== myapp Healthchecks\nNo health checks configured.\n"
    )


def test_certs_table_and_info() -> None:
    cert = {
        "name": "www",
        "common_name": "www.example.com",
        "san": ["www.example.com", "example.com"],
        "fingerprint": "AA:BB:CC:DD:EE:FF:00:11",
        "expires": "2017-01-01T00:00:00Z",
        "starts": "2016-01-01T00:00:00Z",
        "issuer": "CN=ca",
        "subject": "CN=www.example.com",
        "domains": [],
        "owner": "alice",
        "created": "2016-01-02T00:00:00Z",
        "updated": "2016-01-02T00:00:00Z",
    }
    table = certs.format_certs([cert], datetime(2016, 6, 1, tzinfo=UTC))
    header, row = table.splitlines()
    assert header.split("  ")[0] == "Name"
    assert "1 Jan 2017 (in 7 months)" in row
    assert "AA:BB[...]F:00:11"[:5] in row
    assert certs.format_certs([], datetime.now(UTC)) == "No certs\n"
    info = certs.format_cert(cert)
    assert "Connected Domains: No connected domains" in info
    assert "Subject Alt Name:  www.example.com,example.com" in info


def test_small_listings() -> None:
    assert domains.format_domains("myapp", [{"domain": "myapp"}], 1) == "=== myapp Domains\nmyapp\n"
    assert users.format_users([{"username": "a", "is_superuser": True}, {"username": "b"}], 2) == (
        "=== Users (*=admin)\n*a\nb\n"
    )
    assert perms.format_app_users("myapp", ["bob"]) == "=== myapp's Users\nbob\n"
    assert perms.format_admins(["alice"], 1) == "=== Administrators\nalice\n"
    assert (
        whitelist.format_whitelist("myapp", ["1.2.3.4"])
        == "=== myapp Whitelisted Addresses\n1.2.3.4\n"
    )
    assert labels.format_labels("myapp", {}) == "=== myapp Label\nNo labels found.\n"
    assert labels.format_labels("myapp", {"team": "web"}) == "=== myapp Label\nteam:      web\n"
    assert (
        tls.format_tls("myapp", {"https_enforced": True}) == "=== myapp TLS\nHTTPS Enforced: true\n"
    )
    assert maintenance.maintenance_text(True) == "Maintenance mode is on."
    assert routing.routing_text(None) == "Routing is enabled."
    assert routing.routing_text(False) == "Routing is disabled."
    assert "No autoscale rules found." in autoscale.format_autoscale("myapp", {})
    assert autoscale.format_autoscale(
        "myapp", {"web": {"min": 1, "max": 3, "cpu_percent": 50}}
    ) == ("=== myapp Autoscale\n\n--- web:\nMin Replicas: 1\nMax Replicas: 3\nCPU: 50%\n")
    assert (
        builds.format_builds("myapp", [{"uuid": "u", "created": "c"}], 1)
        == "=== myapp Builds\nu  c\n"
    )
    assert keys.format_keys(
        "alice", [{"id": "k", "public": "ssh-ed25519 " + "A" * 40}], 1
    ).startswith("=== alice Keys\nk  ssh-ed25519 AAAA...")
    assert auth.format_user({"username": "alice", "email": "a@x"}).startswith("=== alice\n")
    assert "Workflow CLI API Version:        2.3" in version.format_versions("2.3")


def test_build_attempts_and_build_info_read_plainly() -> None:
    from deis.cli.builds import format_attempts, format_build_info

    failed = {
        "uuid": "c7118c47-6f07-4ac2-ad2b-6c1c2adfed96", "status": "failed",
        "started": "2026-11-27T12:27:00Z", "sha": "d4400ddb5d30", "reason": "it broke",
        "owner": "dev", "finished": None, "version": None,
    }  # fmt: skip
    built = {**failed, "uuid": "80e06c6e-4009-4d3b-9d2d-937f8f8c32dd", "status": "succeeded",
             "reason": "", "version": 4}  # fmt: skip
    assert format_attempts("w", [built, failed], 3).splitlines() == [
        "=== w Build Attempts (2 of 3)",
        "80e06c6e-4009-4d3b-9d2d-937f8f8c32dd  succeeded  2026-11-27T12:27:00Z  d4400dd  v4",
        "c7118c47-6f07-4ac2-ad2b-6c1c2adfed96  failed     2026-11-27T12:27:00Z  d4400dd  it broke",
    ]
    info = format_build_info(failed, None)
    assert "status:    failed" in info and "finished:  -" in info and "reason:    it broke" in info
    only_build = format_build_info(None, {"uuid": "u", "owner": "dev", "image": "img",
                                          "procfile": {"web": "x"}, "created": "t"})  # fmt: skip
    assert "image:     img" in only_build and 'procfile:  {"web": "x"}' in only_build


def test_format_auto_lists_each_domain_and_its_last_acme_error() -> None:
    from deis.cli.tls import format_auto

    now = datetime(2026, 12, 6, tzinfo=UTC)
    auto = {
        "auto": True,
        "directory": "https://ca.test/dir",
        "domains": [
            {"domain": "www.shop.test", "host": "www.shop.test", "certificate": "acme-www-shop-test",
             "automatic": True, "issuer": "CN=CA", "expires": "2027-03-01T00:00:00Z",
             "last_error": "", "next_attempt": None},
            {"domain": "shop", "host": "shop.apps.test", "certificate": None, "automatic": False,
             "issuer": None, "expires": None, "last_error": "cannot reach the CA",
             "next_attempt": "2026-12-06T00:01:00Z"},
        ],
    }  # fmt: skip
    text = format_auto(auto, now)
    assert text.startswith("Automatic TLS: enabled (https://ca.test/dir)\n")
    assert "acme-www-shop-test (auto)  CN=CA" in text
    assert "1 Mar 2027 (in 2 months)" in text
    assert "shop.apps.test  none" in text
    assert "cannot reach the CA (next attempt 2026-12-06T00:01:00Z)" in text
    assert format_auto({"auto": False, "directory": "x", "domains": []}, now) == (
        "Automatic TLS: disabled\n"
    )
