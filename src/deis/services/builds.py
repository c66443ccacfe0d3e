"""Builds: what the builder made from a push, or an image deployed with `deis pull`."""

from __future__ import annotations

from dataclasses import replace

from deis.domain import cron as cron_rules
from deis.domain import formation
from deis.domain import releases as summaries
from deis.domain.attempts import BuildAttempt, id_prefix, matching
from deis.domain.errors import NotFound, Unavailable
from deis.domain.images import check_image_use, validate_image
from deis.domain.procfile import validate_procfile
from deis.domain.records import Build, Release, User
from deis.domain.releases import Released
from deis.ports import BuildOutputs, UnitOfWork
from deis.services import cron
from deis.services.access import app_for
from deis.services.context import Context
from deis.services.current import current
from deis.services.followups import follow_up
from deis.services.releases import new_release


def list_builds(
    ctx: Context, actor: User, app_id: str, offset: int, limit: int
) -> tuple[list[Build], int]:
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id)
        return uow.builds.list(app.id, offset, limit)


def get_build(ctx: Context, actor: User, app_id: str, build_uuid: str) -> Build:
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id)
        build = uow.builds.get(app.id, build_uuid)
        if build is None:
            raise NotFound(f"Build {build_uuid} of {app_id} not found.")
        return build


def record_build(
    ctx: Context,
    uow: UnitOfWork,
    actor: User,
    app_id: str,
    *,
    image: str,
    sha: str = "",
    procfile: dict[str, str] | None = None,
    dockerfile: str = "",
    uuid: str | None = None,
    app_json_cron: list[cron_rules.Job] | None = None,
) -> tuple[Build, Release]:
    """A Build and the release it makes, in the caller's write transaction. `uuid`: the
    builder's attempt id, so that the build's output is found by the build's uuid.
    app_json_cron: the jobs the pushed app.json declares (a push): they replace the jobs
    an earlier app.json declared, in the release's config."""
    app = app_for(uow, actor, app_id, lock=True)
    _, _, config = current(uow, app.id)
    now = ctx.clock()
    if app_json_cron is not None:
        jobs = cron_rules.with_app_json(cron_rules.jobs_of(config.cron), app_json_cron)
        if cron_rules.as_config(jobs) != config.cron:
            config = cron.config_with_jobs(ctx, uow, actor, config, jobs)
    build = Build(
        uuid=uuid or ctx.make_uuid(),
        app=app.id,
        owner=actor.username,
        image=image,
        sha=sha,
        procfile=procfile or {},
        dockerfile=dockerfile,
        created=now,
        updated=now,
    )
    uow.builds.add(build)
    structure = formation.default_structure(app.structure, build)
    if structure != app.structure:
        app = replace(app, structure=structure, updated=now)
        uow.apps.update(app)
    summary = summaries.deploy_summary(actor.username, build)
    release = new_release(ctx, uow, app, actor, build=build, config=config, summary=summary)
    return build, release


def create_from_image(
    ctx: Context, actor: User, app_id: str, image: object, procfile: object = None
) -> Build:
    """`deis pull IMAGE`: a build from an existing image, released and deployed.

    The image is pulled first, with the app's `deis registry:set` credentials: an image
    that cannot be pulled makes no build and no release."""
    image = validate_image(image)
    procfile_dict = validate_procfile(procfile) if procfile else {}
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id)
        check_image_use(
            image,
            app.id,
            ctx.registry_hosts,
            lambda name: uow.apps.get(name) is not None,
            admin=actor.is_superuser,
        )
        _, _, config = current(uow, app.id)
    if ctx.artifacts is not None:
        ctx.artifacts.fetch_image(image, dict(config.registry))
    with ctx.store.transaction(write=True) as uow:
        build, release = record_build(ctx, uow, actor, app_id, image=image, procfile=procfile_dict)
    follow_up(ctx, Released(build.app, release.summary, deploy=True))
    return build


def _outputs(ctx: Context) -> BuildOutputs:
    if ctx.build_outputs is None:
        raise Unavailable("This platform keeps no build output.")
    return ctx.build_outputs


def list_attempts(
    ctx: Context, actor: User, app_id: str, offset: int, limit: int
) -> tuple[list[BuildAttempt], int]:
    """Extension: every push the builder handled, built or not, newest first."""
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id)
    found = _outputs(ctx).list(app.id)
    return found[offset : offset + limit], len(found)


def get_attempt(ctx: Context, actor: User, app_id: str, build_id: str) -> BuildAttempt:
    """Extension: one attempt, by its uuid or the first 8 characters of it."""
    prefix = id_prefix(build_id)
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id)
    outputs = _outputs(ctx)
    found = outputs.get(app.id, prefix) or matching(outputs.list(app.id), prefix)
    if found is None:
        raise NotFound(f"No build {build_id} of {app.id} is kept (the last ones are).")
    return found


def attempt_output(ctx: Context, actor: User, app_id: str, build_id: str) -> str:
    """Extension: what the build printed, as `git push` showed it."""
    attempt = get_attempt(ctx, actor, app_id, build_id)
    return _outputs(ctx).output(attempt.app, attempt.uuid)
