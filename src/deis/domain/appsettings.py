"""App settings: the IP allow-list, autoscaling per process type, and labels."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from deis.domain._checks import require_mapping
from deis.domain.errors import Invalid
from deis.domain.labels import merge_labels
from deis.domain.names import validate_proctype

AUTOSCALE_KEYS = ("min", "max", "cpu_percent")


def _address(value: object) -> str:
    """An IPv4/IPv6 address or network in its canonical form ("10.0.0.5/8" -> "10.0.0.0/8")."""
    if not isinstance(value, str) or not value.strip():
        raise Invalid("Each address must be a non-empty string.", field="addresses")
    text = value.strip()
    if "%" in text:
        raise Invalid(f"{text} has a zone index (%), which is not allowed.", field="addresses")
    try:
        if "/" in text:
            return str(ipaddress.ip_network(text, strict=False))
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise Invalid(
            f"{text} is not an IP address or network (such as 10.0.0.1 or 10.0.0.0/24).",
            field="addresses",
        ) from None


def validate_whitelist(addresses: object) -> list[str]:
    """A list of addresses and networks, normalised, duplicates dropped, order kept."""
    if not isinstance(addresses, list):
        raise Invalid("Addresses must be a list of IP addresses or networks.", field="addresses")
    result: list[str] = []
    for item in addresses:
        address = _address(item)
        if address not in result:
            result.append(address)
    return result


def merge_whitelist_add(old: list[str], new: object) -> list[str]:
    """`old` with the new addresses appended (those already in it are kept once)."""
    result = list(old)
    result.extend(a for a in validate_whitelist(new) if a not in result)
    return result


def merge_whitelist_remove(old: list[str], remove: object) -> list[str]:
    """`old` without the given addresses; each must be in it."""
    gone = validate_whitelist(remove)
    for address in gone:
        if address not in old:
            raise Invalid(f"{address} is not in the whitelist.", field="addresses")
    return [a for a in old if a not in gone]


def _whole(value: object, proctype: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"Autoscale {key} for {proctype} must be a whole number.", field="autoscale")
    return value


def _autoscale_rule(proctype: str, value: object) -> dict[str, int]:
    rule = require_mapping(value, "autoscale", f"Autoscale for {proctype}")
    unknown = sorted(str(k) for k in rule if k not in AUTOSCALE_KEYS)
    if unknown:
        raise Invalid(
            f"Autoscale for {proctype} has unknown fields: {', '.join(unknown)}; "
            "give min, max and cpu_percent.",
            field="autoscale",
        )
    missing = [k for k in AUTOSCALE_KEYS if k not in rule]
    if missing:
        raise Invalid(
            f"Autoscale for {proctype} needs {', '.join(missing)}; give min, max and cpu_percent.",
            field="autoscale",
        )
    low = _whole(rule["min"], proctype, "min")
    high = _whole(rule["max"], proctype, "max")
    cpu = _whole(rule["cpu_percent"], proctype, "cpu_percent")
    if low < 1:
        raise Invalid(f"Autoscale min for {proctype} must be at least 1.", field="autoscale")
    if high < low:
        raise Invalid(
            f"Autoscale max for {proctype} must be at least its min ({low}).", field="autoscale"
        )
    if not 1 <= cpu <= 100:
        raise Invalid(
            f"Autoscale cpu_percent for {proctype} must be between 1 and 100.", field="autoscale"
        )
    return {"min": low, "max": high, "cpu_percent": cpu}


def validate_autoscale(value: object) -> dict[str, dict[str, int]]:
    """Process type -> {min >= 1, max >= min, cpu_percent 1..100}."""
    mapping = require_mapping(value, "autoscale", "Autoscale")
    result: dict[str, dict[str, int]] = {}
    for raw_type, rule in mapping.items():
        proctype = validate_proctype(raw_type, field="autoscale")
        result[proctype] = _autoscale_rule(proctype, rule)
    return result


def merge_autoscale(
    old: Mapping[str, Mapping[str, int]], changes: object
) -> dict[str, dict[str, int]]:
    """Autoscale rules after a change; a process type set to None loses its rule."""
    mapping = require_mapping(changes, "autoscale", "Autoscale")
    result = {k: dict(v) for k, v in old.items()}
    for raw_type, rule in mapping.items():
        proctype = validate_proctype(raw_type, field="autoscale")
        if rule is None:
            if proctype not in result:
                raise Invalid(f"There is no autoscale rule for {proctype}.", field="autoscale")
            del result[proctype]
        else:
            result[proctype] = _autoscale_rule(proctype, rule)
    return result


def merge_label(old: Mapping[str, str], changes: object) -> dict[str, str]:
    """App labels after a change; Kubernetes label rules, None removes a label."""
    return merge_labels(old, changes, field="label", what="Labels", item="Label")
