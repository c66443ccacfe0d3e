"""Small checks shared by the rule modules (private to the domain package)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from deis.domain.errors import Invalid


def require_str(value: object, field: str, what: str) -> str:
    """`value` itself when it is a string; otherwise an Invalid naming `what`."""
    if not isinstance(value, str):
        raise Invalid(f"{what} must be a string.", field=field)
    return value


def require_mapping(value: object, field: str, what: str) -> Mapping[object, object]:
    if not isinstance(value, Mapping):
        raise Invalid(f"{what} must be an object of names and values.", field=field)
    return value


def scalar_to_str(value: object) -> str | None:
    """A JSON scalar as the string an environment would hold; None for lists, objects, etc."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return None


def merge_flat(
    old: Mapping[str, str],
    changes: object,
    *,
    field: str,
    what: str,
    key: Callable[[object], str],
    value: Callable[[str, object], str],
    missing: Callable[[str], str],
) -> dict[str, str]:
    """Merge `changes` onto a copy of `old`: None removes a key (which must be set).

    `key` validates and normalises a key, `value` validates and normalises a value;
    both raise Invalid. A key that normalises to one given earlier is refused.
    """
    mapping = require_mapping(changes, field, what)
    result = dict(old)
    seen: set[str] = set()
    for raw_key, raw_value in mapping.items():
        name = key(raw_key)
        if name in seen:
            raise Invalid(f"{name} is given more than once.", field=field)
        seen.add(name)
        if raw_value is None:
            if name not in result:
                raise Invalid(missing(name), field=field)
            del result[name]
        else:
            result[name] = value(name, raw_value)
    return result
