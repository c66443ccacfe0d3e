"""`python -m deis.stack build [--force]`, `python -m deis.stack images`."""

from __future__ import annotations

import argparse
import sys

from deis.stack.build import StackError, ensure, ready
from deis.stack.definition import STACK_STORE, STACKS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deis.stack")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="make the stack images missing from the machine")
    build.add_argument("--force", action="store_true", help="make them all again")
    sub.add_parser("images", help="the stack image names, and whether they are ready")
    args = parser.parse_args(argv)
    if args.command == "images":
        for s in STACKS.values():
            print(" ".join(s.names))
        print(f"store: {STACK_STORE} ({'ready' if ready() else 'not built'})")
        return 0
    try:
        images = ensure(force=args.force)
    except StackError as exc:
        print(f"stack build failed: {exc}", file=sys.stderr)
        return 1
    for kind, image in images.items():
        print(f"{kind}: {image}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
