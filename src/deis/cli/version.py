"""version: the client's version, and with --all the controller's API version."""

from __future__ import annotations

import click

from deis import API_VERSION, __version__
from deis.cli.context import output_option, session
from deis.cli.output import echo, print_json
from deis.cli.topic import Topic


def format_versions(controller_api: str) -> str:
    return (
        f"Workflow CLI Version:            {__version__}\n"
        f"Workflow CLI API Version:        {API_VERSION}\n"
        f"Workflow Controller API Version: {controller_api}\n"
    )


@click.command("version", short_help="display client version")
@click.option(
    "-a", "--all", "show_all", is_flag=True, help="Also ask the controller for its API version."
)
@output_option
def version(show_all: bool, output: str) -> None:
    """Displays the client version; with --all, the API versions of client and controller.

    \b
    Examples:
      deis version
      deis version --all
      deis version -a -o json
    """
    data: dict[str, str] = {"client": __version__, "api": API_VERSION}
    if show_all:
        s = session()
        response = s.api.request("GET", "/v2/auth/whoami")
        data["controller_api"] = response.headers.get("DEIS_API_VERSION", "unknown")
        data["controller_platform"] = response.headers.get("DEIS_PLATFORM_VERSION", "unknown")
    if output == "json":
        print_json(data)
    elif show_all:
        echo(format_versions(data["controller_api"]), nl=False)
    else:
        echo(__version__)


TOPIC = Topic("version", "display client version", (version,), default="version")
