"""Plain records of the platform's state. No I/O; the store maps them to rows.

Timestamps are timezone-aware UTC datetimes. Identifiers of records are uuid strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

JSON = Any


@dataclass(frozen=True)
class User:
    id: int
    username: str
    email: str
    first_name: str
    last_name: str
    is_superuser: bool
    is_staff: bool
    is_active: bool
    date_joined: datetime
    last_login: datetime | None
    password_hash: str = field(repr=False, default="")


@dataclass(frozen=True)
class App:
    uuid: str
    id: str
    owner: str  # username
    structure: dict[str, int]
    created: datetime
    updated: datetime


@dataclass(frozen=True)
class Build:
    uuid: str
    app: str
    owner: str
    image: str
    sha: str
    procfile: dict[str, str]
    dockerfile: str
    created: datetime
    updated: datetime


@dataclass(frozen=True)
class Config:
    uuid: str
    app: str
    owner: str
    values: dict[str, str]
    memory: dict[str, str]
    cpu: dict[str, str]
    tags: dict[str, str]
    registry: dict[str, str]
    healthcheck: dict[str, dict[str, JSON]]
    created: datetime
    updated: datetime
    # scheduled jobs (deis.domain.cron): part of the config, so of every release
    cron: dict[str, dict[str, JSON]] = field(default_factory=dict)


@dataclass(frozen=True)
class Release:
    uuid: str
    app: str
    owner: str
    version: int
    build: str | None  # Build uuid
    config: str  # Config uuid
    summary: str
    failed: bool
    created: datetime
    updated: datetime
    failure: str = ""  # why its deploy failed (a crashed replica's last output, say)


@dataclass(frozen=True)
class Key:
    uuid: str
    id: str
    owner: str
    public: str
    fingerprint: str  # MD5, colon-separated hex, as Deis shows it
    fingerprint_sha256: str  # "SHA256:<base64>", as OpenSSH shows it
    created: datetime
    updated: datetime


@dataclass(frozen=True)
class Domain:
    uuid: str
    app: str
    owner: str
    domain: str
    created: datetime
    updated: datetime


@dataclass(frozen=True)
class Certificate:
    uuid: str
    name: str
    owner: str
    certificate: str = field(repr=False)
    key: str = field(repr=False)
    common_name: str
    san: list[str]
    fingerprint: str
    expires: datetime
    starts: datetime
    issuer: str
    subject: str
    domains: list[str]
    created: datetime
    updated: datetime


@dataclass(frozen=True)
class AppSettings:
    uuid: str
    app: str
    owner: str
    maintenance: bool
    routable: bool
    whitelist: list[str]
    autoscale: dict[str, dict[str, int]]
    label: dict[str, str]
    created: datetime
    updated: datetime


@dataclass(frozen=True)
class TLS:
    uuid: str
    app: str
    owner: str
    https_enforced: bool
    created: datetime
    updated: datetime
