"""Scheduled jobs (`deis cron`): kept in the app's config, so each change is a release and
a rollback brings back the jobs of the release rolled back to; run like `deis run`, in the
current release's image with its config.

The platform's scheduler (deis.platform.cron) asks `due` which jobs fire in a span of time
and runs each with `execute`; the API starts one now through `ctx.cron_runner`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from deis.domain import cron as rules
from deis.domain.errors import Conflict, Invalid, NotFound, Unavailable
from deis.domain.records import App, Config, User
from deis.domain.releases import Released
from deis.ports import UnitOfWork
from deis.services import deploys
from deis.services.access import app_for
from deis.services.context import Context
from deis.services.current import current
from deis.services.followups import follow_up
from deis.services.releases import new_release

SCHEDULE = "schedule"
MANUAL = "manual"
PAGE = 500


@dataclass(frozen=True)
class JobView:
    """A job as `deis cron` shows it: its definition, next run and last run."""

    job: rules.Job
    next_run: datetime | None  # None while suspended
    last: rules.Run | None


def list_jobs(ctx: Context, actor: User, app_id: str) -> list[JobView]:
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id)
        config = current(uow, app.id)[2]
        last = uow.cron_runs.last(app.id)
    now = ctx.clock()
    return [
        JobView(
            job,
            None
            if job.suspended
            else rules.next_run(rules.parse_schedule(job.schedule), now, job.tz),
            last.get(job.name),
        )
        for job in rules.jobs_of(config.cron)
    ]


def _change(
    ctx: Context,
    actor: User,
    app_id: str,
    change: Callable[[list[rules.Job]], tuple[list[rules.Job], str]],
) -> list[rules.Job]:
    """Apply `change` (jobs -> new jobs, what was done) to the current config as a new
    config and release, deployed like any config change."""
    with ctx.store.transaction(write=True) as uow:
        app = app_for(uow, actor, app_id, lock=True)
        _, build, old = current(uow, app.id)
        jobs, done = change(rules.jobs_of(old.cron))
        config = config_with_jobs(ctx, uow, actor, old, jobs)
        summary = f"{actor.username} {done}"
        new_release(ctx, uow, app, actor, build=build, config=config, summary=summary)
    follow_up(ctx, Released(app.id, summary, deploy=build is not None))
    return jobs


def config_with_jobs(
    ctx: Context, uow: UnitOfWork, actor: User, old: Config, jobs: list[rules.Job]
) -> Config:
    """A new config: `old` with these jobs, added in the caller's transaction."""
    now = ctx.clock()
    config = replace(
        old,
        uuid=ctx.make_uuid(),
        owner=actor.username,
        created=now,
        updated=now,
        cron=rules.as_config(jobs),
    )
    uow.configs.add(config)
    return config


def _find(jobs: list[rules.Job], name: str) -> rules.Job:
    for job in jobs:
        if job.name == name:
            return job
    raise NotFound(f"No cron job named {name}.")


def add_job(ctx: Context, actor: User, app_id: str, fields: dict[str, Any]) -> rules.Job:
    """A new job (Invalid names the field; a name taken is refused on "name")."""
    job = rules.job(
        fields.get("name"),
        fields.get("schedule"),
        fields.get("command"),
        tz=fields.get("tz") or "UTC",
        timeout=fields.get("timeout"),
        memory=fields.get("memory"),
    )

    def add(jobs: list[rules.Job]) -> tuple[list[rules.Job], str]:
        if any(existing.name == job.name for existing in jobs):
            raise Invalid(f"A cron job named {job.name} exists already.", field="name")
        return [*jobs, job], f"added cron job {job.name}"

    _change(ctx, actor, app_id, add)
    return job


def remove_job(ctx: Context, actor: User, app_id: str, name: str) -> None:
    def remove(jobs: list[rules.Job]) -> tuple[list[rules.Job], str]:
        _find(jobs, name)
        return [j for j in jobs if j.name != name], f"removed cron job {name}"

    _change(ctx, actor, app_id, remove)


