"""A small Flask app for the Deis builder's Python buildpack."""

import os

from flask import Flask

app = Flask(__name__)


@app.get("/")
def index() -> str:
    return f"Hello from python-web ({os.environ.get('DEIS_APP', 'deis')})\n"


@app.get("/healthz")
def healthz() -> str:
    return "ok\n"
