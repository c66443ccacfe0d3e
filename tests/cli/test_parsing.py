"""What commands read from their arguments: KEY=value pairs, limits, probes, keys, argv."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from deis.cli import (
    apps,
    builds,
    config,
    healthchecks,
    keys,
    labels,
    limits,
    main,
    ps,
    registry,
    releases,
    tags,
)
from deis.cli.errors import CLIError


def test_config_pairs() -> None:
    assert config.parse_config(["A=1", "B_2=x=y", "# comment", "", "EMPTY="]) == {
        "A": "1",
        "B_2": "x=y",
        "EMPTY": "",
    }
    with pytest.raises(CLIError, match="does not match the pattern 'key=var'"):
        config.parse_config(["1BAD=x"])
    with pytest.raises(CLIError):
        config.parse_config(["NOEQUALS"])


def test_env_files_tolerate_crlf() -> None:
    assert config.env_file_lines("A=1\r\nB=2\r\n\r\n") == ["A=1", "B=2"]


def test_config_pull_merge_asks_only_about_differences() -> None:
    asked: list[str] = []

    def overwrite(key: str, local: str, remote: str) -> bool:
        asked.append(key)
        return key == "YES"

    merged = config.merge_pulled(
        {"SAME": "1", "YES": "a", "NO": "a"},
        {"SAME": "1", "YES": "b", "NO": "b", "NEW": 3},
        overwrite,
    )
    assert merged == {"SAME": "1", "YES": "b", "NO": "a", "NEW": "3"}
    assert sorted(asked) == ["NO", "YES"]


def test_ssh_key_values_become_base64(tmp_path: Path) -> None:
    pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n"
    encoded = base64.b64encode(pem.encode()).decode()
    assert config.parse_ssh_key(pem) == encoded
    assert config.parse_ssh_key(encoded) == encoded
    path = tmp_path / "id"
    path.write_text(pem)
    assert config.parse_ssh_key(str(path)) == encoded
    with pytest.raises(CLIError, match="Could not parse SSH private key"):
        config.parse_ssh_key("nope")


def test_limits() -> None:
    assert limits.parse_limits(["web=512M", "worker=1G/2G", "db=500m", "cmd=1"]) == {
        "web": "512M",
        "worker": "1G/2G",
        "db": "500m",
        "cmd": "1",
    }
    with pytest.raises(CLIError, match="doesn't fit format"):
        limits.parse_limits(["web=lots"])


def test_tags_labels_registry() -> None:
    assert tags.parse_tags(["env=prod"]) == {"env": "prod"}
    assert labels.parse_labels(["team=web"]) == {"team": "web"}
    assert registry.parse_registry(["username=bob", "password=a=b"]) == {
        "username": "bob",
        "password": "a=b",
    }
    for bad in (["env"], ["=x"], ["a=b=c"]):
        with pytest.raises(CLIError):
            tags.parse_tags(bad)
    with pytest.raises(CLIError, match='Valid keys are "username" or "password"'):
        registry.parse_registry(["token=x"])


def test_scale_targets() -> None:
    assert ps.parse_targets(["web=3", "worker-2=0"]) == {"web": 3, "worker-2": 0}
    with pytest.raises(CLIError, match="does not match the pattern 'type=num'"):
        ps.parse_targets(["web=three"])


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("web", ("web", "")),
        ("myapp-web-1234567890-abcde", ("web", "myapp-web-1234567890-abcde")),
        ("myapp-worker-12345678-a1b2c", ("worker", "myapp-worker-12345678-a1b2c")),
    ],
)
def test_restart_targets(target: str, expected: tuple[str, str]) -> None:
    assert ps.parse_type(target, "myapp") == expected


def test_release_versions() -> None:
    assert releases.parse_version("v3") == 3
    assert releases.parse_version("12") == 12
    for bad in ("v", "vx", "three"):
        with pytest.raises(CLIError, match="is not in the form 'v#'"):
            releases.parse_version(bad)


def test_procfiles() -> None:
    assert builds.parse_procfile("web: ./server --port $PORT\nworker: python w.py") == {
        "web": "./server --port $PORT",
        "worker": "python w.py",
    }
    assert builds.parse_procfile('{"web": "a"}') == {"web": "a"}
    assert builds.parse_procfile("{web: a, worker: b}") == {"web": "a", "worker": "b"}
    assert builds.parse_procfile("web: 'quoted cmd'") == {"web": "quoted cmd"}
    with pytest.raises(CLIError):
        builds.parse_procfile("just a command")


def test_probes() -> None:
    timings = {"initialDelaySeconds": 1}
    http = healthchecks.build_probe("httpGet", ("5000",), "/health", "X-A: 1, X-B:2", timings)
    assert http == {
        "initialDelaySeconds": 1,
        "httpGet": {
            "path": "/health",
            "port": 5000,
            "httpHeaders": [{"name": "X-A", "value": "1"}, {"name": "X-B", "value": "2"}],
        },
    }
    assert healthchecks.build_probe("tcpSocket", ("22",), "/", None, {})["tcpSocket"] == {
        "port": 22
    }
    assert healthchecks.build_probe("exec", ("cat", "/tmp/ok"), "/", None, {})["exec"] == {
        "command": ["cat", "/tmp/ok"]
    }
    with pytest.raises(CLIError, match="could not parse port"):
        healthchecks.build_probe("httpGet", ("web",), "/", None, {})
    with pytest.raises(CLIError, match="is invalid"):
        healthchecks.probe_key("alive")
    assert healthchecks.probe_key("readiness") == "readinessProbe"


def ed25519_line(comment: str = "") -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    line = key.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()
    return f"{line} {comment}".strip()


def test_public_keys() -> None:
    line = ed25519_line("alice@laptop")
    key_id, public = keys.parse_public_key(line + "\n", "id_ed25519")
    assert key_id == "alice@laptop"
    assert public == line.rsplit(" ", 1)[0]
    assert keys.parse_public_key(ed25519_line(), "id_ed25519")[0] == "id_ed25519"
    for bad in ("nonsense", "ssh-rsa !!!notbase64", "ssh-rsa " + line.split()[1]):
        with pytest.raises(ValueError):
            keys.parse_public_key(bad, "x")


def test_keys_add_arguments_in_either_order(tmp_path: Path) -> None:
    path = tmp_path / "k.pub"
    path.write_text(ed25519_line())
    assert keys.choose_args(str(path), None) == (None, path)
    assert keys.choose_args("name", str(path)) == ("name", path)
    assert keys.choose_args(str(path), "name") == ("name", path)
    assert keys.choose_args("name", None) == ("name", None)


def test_default_key_is_the_first_id_pub(tmp_path: Path) -> None:
    assert keys.default_key_path(tmp_path) is None
    ssh = tmp_path / ".ssh"
    ssh.mkdir()
    for name in ("id_rsa.pub", "id_ed25519.pub", "other.pub"):
        (ssh / name).write_text(ed25519_line())
    assert keys.default_key_path(tmp_path) == ssh / "id_ed25519.pub"


def test_config_flag_is_taken_from_anywhere() -> None:
    assert main.split_config_flag(["apps", "-c", "prod"]) == ("prod", ["apps"])
    assert main.split_config_flag(["--config=x.json", "info"]) == ("x.json", ["info"])
    assert main.split_config_flag(["--config", "p", "info", "-a", "b"]) == (
        "p",
        ["info", "-a", "b"],
    )
    assert main.split_config_flag(["run", "ls", "-c", "x"]) == (None, ["run", "ls", "-c", "x"])
    assert main.split_config_flag(["config:set", "--", "-c", "x"]) == (
        None,
        ["config:set", "--", "-c", "x"],
    )


def test_argv_rewrites() -> None:
    assert main.rewrite_argv(["help"]) == ["--help"]
    assert main.rewrite_argv(["help", "apps:create"]) == ["apps:create", "--help"]
    assert main.rewrite_argv(["-h", "config"]) == ["config", "--help"]
    assert main.rewrite_argv(["-v"]) == ["version"]
    assert main.rewrite_argv(["apps"]) == ["apps"]


def test_plugin_argv() -> None:
    assert main.plugin_argv("foo:bar", ["x"]) == ("deis-foo", ["deis-foo", "bar", "x"])
    assert main.plugin_argv("foo", ["x", "-y"]) == ("deis-foo", ["deis-foo", "x", "-y"])


def test_log_lines_not_yet_shown() -> None:
    assert apps.new_lines([], ["a", "b"]) == ["a", "b"]
    assert apps.new_lines(["a", "b", "c"], ["b", "c", "d", "e"]) == ["d", "e"]
    assert apps.new_lines(["a"], ["x"]) == ["x"]
    assert apps.new_lines(["a", "b"], ["a", "b"]) == []


def test_app_urls() -> None:
    assert (
        apps.expand_url("myapp", "deis.example.com", "apps.example.com") == "myapp.apps.example.com"
    )
    assert apps.expand_url("myapp", "deis.example.com", None) == "myapp.example.com"
    assert apps.expand_url("www.shop.com", "deis.example.com", "x") == "www.shop.com"
    assert apps.web_url("a.b") == "http://a.b"
    assert apps.web_url("https://a.b") == "https://a.b"
