"""Buildpack releases on a cluster with DEIS_OBJECTS=s3: the settings give the runtime the
store, and a deploy gives the app's namespace the Secret the slug fetcher reads."""

from __future__ import annotations

import base64

import pytest

from deis.domain.desired import DesiredApp
from deis.platform.kubernetes import wiring
from deis.runtime.kubernetes import Options
from deis.runtime.kubernetes.manifests import SlugStore

from .conftest import Cluster

S3 = {
    "DEIS_OBJECTS": "s3",
    "DEIS_S3_ENDPOINT": "http://minio.deis:9000",
    "DEIS_S3_BUCKET": "deis",
    "DEIS_S3_PREFIX": "platform",
    "AWS_ACCESS_KEY_ID": "AK",
    "AWS_SECRET_ACCESS_KEY": "SK",
}


def test_the_slug_store_comes_from_the_object_store_settings() -> None:
    settings = wiring.KubernetesSettings.from_env(S3)
    assert settings.runtime.slug_store == SlugStore(
        "http://minio.deis:9000", "deis", "us-east-1", "platform", "AK", "SK"
    )
    assert wiring.KubernetesSettings.from_env({}).runtime.slug_store is None
    aws = wiring.KubernetesSettings.from_env(
        {**S3, "DEIS_S3_ENDPOINT": "", "DEIS_S3_REGION": "eu-west-1"}
    )
    assert aws.runtime.slug_store is not None
    assert aws.runtime.slug_store.endpoint == "https://s3.eu-west-1.amazonaws.com"
    with pytest.raises(wiring.KubernetesSettingsError, match="DEIS_S3_BUCKET"):
        wiring.KubernetesSettings.from_env({"DEIS_OBJECTS": "s3"})


def test_a_buildpack_deploy_gives_the_namespace_the_fetchers_keys(
    cluster: Cluster, app: str
) -> None:
    store = SlugStore("http://minio.deis:9000", "deis", access_key="AK", secret_key="SK")
    runtime = cluster.runtime(Options(slug_store=store))
    desired = DesiredApp(
        app=app, version=2, image=f"slugs/{app}/git-abc.tgz", kind="buildpack", sha="abc",
        procfile={"web": "python app.py"}, structure={"web": 1}, env={},
    )  # fmt: skip
    runtime.deploy(desired)
    secret = cluster.kube.get("v1", "Secret", f"{app}-objectstore", app)
    assert secret is not None
    assert base64.b64decode(secret["data"]["secret-key"]) == b"SK"
    deployment = cluster.kube.get("apps/v1", "Deployment", f"{app}-web", app)
    assert deployment is not None
    pod = deployment["spec"]["template"]["spec"]
    assert pod["initContainers"][0]["env"][0]["value"] == f"s3://deis/slugs/{app}/git-abc.tgz"
