"""Installing the platform on a Kubernetes cluster, and wiring its Kubernetes adapters."""
