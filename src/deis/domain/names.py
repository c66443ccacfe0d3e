"""Names: app ids (and generated ones), process types, usernames."""

from __future__ import annotations

import random
import re

from deis.domain._checks import require_str
from deis.domain.errors import Invalid

RESERVED_APP_NAMES: frozenset[str] = frozenset(
    {
        "deis",
        "deis-builder",
        "deis-controller",
        "deis-router",
        "deis-registry",
        "kube-system",
        "default",
        "api",
        "www",
        "admin",
        "dashboard",
        "registry",
        "builder",
        "controller",
        "router",
        "platform",
        "healthz",
        "readiness",
    }
)

MAX_APP_ID = 63
MAX_PROCTYPE = 63
MAX_USERNAME = 150

_APP_ID_RE = re.compile(r"[a-z][a-z0-9-]*")
_PROCTYPE_RE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_USERNAME_RE = re.compile(r"[A-Za-z0-9@.+_-]+")

ADJECTIVES: tuple[str, ...] = (
    "amber", "ancient", "autumn", "bold", "brave", "bright", "calm", "clever",
    "cosmic", "crisp", "daring", "dusty", "eager", "early", "fancy", "gentle",
    "golden", "happy", "hidden", "humble", "icy", "jolly", "keen", "lively",
    "lucky", "misty", "nimble", "noble", "patient", "polished", "proud", "quiet",
    "rapid", "rustic", "silent", "snowy", "sunny", "swift", "tidy", "vivid",
    "wild", "young",
)  # fmt: skip

NOUNS: tuple[str, ...] = (
    "anchor", "aurora", "badger", "beacon", "breeze", "brook", "canyon", "cedar",
    "cloud", "comet", "coral", "creek", "dawn", "delta", "ember", "falcon",
    "fern", "forest", "glacier", "harbor", "heron", "island", "lagoon", "lake",
    "maple", "meadow", "moon", "mountain", "ocean", "otter", "pebble", "pine",
    "prairie", "river", "shadow", "sparrow", "star", "summit", "thunder", "valley",
    "willow", "wind",
)  # fmt: skip

_APP_ID_RULE = (
    "App name must start with a letter and contain only lowercase letters, digits and hyphens."
)


def validate_app_id(value: object) -> str:
    """A valid, unreserved app id: 1-63 of [a-z0-9-], a letter first, no hyphen last."""
    name = require_str(value, "id", "App name")
    if not name:
        raise Invalid("App name must not be empty.", field="id")
    if len(name) > MAX_APP_ID:
        raise Invalid(f"App name must be at most {MAX_APP_ID} characters long.", field="id")
    if not _APP_ID_RE.fullmatch(name):
        raise Invalid(_APP_ID_RULE, field="id")
    if name.endswith("-"):
        raise Invalid("App name must not end with a hyphen.", field="id")
    if name in RESERVED_APP_NAMES:
        raise Invalid(f"{name} is a reserved name; choose another app name.", field="id")
    return name


def generate_app_id(rng: random.Random) -> str:
    """A Heroku-style name such as "brave-river-4821"; always a valid app id."""
    return f"{rng.choice(ADJECTIVES)}-{rng.choice(NOUNS)}-{rng.randint(1000, 9999)}"


def validate_proctype(value: object, field: str = "type") -> str:
    """A process type: lowercase letters and digits in hyphen-separated words, at most 63."""
    name = require_str(value, field, "Process type")
    if not name:
        raise Invalid("Process type must not be empty.", field=field)
    if len(name) > MAX_PROCTYPE:
        raise Invalid(
            f"Process type {name[:20]}... must be at most {MAX_PROCTYPE} characters long.",
            field=field,
        )
    if not _PROCTYPE_RE.fullmatch(name):
        raise Invalid(
            f"Process type {name} must contain only lowercase letters, digits and single "
            "hyphens between them.",
            field=field,
        )
    return name


def validate_username(value: object) -> str:
    """A Django username: 1-150 of letters, digits and @ . + - _ (ASCII only)."""
    name = require_str(value, "username", "Username")
    if not name:
        raise Invalid("Username must not be empty.", field="username")
    if len(name) > MAX_USERNAME:
        raise Invalid(f"Username must be at most {MAX_USERNAME} characters long.", field="username")
    if not _USERNAME_RE.fullmatch(name):
        raise Invalid(
            "Username may contain only letters, digits and the characters @ . + - _.",
            field="username",
        )
    return name
