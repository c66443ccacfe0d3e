#!/bin/bash
# The dockerbuilder's entrypoint, in a build pod: fetch the source, build its Dockerfile
# with buildah, push the image.
#   SOURCE_URL     GET: the app's source, a gzipped tarball with a Dockerfile at its top
#   IMAGE          the image to build and push (REGISTRY/APP:git-SHA7)
#   RESULT_URL     PUT: where the image's exposed ports go, as JSON (optional)
#   DEIS_BUILD_ARGS=1: every file of /tmp/env (the config) becomes a --build-arg
#   REGISTRY_TLS_VERIFY: "false" for a plain-HTTP registry (default true)
#   /var/run/secrets/deis/registry-ca/ca.crt, if mounted: the CA that signed the
#                  registry's certificate (else Debian's CA bundle decides)
# Exit statuses: 10 the source could not be fetched, 20 the build failed, 21 the push,
# 22 the result (the exposed ports) could not be read or stored.
set -uo pipefail
usage() {  # the comment at the top of this file
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  --version) buildah --version; exit 0 ;;
esac
for var in SOURCE_URL IMAGE; do
  if [ -z "${!var:-}" ]; then echo "dockerbuilder: $var is not set" >&2; exit 2; fi
done
tls=${REGISTRY_TLS_VERIFY:-true}
ca=/var/run/secrets/deis/registry-ca/ca.crt
if [ -f "$ca" ]; then  # buildah reads a registry's own CA from certs.d/HOST[:PORT]/
  mkdir -p "/etc/containers/certs.d/${IMAGE%%/*}"
  cp "$ca" "/etc/containers/certs.d/${IMAGE%%/*}/ca.crt"
fi
mkdir -p /workspace/app
if ! curl --fail --silent --show-error --location --retry 3 "$SOURCE_URL" \
    | tar -xz -C /workspace/app; then
  echo "-----> Cannot fetch the source" >&2
  exit 10
fi
args=()
if [ "${DEIS_BUILD_ARGS:-0}" = 1 ] && [ -d /tmp/env ]; then
  for f in /tmp/env/*; do
    [ -f "$f" ] || continue
    name=$(basename "$f")
    [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] && args+=(--build-arg "$name=$(cat "$f")")
  done
fi
echo "-----> Building the Dockerfile"
if ! buildah build --tls-verify="$tls" -t "$IMAGE" "${args[@]}" /workspace/app 2>&1 \
    | sed -u 's/^/       /'; then
  exit 20
fi
echo "-----> Pushing $IMAGE"
if ! buildah push --tls-verify="$tls" "$IMAGE" "docker://$IMAGE" 2>&1 \
    | sed -u 's/^/       /'; then
  exit 21
fi
if [ -n "${RESULT_URL:-}" ]; then
  # buildah 1.28's templates have no `json` function: list the ports, write the JSON here
  if ! ports=$(buildah inspect --type image \
      --format '{{range $p, $_ := .OCIv1.Config.ExposedPorts}}{{$p}} {{end}}' "$IMAGE"); then
    echo "-----> Cannot read the image's exposed ports" >&2
    exit 22
  fi
  json=""
  for port in $ports; do json+="${json:+, }\"$port\": {}"; done
  printf '{%s}\n' "$json" > /tmp/ports.json
  curl --fail --silent --show-error --retry 3 -T /tmp/ports.json "$RESULT_URL" >/dev/null \
    || exit 22
fi
