#!/usr/bin/env bash
# A real Kubernetes control plane for the tests: etcd (Debian's etcd-server), kube-apiserver
# and kube-controller-manager on free 127.0.0.1 ports. No kubelet, no scheduler: the tests
# run a small fake kubelet (tests/kubernetes/kubelet.py) that binds and runs pods.
#
#   KUBE_SRC=/path/to/kubernetes scripts/kube-control-plane.sh build
#       builds kube-apiserver and kube-controller-manager from that source tree (v1.24 era,
#       Debian's Go 1.19: -tags=providerless, -mod=vendor, after generating the tree's
#       OpenAPI file with its own openapi-gen) into $KUBE_CACHE/<version>/bin and points
#       $KUBE_CACHE/current at it. Nothing is written into this repository.
#   KUBE_STATE=/tmp/somewhere scripts/kube-control-plane.sh start
#       starts the three on free ports, writes $KUBE_STATE/kubeconfig (cluster-admin token)
#       and prints `export KUBECONFIG=...`; ready when it returns (about 10 s).
#   KUBE_STATE=/tmp/somewhere scripts/kube-control-plane.sh stop
#       stops the processes it started (by the PIDs it wrote) and removes nothing else.
#   scripts/kube-control-plane.sh env
#       prints the cache's bin directory and whether the binaries are there.
#   GATEWAY_API_SRC=/path/to/gateway-api scripts/kube-control-plane.sh gateway-api
#       copies the Gateway API's standard CRDs (config/crd/standard of a gateway-api tree, v1.0)
#       into $KUBE_CACHE/gateway-api; `start` then installs them. GatewayClass is left out:
#       its CEL rule `self == oldSelf` does not compile on a v1.24 API server (and the
#       platform uses only Gateways, HTTPRoutes and ReferenceGrants).
#   CERT_MANAGER_SRC=/path/to/cert-manager scripts/kube-control-plane.sh cert-manager
#       copies cert-manager's Certificate CRD (deploy/crds of a cert-manager tree or git
#       directory) into $KUBE_CACHE/cert-manager; `start` then installs it (cert-manager
#       itself does not run: the tests check the objects the platform writes and what it
#       reads back from them).
#
# KUBE_CACHE defaults to /var/cache/deis/kube (survives on the machine, like the stack images).
# The build runs with `nice -n 19`, GOMAXPROCS=1 and `go build -p 1` unless KUBE_BUILD_JOBS says
# otherwise, so it does not starve a shared machine.
set -euo pipefail

KUBE_CACHE=${KUBE_CACHE:-/var/cache/deis/kube}
KUBE_STATE=${KUBE_STATE:-${TMPDIR:-/tmp}/deis-kube-control-plane}
BINARIES=(kube-apiserver kube-controller-manager)

say() { printf '==> %s\n' "$*" >&2; }
die() {
    say "$*"
    exit 1
}

bin_dir() { printf '%s/current/bin' "$KUBE_CACHE"; }

have_binaries() {
    local b
    for b in "${BINARIES[@]}"; do
        [ -x "$(bin_dir)/$b" ] || return 1
    done
}

# ---------------------------------------------------------------------------------- build
source_version() {
    # v1.<newest CHANGELOG minor>-<hash of go.mod and go.sum>: one cache entry per tree
    local minor hash
    minor=$(find "$KUBE_SRC/CHANGELOG" -name 'CHANGELOG-1.*.md' -printf '%f\n' 2>/dev/null |
        sed -n 's/^CHANGELOG-1\.\([0-9]*\)\.md$/\1/p' | sort -n | tail -1)
    [ -n "$minor" ] || minor=0
    hash=$(cat "$KUBE_SRC/go.mod" "$KUBE_SRC/go.sum" | sha256sum | cut -c1-12)
    printf 'v1.%s-%s' "$minor" "$hash"
}

