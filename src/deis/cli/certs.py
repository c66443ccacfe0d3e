"""certs:list, certs:add, certs:remove, certs:info, certs:attach, certs:detach."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from deis.cli.context import limit_option, output_option, session
from deis.cli.errors import CLIError
from deis.cli.output import (
    echo,
    emit,
    expires_text,
    heading,
    print_json,
    short_date,
    short_fingerprint,
    table,
    waiting,
)
from deis.cli.topic import Topic

CERT_HEADERS = (
    "Name",
    "Common Name",
    "SubjectAltName",
    "Expires",
    "Fingerprint",
    "Domains",
    "Updated",
    "Created",
)

# --- pure ---------------------------------------------------------------------------------


def joined(values: Any) -> str:
    return ",".join(str(value) for value in values or [])


def format_certs(certs: list[dict[str, Any]], now: datetime) -> str:
    if not certs:
        return "No certs\n"
    rows = [
        (
            str(cert.get("name", "")) + (" (auto)" if cert.get("automatic") else ""),
            cert.get("common_name", ""),
            joined(cert.get("san")),
            expires_text(cert.get("expires"), now),
            short_fingerprint(str(cert.get("fingerprint", ""))),
            joined(cert.get("domains")),
            short_date(cert.get("updated")),
            short_date(cert.get("created")),
        )
        for cert in certs
    ]
    return table(rows, CERT_HEADERS)


def format_cert(cert: dict[str, Any]) -> str:
    rows = [
        ("Common Name(s):", cert.get("common_name", "")),
        ("Expires At:", short_date(cert.get("expires"))),
        ("Starts At:", short_date(cert.get("starts"))),
        ("Fingerprint:", cert.get("fingerprint", "")),
        ("Subject Alt Name:", joined(cert.get("san")) or "N/A"),
        ("Issuer:", cert.get("issuer", "")),
        ("Subject:", cert.get("subject", "")),
        None,
        ("Connected Domains:", joined(cert.get("domains")) or "No connected domains"),
        ("Owner:", cert.get("owner", "")),
        ("Created:", short_date(cert.get("created"))),
        ("Updated:", short_date(cert.get("updated"))),
    ]
    lines = [heading(f"{cert.get('name', '')} Certificate")]
    lines += ["" if row is None else f"{row[0].ljust(18)} {row[1]}" for row in rows]
    return "\n".join(lines) + "\n"


def read_pem(path: str, what: str) -> str:
    try:
        return Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise CLIError(f"Could not read the {what} {path}: {exc.strerror}") from None


# --- commands --------------------------------------------------------------------------------


@click.command("certs:list", short_help="list SSL certificates for an app")
@limit_option
@output_option
def list_certs(limit: int | None, output: str) -> None:
    """Shows certificate information for the SSL certificates on the platform.

    \b
    Examples:
      deis certs:list
      deis certs -o json
    """
    s = session()
    certs, _ = s.api.get_list("/v2/certs", limit)
    if output == "json":
        print_json(certs)
    else:
        emit(format_certs(certs, datetime.now(UTC)))


@click.command("certs:add", short_help="add an SSL certificate to an app")
@click.argument("name")
@click.argument("cert", metavar="CERT")
@click.argument("key", metavar="KEY")
def add(name: str, cert: str, key: str) -> None:
    """Binds a certificate/key pair under NAME; attach it to domains with certs:attach.

    CERT is a file with the PEM certificate (chain); KEY a file with its private key.

    \b
    Examples:
      deis certs:add www-example-com server.crt server.key
    """
    body = {"name": name, "certificate": read_pem(cert, "certificate"), "key": read_pem(key, "key")}
    s = session()
    with waiting("Adding SSL endpoint..."):
        s.api.post("/v2/certs", body)
    echo("Adding SSL endpoint... done")


@click.command("certs:remove", short_help="remove an SSL certificate from an app")
@click.argument("name")
def remove(name: str) -> None:
    """Removes a certificate/key pair.

    \b
    Examples:
      deis certs:remove www-example-com
    """
    s = session()
    with waiting(f"Removing {name}..."):
        s.api.delete(f"/v2/certs/{name}")
    echo(f"Removing {name}... done")


@click.command("certs:info", short_help="get detailed informaton about the certificate")
@click.argument("name")
@output_option
def info(name: str, output: str) -> None:
    """Fetches detailed information about a certificate.

    \b
    Examples:
      deis certs:info www-example-com
      deis certs:info www-example-com -o json
    """
    s = session()
    cert = s.api.get(f"/v2/certs/{name}")
    if output == "json":
        print_json(cert)
    else:
        emit(format_cert(cert))


@click.command("certs:attach", short_help="attach an SSL certificate to a domain")
@click.argument("name")
@click.argument("domain")
def attach(name: str, domain: str) -> None:
    """Attaches a certificate to a domain (the domain must already be bound to an app).

    \b
    Examples:
      deis certs:attach www-example-com www.example.com
    """
    s = session()
    with waiting(f"Attaching certificate {name} to domain {domain}..."):
        s.api.post(f"/v2/certs/{name}/domain/", {"domain": domain})
    echo(f"Attaching certificate {name} to domain {domain}... done")


@click.command("certs:detach", short_help="detach an SSL certificate from a domain")
@click.argument("name")
@click.argument("domain")
def detach(name: str, domain: str) -> None:
    """Detaches a certificate from a domain.

    \b
    Examples:
      deis certs:detach www-example-com www.example.com
    """
    s = session()
    with waiting(f"Detaching certificate {name} from domain {domain}..."):
        s.api.delete(f"/v2/certs/{name}/domain/{domain}")
    echo(f"Detaching certificate {name} from domain {domain}... done")


TOPIC = Topic(
    "certs",
    "manage SSL endpoints for an app",
    (list_certs, add, remove, info, attach, detach),
    default="certs:list",
)
