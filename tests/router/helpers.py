"""Test helpers for the router: free ports, backends (HTTP servers in threads of this
process), certificates, and curl. Everything a test starts, it stops."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NGINX = "/usr/sbin/nginx"
LUA_MODULE = Path("/usr/lib/nginx/modules/ngx_http_lua_module.so")
RESTY_CORE = Path("/usr/share/lua/5.1/resty/core.lua")


def missing_nginx() -> str | None:
    """Why the e2e tests cannot run here, or None."""
    if not Path(NGINX).exists():
        return "nginx is not installed (apt-get install nginx)"
    if not LUA_MODULE.exists():
        return "nginx's Lua module is not installed (apt-get install libnginx-mod-http-lua)"
    if not RESTY_CORE.exists():
        return "lua-resty-core is not installed (apt-get install lua-resty-core)"
    if shutil.which("curl") is None:
        return "curl is not installed"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _describe(self, extra: dict[str, object] | None = None) -> dict[str, object]:
        return {
            "backend": self.server.name,
            "path": self.path,
            "method": self.command,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            **(extra or {}),
        }

    def do_GET(self) -> None:
        self.server.hits += 1
        self.server.client_ports.add(self.client_address[1])
        if self.headers.get("Upgrade", "").lower() == "websocket":
            return self._websocket()
        if self.path.startswith("/sleep/"):
            time.sleep(float(self.path.split("/")[2]))
        self._answer(200, self._describe())

    def do_POST(self) -> None:
        self.server.hits += 1
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self._answer(200, self._describe({"received": len(body)}))

    def _websocket(self) -> None:
        key = self.headers["Sec-WebSocket-Key"]
        accept = base64.b64encode(
            hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
        ).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        data = self.rfile.read1(65536)  # echo the first frame as it came
        self.wfile.write(data)
        self.wfile.flush()
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    name = ""
    hits = 0
    client_ports: set[int]


@dataclass
class Backend:
    """An HTTP server on 127.0.0.1 in a thread of the test process."""

    name: str
    server: _Server
    thread: threading.Thread

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    @classmethod
    def start(cls, name: str) -> Backend:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.name = name
        server.client_ports = set()
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        return cls(name, server, thread)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def make_cert(*names: str, days: int = 30) -> tuple[str, str]:
    """A self-signed certificate for `names` (the first is the CN) and its key, PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


@dataclass
class CurlResult:
    status: int
    body: str
    headers: dict[str, str]
    returncode: int
    stderr: str

    def json(self) -> dict[str, object]:
        return dict(json.loads(self.body))


def curl(url: str, *args: str, timeout: float = 15) -> CurlResult:
    """curl (no proxy), answering status, body and the response headers."""
    done = subprocess.run(  # noqa: S603 - an argument list, never a shell
        [
            "curl",
            "-sS",
            "--noproxy",
            "*",
            "--max-time",
            str(timeout - 2),
            "-D",
            "-",
            "-o",
            "-",
            *args,
            url,
        ],
        capture_output=True,
        timeout=timeout,
        check=False,
        env={
            **os.environ,
            "http_proxy": "",
            "https_proxy": "",
            "HTTP_PROXY": "",
            "HTTPS_PROXY": "",
        },
    )
    out = done.stdout.decode("utf-8", "replace")  # bytes: keep the \r\n of the headers
    status, body = 0, out
    headers: dict[str, str] = {}
    # -D - then -o -: header blocks (maybe several: 100-continue) then the body
    while out.startswith("HTTP/"):
        head, _, out = out.partition("\r\n\r\n")
        lines = head.split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        body = out
    return CurlResult(status, body, headers, done.returncode, done.stderr.decode())
