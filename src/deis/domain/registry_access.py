"""Who may do what in the platform's registry: a pure decision over Distribution's scopes.

The registry asks for a token (Distribution's `auth: token`); the controller's token
endpoint authenticates the caller and grants, per requested scope, the actions below:

| who | repository of app APP | other repositories | the catalog |
|---|---|---|---|
| the builder, for the app it built (`deis-builder-APP`) | pull, push | nothing | no |
| the platform (`deis-platform`: the runtime's pulls, the collection of old images) | pull, delete | pull, delete | yes |
| an admin (username and API token) | pull | pull | yes |
| a user who may see APP (owner, collaborator) | pull | nothing | no |
| anyone else | nothing | nothing | no |

What is not granted is left out of the token (as Distribution's token servers do): the
registry then answers 401 to the request that needed it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

PLATFORM = "platform"
BUILDER = "builder"
USER = "user"

PLATFORM_ACCOUNT = "deis-platform"
BUILDER_PREFIX = "deis-builder-"

_SCOPE_RE = re.compile(r"(?P<type>[a-z0-9]+)(\([a-z0-9]+\))?:(?P<name>[^:]+):(?P<actions>[a-z*,]*)")


@dataclass(frozen=True)
class Principal:
    kind: str  # PLATFORM, BUILDER or USER
    name: str  # the account: deis-platform, deis-builder-APP, or the username
    app: str = ""  # BUILDER: the app it pushes for
    admin: bool = False  # USER: an admin


@dataclass(frozen=True)
class Access:
    type: str  # "repository" or "registry"
    name: str  # the repository ("APP"), or "catalog"
    actions: tuple[str, ...]

    def claim(self) -> dict[str, object]:
        return {"type": self.type, "name": self.name, "actions": list(self.actions)}


def builder_account(app: str) -> str:
    return f"{BUILDER_PREFIX}{app}"


def parse_scopes(texts: Iterable[str]) -> list[Access]:
    """`repository:APP:pull,push` (space-separated, repeated) → the accesses asked for;
    what does not parse is ignored."""
    found = []
    for text in texts:
        for part in text.split():
            match = _SCOPE_RE.fullmatch(part)
            if match:
                actions = tuple(a for a in match["actions"].split(",") if a)
                found.append(Access(match["type"], match["name"], actions))
    return found


def granted(
    principal: Principal, asked: Iterable[Access], may_pull: Callable[[str], bool]
) -> list[Access]:
    """The part of each access asked for that the principal has (empty ones left out).
    `may_pull(repository)`: whether the user may see the app of that name."""
    out = []
    for access in asked:
        allowed = _allowed(principal, access, may_pull)
        actions = tuple(a for a in access.actions if a in allowed)
        if actions:
            out.append(Access(access.type, access.name, actions))
    return out


def _allowed(principal: Principal, access: Access, may_pull: Callable[[str], bool]) -> set[str]:
    if access.type == "registry":
        catalog = access.name == "catalog" and (
            principal.kind == PLATFORM or (principal.kind == USER and principal.admin)
        )
        return {"*"} if catalog else set()
    if access.type != "repository":
        return set()
    if principal.kind == PLATFORM:
        return {"pull", "delete"}
    if principal.kind == BUILDER:
        return {"pull", "push"} if access.name == principal.app else set()
    if principal.kind == USER and (principal.admin or may_pull(access.name)):
        return {"pull"}
    return set()
