"""nginx.conf rendering: pure."""

from __future__ import annotations

from pathlib import Path

import pytest

from deis.router.render import ConfigError, NginxConfig, lua_source, render


def config(**changes: object) -> NginxConfig:
    values: dict[str, object] = {
        "prefix": Path("/srv/deis/router"),
        "admin_socket": Path("/srv/deis/router/run/admin.sock"),
        "temp_dir": Path("/srv/deis/router/tmp"),
        "http_port": 8080,
        "https_port": 8443,
        "platform_domain": "example.com",
        "controller_address": "127.0.0.1:8000",
    }
    values.update(changes)
    return NginxConfig(**values)  # type: ignore[arg-type]


def test_ports_addresses_and_paths() -> None:
    text = render(config(listen_addresses=("127.0.0.1", "[::1]")))
    assert "listen 127.0.0.1:8080 default_server;" in text
    assert "listen 127.0.0.1:8443 ssl http2 default_server;" in text
    assert "listen [::1]:8080 default_server;" in text
    assert "listen unix:/srv/deis/router/run/admin.sock;" in text
    assert "pid /srv/deis/router/nginx.pid;" in text
    assert "error_log /srv/deis/router/error.log notice;" in text
    assert "load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;" in text
    assert "server_name deis.example.com;" in text
    assert "server 127.0.0.1:8000 max_fails=0;" in text
    assert "https_port = 8443," in text
    assert "{{" not in text and "{%" not in text


def test_body_size_timeouts_and_user() -> None:
    text = render(
        config(
            client_max_body_size="20m",
            max_body_size="2g",
            proxy_read_timeout=90,
            proxy_send_timeout=30,
            proxy_connect_timeout=7,
            worker_user="www-data",
        )
    )
    assert "client_max_body_size 20m;" in text  # the default, checked in Lua
    assert "client_max_body_size 2g;" in text  # the ceiling, nginx's own
    assert f"body_size = {20 * 1024**2}," in text
    assert f"body_ceiling = {2 * 1024**3}," in text
    assert "proxy_read_timeout 90s;" in text
    assert "proxy_send_timeout 30s;" in text
    assert "proxy_connect_timeout 7s;" in text
    assert "read_timeout = 90," in text
    assert "user www-data;" in text
    assert "user " not in render(config()).split("worker_processes")[0]


def test_apps_are_not_in_the_configuration() -> None:
    # the file never changes with apps: nothing app-specific can be rendered into it
    assert render(config()) == render(config())
    assert "balancer_by_lua_block" in render(config())


@pytest.mark.parametrize(
    "changes",
    [
        {"http_port": 0},
        {"https_port": 8080},
        {"client_max_body_size": "1 gigabyte"},
        {"controller_address": "127.0.0.1"},
        {"controller_address": "x; evil"},
        {"platform_domain": "Bad Domain"},
        {"listen_addresses": ()},
        {"listen_addresses": ("0.0.0.0; include /etc/passwd",)},
        {"prefix": Path("/srv/with space")},
        {"proxy_read_timeout": 0},
        {"proxy_send_timeout": -1},
        {"proxy_connect_timeout": 76},
        {"client_max_body_size": "2g"},  # above the ceiling (1g)
        {"max_body_size": "0"},
    ],
)
def test_settings_nginx_could_not_take_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        render(config(**changes))


def test_the_lua_module_ships_with_the_package() -> None:
    source = lua_source()
    assert "function _M.balance()" in source
    assert "set_more_tries" in source


def test_tls_enforcement_of_the_controller_is_an_operator_setting() -> None:
    off, on = render(config()), render(config(controller_tls_enforce=True))
    assert 'require("deis_router").controller()' not in off
    assert "controller_tls_enforce = false" in off
    assert on.count('require("deis_router").controller()') == 1
    assert "controller_tls_enforce = true" in on
