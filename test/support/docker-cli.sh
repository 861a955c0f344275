#!/bin/bash
state="$(dirname "$0")/state"
echo "$*" >> "$state/calls"
driver_of() { [ -f "$state/builders/$1" ] && cat "$state/builders/$1"; }
inspect() {
  local name="$1" driver
  driver=$(driver_of "$name") || { echo "ERROR: no builder \"$name\" found" >&2; exit 1; }
  local endpoint="$name" suffix=""
  [ "$driver" = docker-container ] && endpoint="unix:///var/run/docker.sock" && suffix=0
  printf 'Name:          %s\nDriver:        %s\nLast Activity: 2026-01-01 00:00:00 +0000 UTC\n\nNodes:\n' "$name" "$driver"
  printf 'Name:             %s%s\nEndpoint:         %s\nStatus:           running\n' "$name" "$suffix" "$endpoint"
  printf 'BuildKit version: v0.23.2\nPlatforms:        linux/amd64, linux/amd64/v2, linux/amd64/v3, linux/386\n'
}
if [ "$1" = buildx ] && [ ! -f "$state/buildx" ]; then
  printf "docker: unknown command: docker buildx\n\nRun 'docker --help' for more information\n" >&2
  exit 1
fi
case "$1 $2" in
"info --format")
  if [ "$(cat "$state/store")" = containerd ]; then echo '[["driver-type","io.containerd.snapshotter.v1"]]'
  else echo '[["Backing Filesystem","extfs"],["Supports d_type","true"],["Using metacopy","false"],["Native Overlay Diff","true"],["userxattr","false"]]'
  fi ;;
"buildx inspect") inspect "${3:-${BUILDX_BUILDER:-$(cat "$state/current")}}" ;;
"buildx create")
  shift 2; name=""; driver=docker-container
  while [ $# -gt 0 ]; do case "$1" in --name) name="$2"; shift ;; --driver) driver="$2"; shift ;; esac; shift; done
  if [ -f "$state/create-fails" ]; then
    echo "ERROR: failed to initialize builder $name (${name}0): Error response from daemon: Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host" >&2
    exit 1
  fi
  echo "$driver" > "$state/builders/$name"; echo "$name" ;;
"buildx build")
  shift 2; builder="${BUILDX_BUILDER:-$(cat "$state/current")}"; args=(); dest=""; context=""
  while [ $# -gt 0 ]; do
    case "$1" in
    --builder) builder="$2"; shift ;;
    --output) dest=$(sed -n 's/.*dest=\([^,]*\).*/\1/p' <<<"$2"); shift ;;
    --provenance=*|--sbom=*) ;;
    --file|--platform|--build-arg|--label) args+=("$1" "$2"); shift ;;
    --cache-from|--cache-to) shift ;;
    *) context="$1" ;;
    esac
    shift
  done
  echo "#0 building with \"$builder\" instance using $(driver_of "$builder") driver" >&2
  if [ "$(driver_of "$builder")" = docker ] && [ "$(cat "$state/store")" != containerd ]; then
    printf 'ERROR: failed to build: OCI exporter is not supported for the docker driver.\nSwitch to a different driver, or turn on the containerd image store, and try again.\nLearn more at https://docs.docker.com/go/build-exporters/\n' >&2
    exit 1
  fi
  list="fake-docker-$$"; layout=$(mktemp -d)
  buildah build --quiet --manifest "$list" "${args[@]}" "$context" >/dev/null &&
    buildah manifest push --quiet --all --format oci "$list" "oci:$layout" &&
    tar -cf "$dest" -C "$layout" .
  status=$?; buildah manifest rm "$list" >/dev/null 2>&1; rm -rf "$layout"; exit $status ;;
*) echo "fake docker: unexpected command: $*" >&2; exit 2 ;;
esac
