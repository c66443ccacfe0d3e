"""Who may hold a host name: the rules that keep one app from taking another's hosts.

A host belongs to exactly one app. Reserved, whoever asks:
- the controller's host `deis.DOMAIN` and every name under it;
- a wildcard that would cover the controller's host (`*.DOMAIN`, or `*.example.com` when
  DOMAIN is `apps.example.com`: the router's wildcards cover names at any depth);
- every app's default host `APP.DOMAIN` (even when the app removed that domain);
- names under another app's host (`x.foo.DOMAIN`, `*.foo.DOMAIN`, `x.shop.example.com`
  when another app holds `shop.example.com`), unless that app has the same owner or an
  administrator asks.
Hosts compare lower-cased and without a trailing dot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from deis.domain.errors import Invalid

CONTROLLER_LABEL = "deis"


@dataclass(frozen=True)
class Holder:
    """The app that holds a host, and that app's owner."""

    app: str
    owner: str


HolderOf = Callable[[str], Holder | None]


def normalize_host(text: str) -> str:
    """The form hosts compare in: lower-case, no surrounding spaces, no trailing dot."""
    return text.strip().lower().rstrip(".")


def controller_host(platform_domain: str) -> str:
    return f"{CONTROLLER_LABEL}.{normalize_host(platform_domain)}"


def is_under(host: str, parent: str) -> bool:
    """Whether `host` is a name below `parent` (not `parent` itself)."""
    return host.endswith("." + parent)


def parents(host: str) -> list[str]:
    """The names a host lies under, nearest first. A wildcard `*.a.b` lies under `a.b`."""
    if host.startswith("*."):
        base = host[2:]
        return [base, *parents(base)]
    out = []
    rest = host
    while "." in rest:
        rest = rest.split(".", 1)[1]
        if rest:
            out.append(rest)
    return out


def default_label(host: str, platform_domain: str) -> str | None:
    """The app name whose default host `host` would be (`foo` for `foo.DOMAIN`), else None."""
    domain = normalize_host(platform_domain)
    if not is_under(host, domain):
        return None
    label = host[: -len(domain) - 1]
    if not label or "." in label or label == "*":
        return None
    return label


def check_platform_reserved(host: str, platform_domain: str) -> None:
    """Refuse the hosts that belong to the platform itself."""
    controller = controller_host(platform_domain)
    if host == controller or is_under(host, controller):
        raise Invalid(
            f"{host} belongs to the platform's controller ({controller}); "
            "it cannot be an app's domain.",
            field="domain",
        )
    if host.startswith("*.") and is_under(controller, host[2:]):
        raise Invalid(
            f"{host} would cover the platform's controller ({controller}) and every app's "
            "default host; it is reserved for the platform.",
            field="domain",
        )


def _may_share(holder: Holder, app_id: str, owner: str, admin: bool) -> bool:
    return holder.app == app_id or holder.owner == owner or admin


def check_custom_host(
    host: str,
    app_id: str,
    owner: str,
    platform_domain: str,
    holder_of: HolderOf,
    *,
    admin: bool = False,
) -> None:
    """Raise Invalid (field "domain") unless app `app_id` (owned by `owner`) may add
    `host`. `holder_of(name)` answers which app holds exactly that name, if any; the app
    itself may (its default host again, after it removed it; the caller refuses a domain
    the app already has)."""
    check_platform_reserved(host, platform_domain)
    holder = holder_of(host)
    if holder is not None and holder.app != app_id:
        raise Invalid(f"Domain {host} is already in use by an application.", field="domain")
    for parent in parents(host):
        holder = holder_of(parent)
        if holder is not None and not _may_share(holder, app_id, owner, admin):
            raise Invalid(
                f"{host} is under {parent}, a host of another application; only names "
                "under your own apps' hosts can be added.",
                field="domain",
            )


def check_new_app(
    app_id: str,
    owner: str,
    platform_domain: str,
    holder_of: HolderOf,
    held_under: Iterable[Holder],
    *,
    admin: bool = False,
) -> None:
    """Raise Invalid (field "id") unless an app named `app_id` may be created: its default
    host `APP.DOMAIN` must be nobody's, and no other owner's app may hold names under it."""
    host = f"{app_id}.{normalize_host(platform_domain)}"
    if holder_of(host) is not None:
        raise Invalid(f"The domain {host} is already in use.", field="id")
    for holder in held_under:
        if not _may_share(holder, app_id, owner, admin):
            raise Invalid(
                f"Names under {host} are domains of another application; choose another app name.",
                field="id",
            )
