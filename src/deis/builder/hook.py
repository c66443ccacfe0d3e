"""The pre-receive hook of every app repository (standard library only: it is copied into
the repository as hooks/pre-receive with the platform's python as its interpreter).

It hands the ref updates to the builder process that started this receive-pack (through
the socket named in DEIS_HOOK_SOCKET, with the one-push token DEIS_HOOK_TOKEN), prints
the build's output as it comes (git shows it as `remote: ...`) and exits with the build's
status: non-zero refuses the push and leaves the refs as they were.
"""

import json
import os
import socket
import sys

PATH_VARS = ("GIT_OBJECT_DIRECTORY", "GIT_QUARANTINE_PATH")
LIST_VARS = ("GIT_ALTERNATE_OBJECT_DIRECTORIES",)


def git_env() -> "dict[str, str]":
    env = {}
    for name in PATH_VARS:
        if os.environ.get(name):
            env[name] = os.path.abspath(os.environ[name])
    for name in LIST_VARS:
        if os.environ.get(name):
            env[name] = ":".join(os.path.abspath(p) for p in os.environ[name].split(":") if p)
    return env


def main() -> int:
    address = os.environ.get("DEIS_HOOK_SOCKET", "")
    token = os.environ.get("DEIS_HOOK_TOKEN", "")
    if not address or not token:
        print("error: pushes to this repository go through the Deis builder", file=sys.stderr)
        return 1
    refs = [line.split() for line in sys.stdin.read().splitlines() if line.strip()]
    request = {"token": token, "refs": refs, "env": git_env()}
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # The builder stops a build at its own timeout; this only guards against a hung builder.
    sock.settimeout(float(os.environ.get("DEIS_HOOK_TIMEOUT", "21600")))
    try:
        sock.connect("\0" + address[1:] if address.startswith("@") else address)
        sock.sendall(json.dumps(request).encode() + b"\n")
        reader = sock.makefile("rb")
        out = sys.stderr.buffer
        for raw in reader:
            if raw.startswith(b"o "):
                out.write(raw[2:])
                out.flush()
            elif raw.startswith(b"x "):
                return int(raw[2:].strip() or b"1")
    except OSError as exc:
        print(f"error: the builder went away: {exc}", file=sys.stderr)
        return 1
    finally:
        sock.close()
    print("error: the builder went away before the build ended", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
