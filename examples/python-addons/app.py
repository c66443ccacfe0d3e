"""Notes kept in PostgreSQL (DATABASE_URL), visits counted in Redis (REDIS_URL): the
add-ons `deis addons:create postgres` and `deis addons:create redis` attach."""

import os

import psycopg
import redis
from flask import Flask, request

app = Flask(__name__)


def database() -> psycopg.Connection:
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise LookupError("no DATABASE_URL: deis addons:create postgres")
    conn = psycopg.connect(url, autocommit=True, connect_timeout=5)
    conn.execute("CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text)")
    return conn


@app.errorhandler(LookupError)
def missing(error: LookupError) -> tuple[str, int]:
    return f"{error.args[0]}\n", 503


@app.get("/")
def index() -> str:
    return f"Hello from python-addons ({os.environ.get('DEIS_APP', 'deis')})\n"


@app.get("/notes")
def notes() -> str:
    with database() as conn:
        rows = conn.execute("SELECT body FROM notes ORDER BY id").fetchall()
    return "".join(f"{body}\n" for (body,) in rows)


@app.post("/notes")
def add_note() -> tuple[str, int]:
    body = request.get_data(as_text=True).strip()
    with database() as conn:
        conn.execute("INSERT INTO notes (body) VALUES (%s)", (body,))
    return f"added {body}\n", 201


@app.get("/visits")
def visits() -> str:
    url = os.environ.get("REDIS_URL")
    if not url:
        raise LookupError("no REDIS_URL: deis addons:create redis")
    count = redis.Redis.from_url(url, socket_timeout=5).incr("visits")
    return f"{count}\n"
