"""Records as the JSON the Deis client reads (rendered by deis.api.responses)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from deis.domain import cron
from deis.domain.attempts import BuildAttempt
from deis.domain.desired import Pod
from deis.domain.records import (
    TLS,
    App,
    AppSettings,
    Build,
    Certificate,
    Config,
    Domain,
    Key,
    Release,
    User,
)
from deis.services.sleep import SleepView


def timestamp(value: datetime | None) -> datetime | None:
    """A time for the body, in UTC: deis.api.responses writes it `2026-11-27T10:42:00Z`
    (to the second). The store gives UTC datetimes already, so this rarely converts."""
    if value is None or value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def user(u: User) -> dict[str, Any]:
    return {
        "id": u.id,
        "username": u.username,
        "email": u.email,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "is_superuser": u.is_superuser,
        "is_staff": u.is_staff,
        "is_active": u.is_active,
        "date_joined": timestamp(u.date_joined),
        "last_login": timestamp(u.last_login),
    }


def app(a: App, url: str) -> dict[str, Any]:
    return {
        "uuid": a.uuid,
        "id": a.id,
        "owner": a.owner,
        "structure": a.structure,
        "url": url,
        "created": timestamp(a.created),
        "updated": timestamp(a.updated),
    }


def build(b: Build) -> dict[str, Any]:
    return {
        "uuid": b.uuid,
        "app": b.app,
        "owner": b.owner,
        "image": b.image,
        "sha": b.sha,
        "procfile": b.procfile,
        "dockerfile": b.dockerfile,
        "created": timestamp(b.created),
        "updated": timestamp(b.updated),
    }


def attempt(a: BuildAttempt) -> dict[str, Any]:
    return {
        "uuid": a.uuid,
        "app": a.app,
        "owner": a.owner,
        "sha": a.sha,
        "status": a.status,
        "started": timestamp(a.started),
        "finished": timestamp(a.finished),
        "reason": a.reason,
        "version": a.version,
    }


def config(c: Config) -> dict[str, Any]:
    return {
        "uuid": c.uuid,
        "app": c.app,
        "owner": c.owner,
        "values": c.values,
        "memory": c.memory,
        "cpu": c.cpu,
        "tags": c.tags,
        "registry": c.registry,
        "healthcheck": c.healthcheck,
        "created": timestamp(c.created),
        "updated": timestamp(c.updated),
    }


def release(r: Release) -> dict[str, Any]:
    return {
        "uuid": r.uuid,
        "app": r.app,
        "owner": r.owner,
        "version": r.version,
        "build": r.build,
        "config": r.config,
        "summary": r.summary,
        "failed": r.failed,
        "failure": r.failure,  # ext: what the failed deploy said
        "created": timestamp(r.created),
        "updated": timestamp(r.updated),
    }


def key(k: Key) -> dict[str, Any]:
    return {
        "uuid": k.uuid,
        "id": k.id,
        "owner": k.owner,
        "public": k.public,
        "fingerprint": k.fingerprint,
        "created": timestamp(k.created),
        "updated": timestamp(k.updated),
    }


def domain(d: Domain) -> dict[str, Any]:
    return {
        "uuid": d.uuid,
        "app": d.app,
        "owner": d.owner,
        "domain": d.domain,
        "created": timestamp(d.created),
        "updated": timestamp(d.updated),
    }


def certificate(c: Certificate, automatic: bool = False) -> dict[str, Any]:
    return {
        "uuid": c.uuid,
        "name": c.name,
        "owner": c.owner,
        "common_name": c.common_name,
        "san": c.san,
        "fingerprint": c.fingerprint,
        "expires": timestamp(c.expires),
        "starts": timestamp(c.starts),
        "issuer": c.issuer,
        "subject": c.subject,
        "domains": c.domains,
        "created": timestamp(c.created),
        "updated": timestamp(c.updated),
        "automatic": automatic,  # kept by automatic TLS (deis tls:auto)
    }


def app_settings(s: AppSettings) -> dict[str, Any]:
    return {
        "uuid": s.uuid,
        "app": s.app,
        "owner": s.owner,
        "maintenance": s.maintenance,
        "routable": s.routable,
        "whitelist": s.whitelist,
        "autoscale": s.autoscale,
        "label": s.label,
        "created": timestamp(s.created),
        "updated": timestamp(s.updated),
    }


def tls(t: TLS) -> dict[str, Any]:
    return {
        "uuid": t.uuid,
        "app": t.app,
        "owner": t.owner,
        "https_enforced": t.https_enforced,
        "created": timestamp(t.created),
        "updated": timestamp(t.updated),
    }


def pod(p: Pod) -> dict[str, Any]:
    return {
        "name": p.name,
        "state": p.state,
        "type": p.type,
        "release": p.release,
        "started": timestamp(p.started),
        **({"detail": p.detail} if p.detail else {}),
    }


def cron_job(job: cron.Job, next_run: datetime | None, last: cron.Run | None) -> dict[str, Any]:
    return {
        "name": job.name,
        "schedule": job.schedule,
        "command": job.command,
        "tz": job.tz,
        "timeout": job.timeout,
        "memory": job.memory,
        "suspended": job.suspended,
        "source": job.source,
        "next_run": timestamp(next_run),
        "last_run": None
        if last is None
        else {
            "started": timestamp(last.started),
            "finished": timestamp(last.finished),
            "exit_code": last.exit_code,
            "duration": last.duration,
            "trigger": last.trigger,
        },
    }


def tls_auto(info: dict[str, Any]) -> dict[str, Any]:
    """deis.services.acme.info, its times as timestamps."""
    return {
        **info,
        "domains": [
            {
                **d,
                "expires": timestamp(d["expires"]),
                "last_attempt": timestamp(d["last_attempt"]),
                "next_attempt": timestamp(d["next_attempt"]),
            }
            for d in info["domains"]
        ],
    }


def sleep_view(view: SleepView) -> dict[str, Any]:
    state = view.state
    return {
        "app": state.app,
        "after": view.after,
        "default": view.default,
        "all_types": state.all_types,
        "asleep": state.asleep,
        "since": timestamp(state.since),
    }
