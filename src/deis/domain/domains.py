"""Domain names routed to apps."""

from __future__ import annotations

import ipaddress
import re

from deis.domain._checks import require_str
from deis.domain.errors import Invalid

FIELD = "domain"
MAX_DOMAIN = 253
MAX_LABEL = 63

_LABEL_RE = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")


def _fail(message: str) -> Invalid:
    return Invalid(message, field=FIELD)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def validate_domain(value: object) -> str:
    """A host name, lower-cased and without a trailing dot.

    A wildcard "*." may be the whole first label ("*.example.com"). A single label
    ("myapp") is allowed: it stands for that name under the platform's domain.
    """
    text = require_str(value, FIELD, "Domain").strip().lower()
    if "://" in text:
        raise _fail("Give the domain name only, without http:// or https://.")
    if "/" in text:
        raise _fail("Give the domain name only, without a path.")
    if _is_ip(text):
        raise _fail("IP addresses cannot be used as domains; give a host name.")
    if ":" in text:
        raise _fail("Give the domain name only, without a port.")
    if text.endswith("."):
        text = text[:-1]
    if not text:
        raise _fail("Domain must not be empty.")
    if not text.isascii():
        raise _fail("Give an international domain name in its ASCII form (xn--...).")
    if len(text) > MAX_DOMAIN:
        raise _fail(f"Domain must be at most {MAX_DOMAIN} characters long.")
    labels = text.split(".")
    if labels[0] == "*":
        if len(labels) < 3:
            raise _fail("A wildcard domain must cover a domain's subdomains, like *.example.com.")
        labels = labels[1:]
    for label in labels:
        if "*" in label:
            raise _fail("A wildcard * may only be the whole first label, like *.example.com.")
        if "_" in label:
            raise _fail("Domain names cannot contain underscores.")
        if not label:
            raise _fail("Domain must not contain empty labels (two dots in a row).")
        if len(label) > MAX_LABEL:
            raise _fail(f"Each part of a domain must be at most {MAX_LABEL} characters long.")
        if not _LABEL_RE.fullmatch(label):
            raise _fail(
                f"{label} is not a valid part of a domain: use letters, digits and hyphens, "
                "starting and ending with a letter or digit."
            )
    if len(labels) > 1 and labels[-1].isdigit():
        raise _fail("The last part of a domain cannot be all digits.")
    return text


def resolve_host(domain: str, platform_domain: str) -> str:
    """The host a domain routes: a name without a dot lives under the platform's domain."""
    if "." in domain:
        return domain
    return f"{domain}.{platform_domain.rstrip('.')}"