def set_suspended(ctx: Context, actor: User, app_id: str, name: str, value: bool) -> rules.Job:
    changed: list[rules.Job] = []

    def switch(jobs: list[rules.Job]) -> tuple[list[rules.Job], str]:
        job = _find(jobs, name)
        if job.suspended == value:
            state = "suspended" if value else "active"
            raise Conflict(f"The cron job {name} is {state} already.")
        changed.append(rules.suspended(job, value))
        verb = "suspended" if value else "resumed"
        return [changed[0] if j.name == name else j for j in jobs], f"{verb} cron job {name}"

    _change(ctx, actor, app_id, switch)
    return changed[0]


def run_now(ctx: Context, actor: User, app_id: str, name: str) -> rules.Job:
    """Start a job once, now, in the background (its output goes to `deis logs`)."""
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id)
        release, build, config = current(uow, app.id)
    job = _find(rules.jobs_of(config.cron), name)
    if build is None:
        raise Conflict("No build associated with this release to run the job; push code first.")
    if ctx.cron_runner is None:
        raise Unavailable("This platform process runs no scheduled jobs.")
    if not ctx.cron_runner.start(app.id, job, MANUAL):
        raise Conflict(f"The cron job {name} is running; it runs once at a time.")
    ctx.logs.write(app.id, f"cron.{name}", f"{actor.username} started it ({job.command})")
    return job


# --- what the scheduler asks ----------------------------------------------------------------


def due(ctx: Context, start: datetime, end: datetime) -> list[tuple[str, rules.Job]]:
    """(app, job) for every job of every app's current release that fires in (start, end]."""
    found: list[tuple[str, rules.Job]] = []
    offset = 0
    while True:
        with ctx.store.transaction() as uow:
            apps, total = uow.apps.list(offset, PAGE)
            configs = [(app, _current_config(uow, app)) for app in apps]
        for app, config in configs:
            if config is None:
                continue
            for job in rules.jobs_of(config.cron):
                if job.suspended:
                    continue
                schedule = rules.parse_schedule(job.schedule)
                if rules.due_between(schedule, start, end, job.tz):
                    found.append((app.id, job))
        offset += PAGE
        if offset >= total:
            return found


def _current_config(uow: UnitOfWork, app: App) -> Config | None:
    try:
        return current(uow, app.id)[2]
    except NotFound:
        return None


def execute(ctx: Context, app_id: str, job: rules.Job, trigger: str) -> rules.Run:
    """Run the job to its end in the current release (blocking); its output and how it
    ended go to the app's log as `cron.NAME`, and it becomes the job's last run."""
    source = f"cron.{job.name}"
    started = ctx.clock()
    _record(ctx, rules.Run(app_id, job.name, started, trigger))
    ctx.logs.write(app_id, source, f"started ({trigger}): {job.command}")
    try:
        desired = deploys.desired_for(ctx, app_id)
        deploys.require_build(desired, "run the job")
        if job.memory:
            desired = replace(desired, memory={**desired.memory, "run": job.memory})
        result = ctx.runtime.run(desired, job.command, timeout=job.timeout)
        code, output = result.exit_code, result.output
    except (Unavailable, Conflict, NotFound) as exc:
        code, output = -1, f"could not start: {exc.message}\n"
    for line in output.splitlines():
        ctx.logs.write(app_id, source, line, by_app=code != -1)
    finished = ctx.clock()
    run = rules.Run(app_id, job.name, started, trigger, finished, code)
    _record(ctx, run)
    seconds = run.duration or 0.0
    ended = "timed out" if code == 124 else f"exited {code}"
    ctx.logs.write(app_id, source, f"{ended} after {seconds:.1f} s")
    return run


def skipped(ctx: Context, app_id: str, job: rules.Job) -> None:
    ctx.logs.write(
        app_id,
        f"cron.{job.name}",
        "skipped: the previous run is still going (a job never runs twice at once)",
    )


def _record(ctx: Context, run: rules.Run) -> None:
    try:
        with ctx.store.transaction(write=True) as uow:
            if uow.apps.get(run.app) is not None:  # the app may be gone meanwhile
                uow.cron_runs.record(run)
    except NotFound:
        pass
