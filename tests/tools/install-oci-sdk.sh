#!/usr/bin/env bash
# Install the official OCI Python SDK (PyPI `oci`, pinned) into a venv in a cache folder and print
# that venv's python (last line). Idempotent: a venv that already imports the pinned version is reused.
# The SDK is the referee for Keyward's OCI client and emulator (tests/providers/oci_sdk.rs).
#
#   KEYWARD_CACHE  cache root (default ~/.cache/keyward); the venv is $KEYWARD_CACHE/oci-sdk/venv-$VERSION
# Usage: PY="$(tests/tools/install-oci-sdk.sh | tail -n1)"; "$PY" tests/tools/oci_sdk_driver.py ...
set -euo pipefail
VERSION=2.189.0
DIR=${KEYWARD_CACHE:-$HOME/.cache/keyward}/oci-sdk
VENV=$DIR/venv-$VERSION
PY=$VENV/bin/python

installed() {
  [ -x "$PY" ] && "$PY" -c "import oci, sys; sys.exit(0 if oci.__version__ == '$VERSION' else 1)" 2>/dev/null
}

if installed; then
  echo "$PY"
  exit 0
fi

mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9
if ! installed; then
  echo "install-oci-sdk.sh: installing oci==$VERSION into $VENV" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$PY" -m pip install --quiet --disable-pip-version-check "oci==$VERSION" >&2
  installed || { echo "install-oci-sdk.sh: oci $VERSION does not import after install" >&2; exit 1; }
fi
echo "$PY"
