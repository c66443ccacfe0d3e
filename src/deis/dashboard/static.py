"""The dashboard's own files (htmx, its script and styles), served from the package:
nothing comes from the internet at run time."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import APIRouter, Request, Response

from deis.dashboard.web import HERE, DashboardRoute
from deis.domain.errors import NotFound

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


def load(directory: Path) -> dict[str, tuple[bytes, str, str]]:
    files = {}
    for path in sorted(directory.iterdir()):
        if path.suffix in TYPES:
            data = path.read_bytes()
            files[path.name] = (data, TYPES[path.suffix], hashlib.sha256(data).hexdigest()[:16])
    return files


FILES = load(HERE / "static")


def url_of(name: str) -> str:
    """The file's URL with its digest, so a new version is fetched at once after an upgrade."""
    return f"/static/{name}?v={FILES[name][2]}"


@router.get("/static/{name}")
def static_file(request: Request, name: str) -> Response:
    found = FILES.get(name)
    if found is None:
        raise NotFound(f"No file {name}.")
    data, media_type, digest = found
    etag = f'"{digest}"'
    headers = {
        "ETag": etag,
        "Cache-Control": "public, max-age=3600",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)
