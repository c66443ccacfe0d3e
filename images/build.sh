#!/bin/bash
# `make images`: build the platform's own images with podman, FROM the stack images the
# platform makes with debootstrap (made first if missing; nothing is pulled), then run
# each image's entry command once (--version) to show that it starts.
#   IMAGES        which ones (default: controller slugbuilder slugrunner dockerbuilder addons)
#   IMAGE_PREFIX  repository prefix (default: deis), e.g. registry.example.com/deis
#   VERSION       the tag (default: the package version)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
STACK_STORE=/var/lib/deis/stack-images
IMAGES=${IMAGES:-controller slugbuilder slugrunner dockerbuilder addons}
PREFIX=${IMAGE_PREFIX:-deis}
VERSION=${VERSION:-$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("deis-platform"))')}

"$PYTHON" -m deis.stack build >/dev/null
read -r BASE RUN BUILD < <("$PYTHON" -c '
from deis.stack.definition import base_image, build_image, run_image
print(base_image(), run_image(), build_image())')
ADDONS=""
if [[ " $IMAGES " == *" addons "* ]]; then  # the add-on stack, made once per machine
  ADDONS=$("$PYTHON" -c '
from deis.stack.build import ensure_extra
from deis.stack.definition import ADDON_STACK
print(ensure_extra(ADDON_STACK))')
fi

# podman as these machines need it (runc, cgroupfs, file events), reading the stack images
# from the machine-wide store without copying them
conf=$(mktemp)
trap 'rm -f "$conf"' EXIT
cat > "$conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
export CONTAINERS_CONF=$conf
podman=(podman --storage-opt "additionalimagestore=$STACK_STORE")

for image in $IMAGES; do
  tag="$PREFIX/$image:$VERSION"
  echo "==> podman build -t $tag (images/$image/Containerfile)"
  "${podman[@]}" build --pull=never --network=host --layers \
    --ignorefile images/containerignore \
    --build-arg "BASE_STACK=$BASE" --build-arg "RUN_STACK=$RUN" --build-arg "BUILD_STACK=$BUILD" \
    --build-arg "ADDONS_STACK=$ADDONS" \
    -f "images/$image/Containerfile" -t "$tag" .
done
for image in $IMAGES; do
  tag="$PREFIX/$image:$VERSION"
  if [ "$image" = controller ]; then
    version=$("${podman[@]}" run --rm --network=none "$tag" deisctl --version)
  elif [ "$image" = addons ]; then
    version=$("${podman[@]}" run --rm --network=none "$tag" \
      bash -c 'postgres --version; redis-server --version; curl --version | head -1')
  else
    version=$("${podman[@]}" run --rm --network=none "$tag" --version)
  fi
  echo "==> $tag starts: $version"
done
