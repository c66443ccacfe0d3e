from __future__ import annotations

from typing import Any

import pytest

from deis.domain.errors import Invalid
from deis.domain.healthchecks import DEFAULTS, validate_probe

DEFAULTS_EXPECTED = {
    "initialDelaySeconds": 0,
    "timeoutSeconds": 1,
    "periodSeconds": 10,
    "successThreshold": 1,
    "failureThreshold": 3,
}


def test_defaults_are_kubernetes_defaults() -> None:
    assert DEFAULTS == DEFAULTS_EXPECTED


def test_http_get_minimal_is_filled_in() -> None:
    assert validate_probe({"httpGet": {"port": 8080}}) == {
        "httpGet": {"path": "/", "port": 8080, "scheme": "HTTP"},
        **DEFAULTS_EXPECTED,
    }


def test_http_get_full() -> None:
    probe = {
        "httpGet": {
            "path": "/healthz?full=1",
            "port": "http",
            "host": "127.0.0.1",
            "scheme": "https",
            "httpHeaders": [{"name": "X-Probe", "value": "yes"}],
        },
        "initialDelaySeconds": 5,
        "periodSeconds": 3,
        "timeoutSeconds": 2,
        "failureThreshold": 1,
        "successThreshold": 1,
        "terminationGracePeriodSeconds": 30,
    }
    result = validate_probe(probe, kind="livenessProbe")
    assert result["httpGet"] == {
        "path": "/healthz?full=1",
        "port": "http",
        "host": "127.0.0.1",
        "scheme": "HTTPS",
        "httpHeaders": [{"name": "X-Probe", "value": "yes"}],
    }
    assert result["initialDelaySeconds"] == 5
    assert result["periodSeconds"] == 3
    assert result["timeoutSeconds"] == 2
    assert result["failureThreshold"] == 1
    assert result["terminationGracePeriodSeconds"] == 30


def test_returns_a_new_dict() -> None:
    probe: dict[str, Any] = {"exec": {"command": ["true"]}}
    result = validate_probe(probe)
    result["exec"]["command"].append("x")
    assert probe == {"exec": {"command": ["true"]}}


def test_tcp_socket() -> None:
    assert validate_probe({"tcpSocket": {"port": 5000}})["tcpSocket"] == {"port": 5000}
    assert validate_probe({"tcpSocket": {"port": 22, "host": "db"}})["tcpSocket"] == {
        "port": 22,
        "host": "db",
    }


def test_exec() -> None:
    result = validate_probe({"exec": {"command": ["cat", "/tmp/ok"]}})
    assert result["exec"] == {"command": ["cat", "/tmp/ok"]}


def test_numeric_port_string_becomes_a_number() -> None:
    assert validate_probe({"tcpSocket": {"port": "5000"}})["tcpSocket"]["port"] == 5000


@pytest.mark.parametrize("port", [1, 65535, "web", "http-alt", "a1"])
def test_valid_ports(port: object) -> None:
    assert validate_probe({"tcpSocket": {"port": port}})["tcpSocket"]["port"] == port


@pytest.mark.parametrize(
    "port",
    [
        0,
        65536,
        -1,
        "0",
        "99999",
        "",
        "Web",
        "-web",
        "web-",
        "a--b",
        "x" * 16,
        "123-",
        True,
        1.5,
        None,
        [],
    ],
)
def test_invalid_ports(port: object) -> None:
    with pytest.raises(Invalid) as info:
        validate_probe({"httpGet": {"port": port}})
    assert info.value.field == "healthcheck"


def test_port_is_required() -> None:
    with pytest.raises(Invalid, match="port"):
        validate_probe({"tcpSocket": {}})


@pytest.mark.parametrize(
    "probe",
    [
        {},
        {"periodSeconds": 5},
        {"httpGet": {"port": 1}, "tcpSocket": {"port": 1}},
        {"httpGet": {"port": 1}, "exec": {"command": ["x"]}},
    ],
)
def test_exactly_one_handler(probe: dict[str, object]) -> None:
    with pytest.raises(Invalid, match="exactly one of httpGet, tcpSocket or exec"):
        validate_probe(probe)


def test_unknown_fields_are_named() -> None:
    with pytest.raises(Invalid) as info:
        validate_probe({"tcpSocket": {"port": 1}, "grpc": {}, "zeta": 1})
    assert "grpc, zeta" in info.value.message


