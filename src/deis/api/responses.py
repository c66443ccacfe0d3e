"""JSON responses rendered with orjson: the API's bodies, timestamps included.

The records' datetimes go into the body as they are and orjson writes them the way
the Deis client reads them, `2026-11-27T10:42:00Z` (UTC, to the second): formatting
them in Python first cost more than the rest of a page of 100 apps. Besides, the output
is Starlette's JSONResponse's: compact, UTF-8, NaN refused.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse as StarletteJSONResponse

# Naive datetimes are taken as UTC (serialize.timestamp gives aware UTC ones).
OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_OMIT_MICROSECONDS | orjson.OPT_NAIVE_UTC


def dumps(content: Any) -> bytes:
    return orjson.dumps(content, option=OPTIONS)


class JSONResponse(StarletteJSONResponse):
    def render(self, content: Any) -> bytes:
        return dumps(content)
