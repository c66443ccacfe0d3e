"""`deisctl kubernetes render|install`: the click group `kubernetes` (the lead adds it to
deisctl with `cli.add_command(kubernetes)`)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from deis.platform.kubernetes import install as installer
from deis.platform.kubernetes.render import (
    ROUTINGS,
    SERVICE_TYPES,
    STORAGES,
    InstallOptions,
    Manifest,
    package_version,
    render,
)

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS: list[Callable[[F], F]] = [
    click.option("--domain", required=True, help="Apps answer at APP.DOMAIN; the API at deis.DOMAIN."),
    click.option("--database-url", required=True, envvar="DEIS_DATABASE_URL",
                 help="postgresql://USER:PASSWORD@HOST:PORT/NAME (also DEIS_DATABASE_URL)."),
    click.option("--namespace", default="deis", show_default=True, help="The platform's namespace."),
    click.option("--routing", type=click.Choice(ROUTINGS), default="gateway", show_default=True,
                 help="Route apps with the Gateway API or with Ingresses."),
    click.option("--ingress-class", help="The IngressClass (default: the cluster's)."),
    click.option("--gateway-class", help="Also create the Gateway, of this GatewayClass."),
    click.option("--gateway-name", default="deis", show_default=True),
    click.option("--tls-secret", "gateway_tls_secret",
                 help="A TLS Secret in the namespace with a certificate for *.DOMAIN."),
    click.option("--cert-issuer",
                 help="Automatic TLS (deis tls:auto:enable) through cert-manager: its issuer,"
                      " NAME or ClusterIssuer/NAME, or Issuer/NAME in each app's namespace."),
    click.option("--acme-email",
                 help="Automatic TLS ordered by the controller itself (without cert-manager):"
                      " the ACME account's email."),
    click.option("--acme-directory",
                 help="With --acme-email: the CA's directory (default: Let's Encrypt)."),
    click.option("--storage", type=click.Choice(STORAGES), default="s3", show_default=True,
                 help="Where the registry keeps images: the object store, or a volume."),
    click.option("--storage-class", help="StorageClass of the registry's volume (--storage pvc)."),
    click.option("--registry-size", default="20Gi", show_default=True),
    click.option("--s3-endpoint", required=True, envvar="DEIS_S3_ENDPOINT",
                 help="The S3-compatible object store, e.g. https://s3.example.com."),
    click.option("--s3-bucket", default="deis", show_default=True),
    click.option("--s3-region", default="us-east-1", show_default=True),
    click.option("--s3-access-key", default="", envvar="AWS_ACCESS_KEY_ID"),
    click.option("--s3-secret-key", default="", envvar="AWS_SECRET_ACCESS_KEY"),
    click.option("--builder-service-type", type=click.Choice(SERVICE_TYPES),
                 default="LoadBalancer", show_default=True),
    click.option("--builder-key", envvar="DEIS_BUILDER_KEY",
                 help="The builder's shared secret (default: kept from an earlier install, or new)."),
    click.option("--image-prefix", default="deis", show_default=True,
                 help="Where the platform's images are: PREFIX/controller:TAG and so on"
                      " (e.g. registry.example.com/deis)."),
    click.option("--image-tag", default=package_version(), show_default=True,
                 help="The tag of the platform's images (`make images` tags this version)."),
    click.option("--controller-image", help="Default: PREFIX/controller:TAG."),
    click.option("--slugbuilder-image", help="Default: PREFIX/slugbuilder:TAG."),
    click.option("--slugrunner-image", help="Default: PREFIX/slugrunner:TAG."),
    click.option("--dockerbuilder-image", help="Default: PREFIX/dockerbuilder:TAG."),
    click.option("--addons-image", help="The add-ons' servers. Default: PREFIX/addons:TAG."),
    click.option("--registry-image", default="registry:2", show_default=True),
    click.option("--build-deny-cidr", "build_deny_cidrs", multiple=True,
                 help="A network build pods may not reach (repeat; default: the private"
                      " networks 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10)."),
    click.option("--build-allow-cidr", "build_allow_cidrs", multiple=True,
                 help="A network build pods may reach even so (repeat), such as the pods of"
                      " an object store in the cluster."),
]  # fmt: skip


def install_options(command: F) -> F:
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def _options(flags: dict[str, Any], builder_key: str | None) -> InstallOptions:
    values = {k: v for k, v in flags.items() if v is not None and v != ()}
    values["builder_key"] = builder_key or secrets.token_hex(32)
    try:
        return InstallOptions(**values).check()
    except ValueError as error:
        raise click.UsageError(str(error)) from None


def to_yaml(manifests: list[Manifest]) -> str:
    import yaml  # PyYAML comes with the kubernetes extra

    class Dumper(yaml.SafeDumper):  # type: ignore[misc]
        def ignore_aliases(self, data: Any) -> bool:  # no &id001 anchors: plain manifests
            return True

    text: str = yaml.dump_all(manifests, Dumper=Dumper, sort_keys=False)
    return text


@click.group("kubernetes")
def kubernetes() -> None:
    """Install the platform on a Kubernetes cluster."""


@kubernetes.command("render")
@install_options
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Write to this file (default: standard output).")  # fmt: skip
def render_command(output: Path | None, builder_key: str | None, **flags: Any) -> None:
    """Write every manifest the platform needs, as YAML."""
    text = to_yaml(render(_options(flags, builder_key)))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)
        output.chmod(0o600)  # it holds the database password and keys
        click.echo(f"wrote {output}")


@kubernetes.command("install")
@install_options
@click.option(
    "--kubeconfig",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="KUBECONFIG",
    help="Default: ~/.kube/config, or the pod's service account.",
)
@click.option("--context", help="The kubeconfig context (default: its current one).")
@click.option("--wait", type=click.FloatRange(min=0), default=300, show_default=True,
              help="Seconds to wait for the platform to be ready (0: do not wait).")  # fmt: skip
def install_command(
    kubeconfig: Path | None,
    context: str | None,
    wait: float,
    builder_key: str | None,
    **flags: Any,
) -> None:
    """Apply the manifests to the cluster (again: updates them)."""
    from deis.runtime.kubernetes.client import ApiError, Kube

    try:
        kube = Kube.connect(str(kubeconfig) if kubeconfig else None, context)
    except Exception as error:  # the client's config errors have no common base
        raise click.ClickException(f"Cannot use the kubeconfig: {error}") from None
    try:
        namespace = flags.get("namespace") or "deis"
        key = builder_key or installer.existing_builder_key(kube, namespace)
        installer.install(kube, render(_options(flags, key)), wait=wait, echo=click.echo)
    except (ApiError, installer.InstallError) as error:
        raise click.ClickException(str(error)) from None
    finally:
        kube.close()
    click.echo(f"The platform is installed: http://deis.{flags['domain']}")