@pytest.mark.parametrize(
    "probe",
    [
        {"httpGet": {"port": 1, "method": "POST"}},
        {"tcpSocket": {"port": 1, "path": "/"}},
        {"exec": {"command": ["x"], "shell": True}},
        {"httpGet": {"port": 1, "httpHeaders": [{"name": "A", "value": "b", "x": 1}]}},
    ],
)
def test_unknown_handler_fields(probe: dict[str, object]) -> None:
    with pytest.raises(Invalid, match="unknown fields"):
        validate_probe(probe)


@pytest.mark.parametrize(
    "http_get",
    [
        {"port": 1, "path": "health"},
        {"port": 1, "path": ""},
        {"port": 1, "path": "/a b"},
        {"port": 1, "path": 5},
        {"port": 1, "scheme": "FTP"},
        {"port": 1, "scheme": 1},
        {"port": 1, "host": ""},
        {"port": 1, "host": "a b"},
        {"port": 1, "host": "http://x"},
        {"port": 1, "httpHeaders": {"A": "b"}},
        {"port": 1, "httpHeaders": ["A: b"]},
        {"port": 1, "httpHeaders": [{"name": "", "value": "b"}]},
        {"port": 1, "httpHeaders": [{"name": "A B", "value": "b"}]},
        {"port": 1, "httpHeaders": [{"name": "A", "value": "b\r\nX: y"}]},
        {"port": 1, "httpHeaders": [{"name": "A", "value": 1}]},
        "port 1",
        None,
    ],
)
def test_invalid_http_get(http_get: object) -> None:
    with pytest.raises(Invalid) as info:
        validate_probe({"httpGet": http_get})
    assert info.value.field == "healthcheck"


@pytest.mark.parametrize(
    "exec_",
    [{}, {"command": []}, {"command": "cat /ok"}, {"command": ["cat", 1]}, {"command": [""]}],
)
def test_invalid_exec(exec_: object) -> None:
    with pytest.raises(Invalid, match="exec command"):
        validate_probe({"exec": exec_})


@pytest.mark.parametrize(
    ("field", "least"),
    [
        ("initialDelaySeconds", 0),
        ("periodSeconds", 1),
        ("timeoutSeconds", 1),
        ("failureThreshold", 1),
        ("successThreshold", 1),
        ("terminationGracePeriodSeconds", 1),
    ],
)
def test_integer_minimums(field: str, least: int) -> None:
    assert validate_probe({"tcpSocket": {"port": 1}, field: least})[field] == least
    with pytest.raises(Invalid, match=f"{field} must be at least {least}"):
        validate_probe({"tcpSocket": {"port": 1}, field: least - 1})


@pytest.mark.parametrize("value", ["10", 1.0, True, None, [1]])
def test_integer_fields_must_be_whole_numbers(value: object) -> None:
    with pytest.raises(Invalid, match="periodSeconds must be a whole number"):
        validate_probe({"tcpSocket": {"port": 1}, "periodSeconds": value})


def test_integer_fields_have_an_upper_bound() -> None:
    with pytest.raises(Invalid, match="at most"):
        validate_probe({"tcpSocket": {"port": 1}, "periodSeconds": 2**31})


def test_liveness_success_threshold_must_be_one() -> None:
    probe = {"tcpSocket": {"port": 1}, "successThreshold": 2}
    assert validate_probe(probe)["successThreshold"] == 2
    assert validate_probe(probe, kind="readinessProbe")["successThreshold"] == 2
    with pytest.raises(Invalid, match="successThreshold must be 1"):
        validate_probe(probe, kind="livenessProbe")


def test_readiness_probe_cannot_have_termination_grace_period() -> None:
    probe = {"tcpSocket": {"port": 1}, "terminationGracePeriodSeconds": 10}
    assert validate_probe(probe, kind="livenessProbe")["terminationGracePeriodSeconds"] == 10
    with pytest.raises(Invalid, match="terminationGracePeriodSeconds"):
        validate_probe(probe, kind="readinessProbe")


def test_termination_grace_period_has_no_default() -> None:
    assert "terminationGracePeriodSeconds" not in validate_probe({"tcpSocket": {"port": 1}})


@pytest.mark.parametrize("probe", [None, "httpGet", ["httpGet"], 5, {1: "x"}])
def test_probe_must_be_an_object(probe: object) -> None:
    with pytest.raises(Invalid) as info:
        validate_probe(probe)
    assert info.value.field == "healthcheck"


def test_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        validate_probe({"tcpSocket": {"port": 1}}, kind="startupProbe")