build() {
    [ -n "${KUBE_SRC:-}" ] || die "KUBE_SRC must name a Kubernetes source tree (v1.24 era)"
    KUBE_SRC=$(cd "$KUBE_SRC" && pwd)
    [ -f "$KUBE_SRC/cmd/kube-apiserver/apiserver.go" ] || die "$KUBE_SRC is not a Kubernetes source tree"
    command -v go >/dev/null || die "go is missing: apt-get install --no-install-recommends golang-go"
    local version out jobs minor t0=$SECONDS
    version=$(source_version)
    out="$KUBE_CACHE/$version"
    jobs=${KUBE_BUILD_JOBS:-1}
    minor=${version#v1.}
    minor=${minor%%-*}
    mkdir -p "$out/bin" "$out/work"
    export GOFLAGS=-mod=vendor GOMAXPROCS="$jobs" GOCACHE="$out/work/gocache" GOTOOLCHAIN=local
    export GOPATH="$out/work/gopath" CGO_ENABLED=0
    local nice=(nice -n 19)

    local openapi="$KUBE_SRC/pkg/generated/openapi/zz_generated.openapi.go"
    if [ ! -s "$openapi" ]; then
        say "building the tree's openapi-gen"
        (cd "$KUBE_SRC" && "${nice[@]}" go build -p "$jobs" -o "$out/work/openapi-gen" ./vendor/k8s.io/kube-openapi/cmd/openapi-gen)
        say "generating pkg/generated/openapi/zz_generated.openapi.go (as Makefile.generated_files does)"
        # the generator runs in GOPATH mode, inside a GOPATH whose k8s.io/kubernetes is the tree
        local gp="$out/work/gen-gopath"
        mkdir -p "$gp/src/k8s.io"
        ln -snf "$KUBE_SRC" "$gp/src/k8s.io/kubernetes"
        local dirs
        # every Go directory of the tree (staging/src named as vendor/, as
        # hack/make-rules/helpers/cache_go_dirs.sh does) whose files carry +k8s:openapi-gen=
        dirs=$(cd "$KUBE_SRC" && find -H . \( -name '_*' -o -name '.[^.]*' -o \( -name vendor -type d \) \
            -o \( -name testdata -type d \) \) -prune -o -type f -name '*.go' -print |
            xargs grep -l '^// *+k8s:' | xargs grep -l '+k8s:openapi-gen=' |
            sed -e 's|^\./||' -e 's|^staging/src/|vendor/|' |
            grep -v -e '^vendor/k8s.io/code-generator/' -e '^vendor/k8s.io/sample-apiserver/' |
            xargs -n1 dirname | LC_ALL=C sort -u | sed 's|^|k8s.io/kubernetes/|' | paste -sd, -)
        (cd "$gp/src/k8s.io/kubernetes" && GO111MODULE=off GOPATH="$gp" GOFLAGS= "${nice[@]}" "$out/work/openapi-gen" \
            --logtostderr -i "$dirs" -p k8s.io/kubernetes/pkg/generated/openapi -O zz_generated.openapi \
            -h vendor/k8s.io/code-generator/hack/boilerplate.go.txt -r "$out/work/openapi-violations.report")
        [ -s "$openapi" ] || die "openapi-gen wrote no $openapi"
    fi

    local ldflags="" key val
    for kv in "gitVersion=v1.$minor.0-deis-test" "gitMajor=1" "gitMinor=$minor" "gitTreeState=clean" \
        "buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"; do
        key=${kv%%=*}
        val=${kv#*=}
        ldflags+=" -X k8s.io/component-base/version.$key=$val -X k8s.io/client-go/pkg/version.$key=$val"
    done
    local b
    for b in "${BINARIES[@]}"; do
        say "building $b (nice -n 19, -p $jobs, GOMAXPROCS=$jobs)"
        (cd "$KUBE_SRC" && "${nice[@]}" go build -p "$jobs" -tags=providerless -trimpath \
            -ldflags "-s -w$ldflags" -o "$out/bin/$b.tmp" "./cmd/$b")
        mv "$out/bin/$b.tmp" "$out/bin/$b"
    done
    ln -snf "$version" "$KUBE_CACHE/current"
    say "built into $out/bin ($KUBE_CACHE/current) in $(((SECONDS - t0) / 60)) min $(((SECONDS - t0) % 60)) s"
    rm -rf "$out/work/gocache" "$out/work/gen-gopath" "$out/work/gopath"
    "$out/bin/kube-apiserver" --version
}

gateway_api() {
    [ -n "${GATEWAY_API_SRC:-}" ] || die "GATEWAY_API_SRC must name a gateway-api tree (v1.0)"
    local dir="$GATEWAY_API_SRC/config/crd/standard" kind
    mkdir -p "$KUBE_CACHE/gateway-api"
    for kind in gateways httproutes referencegrants; do
        [ -f "$dir/gateway.networking.k8s.io_$kind.yaml" ] || die "no $dir/gateway.networking.k8s.io_$kind.yaml"
        cp "$dir/gateway.networking.k8s.io_$kind.yaml" "$KUBE_CACHE/gateway-api/"
    done
    say "the Gateway API CRDs are in $KUBE_CACHE/gateway-api: start installs them"
}

cert_manager() {
    [ -n "${CERT_MANAGER_SRC:-}" ] || die "CERT_MANAGER_SRC must name a cert-manager tree or git directory (v1.x)"
    local file=deploy/crds/cert-manager.io_certificates.yaml
    mkdir -p "$KUBE_CACHE/cert-manager"
    if [ -f "$CERT_MANAGER_SRC/$file" ]; then
        cp "$CERT_MANAGER_SRC/$file" "$KUBE_CACHE/cert-manager/"
    else
        git --git-dir "$CERT_MANAGER_SRC" show "HEAD:$file" >"$KUBE_CACHE/cert-manager/certificates.yaml" ||
            die "no $file in $CERT_MANAGER_SRC"
    fi
    say "cert-manager's Certificate CRD is in $KUBE_CACHE/cert-manager: start installs it"
}

install_crds() { # server token directory group-version what
    local crd code
    for crd in "$KUBE_CACHE/$3"/*.yaml; do
        [ -f "$crd" ] || return 0
        code=$(curl -s -o "$KUBE_STATE/logs/crd.out" -w '%{http_code}' --cacert "$KUBE_STATE/pki/ca.crt" \
            -H "Authorization: Bearer $2" -H 'Content-Type: application/yaml' --data-binary "@$crd" \
            "$1/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
        [ "$code" = 201 ] || die "installing $crd answered $code: $(cat "$KUBE_STATE/logs/crd.out")"
    done
    wait_for "$1/apis/$4" "$2" 30 || die "$5 is not served"
    say "$5's CRDs are installed"
}

# ---------------------------------------------------------------------------------- start
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_for() { # url token timeout-seconds
    local url=$1 token=$2 deadline=$((SECONDS + $3))
    while [ $SECONDS -lt "$deadline" ]; do
        if curl -sf --cacert "$KUBE_STATE/pki/ca.crt" -H "Authorization: Bearer $token" "$url" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.3
    done
    return 1
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
    have_binaries || die "no binaries in $(bin_dir): run KUBE_SRC=/path/to/kubernetes $0 build"
    command -v etcd >/dev/null || die "etcd is missing: apt-get install --no-install-recommends etcd-server"
    if alive "$KUBE_STATE/kube-apiserver.pid"; then
        say "already running in $KUBE_STATE"
        printf 'export KUBECONFIG=%s\n' "$KUBE_STATE/kubeconfig"
        return 0
    fi
    local bin pki t0=$SECONDS
    bin=$(bin_dir)
    pki="$KUBE_STATE/pki"
    mkdir -p "$pki" "$KUBE_STATE/etcd" "$KUBE_STATE/logs"
    chmod 700 "$KUBE_STATE"

    # a CA, the API server's serving certificate for 127.0.0.1, the service-account keys
    (
        cd "$pki"
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 30 \
            -subj /CN=deis-test-kubernetes-ca 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr \
            -subj /CN=kube-apiserver 2>/dev/null
        printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc' \
            'extendedKeyUsage=serverAuth' >apiserver.ext
        openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
            -out apiserver.crt -days 30 -extfile apiserver.ext 2>/dev/null
        openssl genrsa -out sa.key 2048 2>/dev/null
        openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    )
    local admin_token kcm_token
    admin_token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    kcm_token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    printf '%s,admin,uid-admin,"system:masters"\n%s,system:kube-controller-manager,uid-kcm\n' \
        "$admin_token" "$kcm_token" >"$pki/tokens.csv"
    chmod 600 "$pki"/*

    local etcd_port peer_port api_port kcm_port
    etcd_port=$(free_port)
    peer_port=$(free_port)
    api_port=$(free_port)
    kcm_port=$(free_port)

    say "etcd on 127.0.0.1:$etcd_port"
    setsid etcd --name deis-test --data-dir "$KUBE_STATE/etcd" \
        --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
        --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
        --initial-cluster "deis-test=http://127.0.0.1:$peer_port" --log-level warn \
        --quota-backend-bytes 1073741824 \
        >"$KUBE_STATE/logs/etcd.log" 2>&1 </dev/null &
    echo $! >"$KUBE_STATE/etcd.pid"

    say "kube-apiserver on https://127.0.0.1:$api_port"
    setsid "$bin/kube-apiserver" \
        --etcd-servers "http://127.0.0.1:$etcd_port" \
        --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
        --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
        --client-ca-file "$pki/ca.crt" --token-auth-file "$pki/tokens.csv" \
        --authorization-mode RBAC --anonymous-auth=false \
        --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
        --service-account-issuer https://kubernetes.default.svc.cluster.local \
        --service-cluster-ip-range 10.96.0.0/16 --allow-privileged=true \
        --kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types InternalIP \
        --feature-gates CustomResourceValidationExpressions=true \
        --cert-dir "$KUBE_STATE/pki" --profiling=false --v 1 \
        >"$KUBE_STATE/logs/kube-apiserver.log" 2>&1 </dev/null &
    echo $! >"$KUBE_STATE/kube-apiserver.pid"

    local server="https://127.0.0.1:$api_port"
    write_kubeconfig "$KUBE_STATE/kubeconfig" "$server" admin "$admin_token"
    write_kubeconfig "$KUBE_STATE/kube-controller-manager.kubeconfig" "$server" \
        system:kube-controller-manager "$kcm_token"
    chmod 600 "$KUBE_STATE"/*.kubeconfig "$KUBE_STATE/kubeconfig"

    if ! wait_for "$server/readyz" "$admin_token" 60; then
        tail -20 "$KUBE_STATE/logs/kube-apiserver.log" >&2
        stop
        die "kube-apiserver did not become ready in 60 s (log: $KUBE_STATE/logs/kube-apiserver.log)"
    fi

    install_crds "$server" "$admin_token" gateway-api gateway.networking.k8s.io/v1 "the Gateway API"
    install_crds "$server" "$admin_token" cert-manager cert-manager.io/v1 "cert-manager"

    say "kube-controller-manager (healthz on 127.0.0.1:$kcm_port)"
    setsid "$bin/kube-controller-manager" \
        --kubeconfig "$KUBE_STATE/kube-controller-manager.kubeconfig" \
        --authentication-kubeconfig "$KUBE_STATE/kube-controller-manager.kubeconfig" \
        --authorization-kubeconfig "$KUBE_STATE/kube-controller-manager.kubeconfig" \
        --bind-address 127.0.0.1 --secure-port "$kcm_port" --cert-dir "$KUBE_STATE/pki/kcm" \
        --leader-elect=false --use-service-account-credentials=true \
        --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
        --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
        --kube-api-qps 200 --kube-api-burst 400 --concurrent-gc-syncs 5 \
        --horizontal-pod-autoscaler-sync-period 5s --profiling=false --v 1 \
        >"$KUBE_STATE/logs/kube-controller-manager.log" 2>&1 </dev/null &
    echo $! >"$KUBE_STATE/kube-controller-manager.pid"
    local deadline=$((SECONDS + 30))
    until curl -sfk "https://127.0.0.1:$kcm_port/healthz" >/dev/null 2>&1; do
        if ! alive "$KUBE_STATE/kube-controller-manager.pid" || [ $SECONDS -ge $deadline ]; then
            tail -20 "$KUBE_STATE/logs/kube-controller-manager.log" >&2
            stop
            die "kube-controller-manager did not become healthy (log: $KUBE_STATE/logs/kube-controller-manager.log)"
        fi
        sleep 0.3
    done
    say "ready in $((SECONDS - t0)) s; logs in $KUBE_STATE/logs"
    printf 'export KUBECONFIG=%s\n' "$KUBE_STATE/kubeconfig"
}

write_kubeconfig() { # path server user token
    cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: deis-test
  cluster:
    server: $2
    certificate-authority: $KUBE_STATE/pki/ca.crt
users:
- name: $3
  user:
    token: $4
contexts:
- name: deis-test
  context:
    cluster: deis-test
    user: $3
current-context: deis-test
EOF
}

stop() {
    local name pid
    for name in kube-controller-manager kube-apiserver etcd; do
        [ -f "$KUBE_STATE/$name.pid" ] || continue
        pid=$(cat "$KUBE_STATE/$name.pid")
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$KUBE_STATE/$name.pid"
    done
}

env_() {
    if have_binaries; then
        printf 'binaries: %s (%s)\n' "$(bin_dir)" "$(readlink "$KUBE_CACHE/current")"
    else
        printf 'binaries: none in %s (run KUBE_SRC=/path/to/kubernetes %s build)\n' "$(bin_dir)" "$0"
    fi
    printf 'etcd: %s\n' "$(command -v etcd || echo 'missing (apt-get install --no-install-recommends etcd-server)')"
    printf 'gateway-api CRDs: %s\n' "$(ls "$KUBE_CACHE"/gateway-api/*.yaml 2>/dev/null | wc -l)"
    printf 'cert-manager CRDs: %s\n' "$(ls "$KUBE_CACHE"/cert-manager/*.yaml 2>/dev/null | wc -l)"
    if alive "$KUBE_STATE/kube-apiserver.pid"; then
        printf 'running: export KUBECONFIG=%s\n' "$KUBE_STATE/kubeconfig"
    fi
}

case "${1:-}" in
build) build ;;
start) start ;;
stop) stop ;;
env) env_ ;;
gateway-api) gateway_api ;;
cert-manager) cert_manager ;;
*)
    printf 'usage: [KUBE_SRC=...] [KUBE_STATE=...] %s build|start|stop|env|gateway-api\n' "$0" >&2
    exit 2
    ;;
esac
