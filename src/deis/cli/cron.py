"""cron:list, cron:add, cron:remove, cron:run, cron:suspend, cron:resume (an extension)."""

from __future__ import annotations

from typing import Any

import click

from deis.cli.context import app_option, output_option, session
from deis.cli.output import echo, heading, page, print_json, waiting
from deis.cli.topic import Topic


def _when(value: object) -> str:
    return str(value).replace("T", " ").removesuffix("Z") + " UTC" if value else "-"


def _last(run: dict[str, Any] | None) -> str:
    if not run:
        return "never"
    started = _when(run.get("started"))
    if run.get("finished") is None:
        return f"{started}, running"
    code = run.get("exit_code")
    ended = "timed out" if code == 124 else f"exit {code}"
    return f"{started}, {ended} in {float(run.get('duration') or 0):.1f}s ({run.get('trigger')})"


def format_jobs(app: str, jobs: list[dict[str, Any]]) -> str:
    lines = [heading(f"{app} Cron Jobs")]
    if not jobs:
        lines.append("No jobs: `deis cron:add NAME 'SCHEDULE' -- COMMAND` adds one.")
    for job in jobs:
        zone = f" ({job.get('tz')})" if job.get("tz") not in (None, "UTC") else ""
        state = " [suspended]" if job.get("suspended") else ""
        lines.append(f"--- {job.get('name')}{state}: {job.get('schedule')}{zone}")
        lines.append(f"command:  {job.get('command')}")
        nxt = "- (suspended)" if job.get("suspended") else _when(job.get("next_run"))
        lines.append(f"next run: {nxt}")
        lines.append(f"last run: {_last(job.get('last_run'))}")
    return "\n".join(lines) + "\n"


@click.command("cron:list", short_help="list an application's scheduled jobs")
@app_option
@output_option
def list_jobs(app: str | None, output: str) -> None:
    """Lists the scheduled jobs of an application: schedule, command, next run, and the
    last run with its exit code and duration.

    \b
    Examples:
      deis cron -a myapp
      deis cron:list -o json
    """
    s = session()
    name = s.app(app)
    jobs, _ = s.api.get_list(f"/v2/apps/{name}/cron", None)
    if output == "json":
        print_json(jobs)
    else:
        page(format_jobs(name, jobs))


@click.command(
    "cron:add",
    short_help="run a command on a schedule",
    context_settings={"ignore_unknown_options": True},
)
@click.argument("job_name", metavar="NAME")
@click.argument("schedule")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("--tz", "tz", metavar="ZONE", help="The schedule's time zone (default UTC).")
@click.option("--timeout", type=click.IntRange(1), help="Seconds a run may take (default 3600).")
@click.option("--memory", metavar="SIZE", help="The run's memory limit, like 256M.")
@app_option
def add_job(
    job_name: str,
    schedule: str,
    command: tuple[str, ...],
    tz: str | None,
    timeout: int | None,
    memory: str | None,
    app: str | None,
) -> None:
    """Runs COMMAND in the app's current release on SCHEDULE (cron's five fields, or
    @hourly, @daily, @weekly, @monthly, @yearly), like `deis run`, with the app's config.
    Adding a job makes a new release.

    \b
    Examples:
      deis cron:add backup "0 3 * * *" -- python manage.py backup
      deis cron:add report @daily --tz Europe/Paris -- ./bin/report
      deis cron:add sweep "*/15 * * * *" --timeout 300 --memory 256M -- python sweep.py
    """
    s = session()
    name = s.app(app)
    # Joined with spaces, as `deis run` does: the job's shell sees what the user typed.
    body: dict[str, Any] = {"name": job_name, "schedule": schedule, "command": " ".join(command)}
    for key, value in (("tz", tz), ("timeout", timeout), ("memory", memory)):
        if value is not None:
            body[key] = value
    with waiting(f"Adding cron job {job_name} to {name}..."):
        job = s.api.post(f"/v2/apps/{name}/cron", body)
    echo(f"Adding cron job {job_name} to {name}... done")
    echo(f"next run: {_when(job.get('next_run'))}")


WHAT = {
    "remove": "Removes the scheduled job NAME (a new release).",
    "run": "Starts the scheduled job NAME once, now; its output goes to `deis logs`.",
    "suspend": "Suspends the scheduled job NAME: it keeps its place but does not run.",
    "resume": "Resumes the suspended job NAME.",
}


DOING = {"remove": "Removing", "run": "Starting", "suspend": "Suspending", "resume": "Resuming"}


def _one(action: str, verb: str, method: str = "post") -> click.Command:
    text = f"{WHAT[action]}\n\n\b\nExamples:\n  deis cron:{action} backup -a myapp\n"

    @click.command(f"cron:{action}", short_help=f"{verb} a scheduled job", help=text)
    @click.argument("job_name", metavar="NAME")
    @app_option
    def command(job_name: str, app: str | None) -> None:
        s = session()
        name = s.app(app)
        doing = f"{DOING[action]} cron job {job_name} of {name}"
        with waiting(f"{doing}..."):
            if method == "delete":
                s.api.delete(f"/v2/apps/{name}/cron/{job_name}")
            else:
                s.api.post(f"/v2/apps/{name}/cron/{job_name}/{action}", {})
        echo(f"{doing}... done")
        if action == "run":
            echo(f"Its output goes to the app's log: deis logs -a {name}")

    return command


remove_job = _one("remove", "remove", method="delete")
run_job = _one("run", "start")
suspend_job = _one("suspend", "suspend")
resume_job = _one("resume", "resume")

TOPIC = Topic(
    "cron",
    "run commands of your applications on a schedule",
    (add_job, list_jobs, remove_job, run_job, suspend_job, resume_job),
    default="cron:list",
)
