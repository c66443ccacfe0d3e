#!/usr/bin/env bash
# Install what the platform and its tests need, only what is missing (idempotent):
# Debian packages (apt-get update once, first, and only when a command is missing), then
# the virtualenv at .venv with `pip install -e '.[dev]'` (again when pyproject.toml changed).
#
# Packages are installed with --no-install-recommends, so everything the platform runs is
# named here, also what a package only recommends (podman: catatonit; git:
# ca-certificates). `deisctl doctor` checks the same list from the platform's side, and
# tests/platform/test_clean_root.py runs this script in a minimal Debian root to prove it.
#
#   scripts/install.sh            # both
#   scripts/install.sh --system   # Debian packages only
set -euo pipefail
cd "$(dirname "$0")/.."

# command → the Debian package that provides it
PACKAGES=(
    "python3:python3"
    "git:git"
    "curl:curl"
    "wrk:wrk"
    "pg_ctlcluster:postgresql"
    "psql:postgresql"
    "podman:podman"
    "runc:runc"
    "slirp4netns:slirp4netns"
    "ip:iproute2"
    "mount:mount"  # add-ons' disks: ext4 files loop-mounted on their data dirs
    "mkfs.ext4:e2fsprogs"
    "resize2fs:e2fsprogs"
    "nginx:nginx"
    "debootstrap:debootstrap"
    "ssh:openssh-client"
    "ssh-keygen:openssh-client"
    "docker-registry:docker-registry"
    "chromium:chromium"  # the dashboard's browser tests (Playwright drives it)
    "pebble:pebble"  # Let's Encrypt's ACME test server: the automatic TLS tests
)

# file → the Debian package that provides it (libraries, modules)
FILES=(
    "/usr/lib/nginx/modules/ngx_http_lua_module.so:libnginx-mod-http-lua"
    "/usr/share/lua/5.1/resty/core.lua:lua-resty-core"
    "/usr/share/doc/busybox-static:busybox-static"  # the self-test's and runtime tests' tiny images
    # podman only recommends catatonit, yet every replica runs with --init: without it no
    # app starts ("container-init binary not found on the host")
    "/usr/libexec/podman/catatonit:catatonit"
    # git only recommends it: the host's CA bundle, copied into the stack images
    "/etc/ssl/certs/ca-certificates.crt:ca-certificates"
)

# The real-cluster tests (tests/kubernetes/test_real_cluster.py and the "real" variants)
# run etcd wherever scripts/kube-control-plane.sh has built kube-apiserver into its cache;
# elsewhere they are skipped and etcd is not needed.
if [ -x "${KUBE_CACHE:-/var/cache/deis/kube}/current/bin/kube-apiserver" ]; then
    PACKAGES+=("etcd:etcd-server")
fi

say() { printf '==> %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        say "need root to run: $*"
        return 1
    fi
}

missing_packages() {
    local entry cmd pkg out=()
    for entry in "${PACKAGES[@]}"; do
        cmd="${entry%%:*}"
        pkg="${entry#*:}"
        command -v "$cmd" >/dev/null 2>&1 || out+=("$pkg")
    done
    for entry in "${FILES[@]}"; do
        [ -e "${entry%%:*}" ] || out+=("${entry#*:}")
    done
    # python3-venv: the venv module needs ensurepip, which Debian ships separately.
    if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
        out+=("python3-venv")
    fi
    if [ "${#out[@]}" -gt 0 ]; then
        printf '%s\n' "${out[@]}" | sort -u | tr '\n' ' '
    fi
}

install_system() {
    local missing
    missing="$(missing_packages)"
    if [ -z "$missing" ]; then
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        say "missing: $missing (install them; this script knows only apt-get)"
        return 1
    fi
    say "installing Debian packages: $missing"
    if [ "${DEIS_APT_UPDATED:-0}" != 1 ]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
        export DEIS_APT_UPDATED=1
    fi
    # shellcheck disable=SC2086 # one word per package
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
    # Each platform instance runs its own docker-registry on the loopback; the package's
    # system-wide service would take port 5000 (on every address, without auth).
    case " $missing " in
    *" docker-registry "*)
        if [ -d /run/systemd/system ]; then
            as_root systemctl disable --now docker-registry.service || true
        fi
        ;;
    esac
}

install_venv() {
    if [ ! -x .venv/bin/python ]; then
        say "creating the virtualenv at .venv"
        python3 -m venv .venv
    fi
    if .venv/bin/python scripts/check-venv.py 2>/dev/null; then
        return 0
    fi
    say "installing the platform and its development tools into .venv"
    .venv/bin/python -m pip install -q -e '.[dev]'
}

install_system
if [ "${1:-}" != "--system" ]; then
    install_venv
fi
