"""The Kubernetes runtime: releases as Namespaces, Secrets, Deployments, Services and
HorizontalPodAutoscalers, through the official `kubernetes` client."""

from deis.runtime.kubernetes.adapter import KubernetesRuntime
from deis.runtime.kubernetes.client import ApiError, Kube
from deis.runtime.kubernetes.manifests import Options

__all__ = ["ApiError", "Kube", "KubernetesRuntime", "Options"]
