"""Deis Workflow, re-implemented in Python: a self-hosted, Heroku-style PaaS."""

__version__ = "0.1.0"
API_VERSION = "2.3"
