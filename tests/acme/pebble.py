"""A real ACME server for the tests: Debian's pebble (Let's Encrypt's RFC 8555 test
server) on free 127.0.0.1 ports, with a CA and a certificate for its HTTPS made here with
openssl, and a small DNS server (dnslib, UDP and TCP) that resolves the test domains to
127.0.0.1 so that pebble's HTTP-01 validation really reaches the router. No
PEBBLE_VA_ALWAYS_VALID: every challenge is fetched from `httpPort`.

Everything started here is stopped by `stop()`, by pid."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dnslib import QTYPE, RR, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from tests.router.helpers import free_port

PEBBLE = "/usr/bin/pebble"


def missing_pebble() -> str | None:
    if not Path(PEBBLE).exists():
        return "pebble is not installed (apt-get install --no-install-recommends pebble)"
    if shutil.which("openssl") is None:
        return "openssl is not installed"
    return None


class _Resolver(BaseResolver):  # type: ignore[misc]
    """A 127.0.0.1 for every name asked (the test domains); AAAA and others: empty
    NOERROR, so that pebble falls back to IPv4."""

    def resolve(self, request: Any, handler: Any) -> Any:
        reply = request.reply()
        q = request.q
        if q.qtype == QTYPE.A:
            reply.add_answer(RR(q.qname, QTYPE.A, rdata=A("127.0.0.1"), ttl=5))
        return reply


def free_udp_tcp_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free UDP+TCP port")


class DNS:
    def __init__(self) -> None:
        self.port = free_udp_tcp_port()
        resolver = _Resolver()
        quiet = DNSLogger(log="-request,-reply,-truncated,-data", logf=lambda _: None)
        self.udp = DNSServer(resolver, port=self.port, address="127.0.0.1", logger=quiet)
        self.tcp = DNSServer(resolver, port=self.port, address="127.0.0.1", tcp=True, logger=quiet)

    def start(self) -> DNS:
        self.udp.start_thread()
        self.tcp.start_thread()
        return self

    def stop(self) -> None:
        for server in (self.udp, self.tcp):
            server.stop()
            server.server.server_close()


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)  # noqa: S603 - an argument list, never a shell


def make_ca_and_cert(directory: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate it signed for 127.0.0.1 and localhost: (ca, cert, key)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca = directory / "ca.key", directory / "ca.pem"
    key, csr, cert = directory / "cert.key", directory / "cert.csr", directory / "cert.pem"
    ext = directory / "ext.cnf"
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-days", "2", "-subj", "/CN=deis test pebble CA", "-keyout", str(ca_key),
             "-out", str(ca))  # fmt: skip
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(csr))  # fmt: skip
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
             "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(cert))  # fmt: skip
    return ca, cert, key


@dataclass
class Pebble:
    """One pebble process: `directory` is the ACME directory URL, `ca` verifies its HTTPS."""

    workdir: Path
    http_port: int  # where pebble validates HTTP-01: the router's HTTP port
    dns_port: int
    validity: int | None = None  # seconds of each certificate (pebble's default: 5 years)
    eab_keys: dict[str, str] | None = None  # {key id: base64url HMAC key}: binding required
    port: int = field(default_factory=free_port)
    management_port: int = field(default_factory=free_port)
    ca: Path = Path()
    proc: subprocess.Popen[bytes] | None = None

    @property
    def directory(self) -> str:
        return f"https://127.0.0.1:{self.port}/dir"

    def start(self) -> Pebble:
        ca, cert, key = make_ca_and_cert(self.workdir / "tls")
        self.ca = ca
        config: dict[str, Any] = {
            "listenAddress": f"127.0.0.1:{self.port}",
            "managementListenAddress": f"127.0.0.1:{self.management_port}",
            "certificate": str(cert),
            "privateKey": str(key),
            "httpPort": self.http_port,
            "tlsPort": free_port(),  # TLS-ALPN-01 is not used: nothing listens there
            "ocspResponderURL": "",
            "externalAccountBindingRequired": self.eab_keys is not None,
        }
        if self.eab_keys is not None:
            config["externalAccountMACKeys"] = self.eab_keys
        if self.validity is not None:
            config["certificateValidityPeriod"] = self.validity
        path = self.workdir / "pebble.json"
        path.write_text(json.dumps({"pebble": config}))
        env = {
            **os.environ,
            "PEBBLE_VA_NOSLEEP": "1",
            "PEBBLE_WFE_NONCEREJECT": "0",
        }
        env.pop("PEBBLE_VA_ALWAYS_VALID", None)
        self.log = self.workdir / "pebble.log"
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - an argument list, never a shell
                [PEBBLE, "-config", str(path), "-dnsserver", f"127.0.0.1:{self.dns_port}"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + 20
        while True:
            try:
                self.get(f"{self.directory}")
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"pebble did not start: {self.log.read_text()}") from None
                time.sleep(0.05)

    def get(self, url: str) -> bytes:
        context = ssl.create_default_context(cafile=str(self.ca))
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
        )
        with opener.open(url, timeout=5) as response:
            return bytes(response.read())

    def root(self) -> str:
        """The root that issues this run's certificates (a new one at every start)."""
        return self.get(f"https://127.0.0.1:{self.management_port}/roots/0").decode()

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
