"""`python -m deis.stack build [--force] [--addons]`, `python -m deis.stack images`."""

from __future__ import annotations

import argparse
import sys

from deis.stack.build import StackError, ensure, ensure_extra, ready
from deis.stack.definition import ADDON_STACK, STACK_STORE, STACKS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deis.stack")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="make the stack images missing from the machine")
    build.add_argument("--force", action="store_true", help="make them all again")
    build.add_argument(
        "--addons",
        action="store_true",
        help="also the add-ons' stack (PostgreSQL, Redis), else made at the first addons:create",
    )
    sub.add_parser("images", help="the stack image names, and whether they are ready")
    args = parser.parse_args(argv)
    if args.command == "images":
        for s in STACKS.values():
            print(" ".join(s.names))
        print(f"store: {STACK_STORE} ({'ready' if ready() else 'not built'})")
        return 0
    try:
        images = ensure(force=args.force)
        if args.addons:
            images["addons"] = ensure_extra(ADDON_STACK)
    except StackError as exc:
        print(f"stack build failed: {exc}", file=sys.stderr)
        return 1
    for kind, image in images.items():
        print(f"{kind}: {image}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
