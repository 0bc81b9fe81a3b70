#!/usr/bin/env bash
# Installs the official OCI Python SDK (PyPI `oci`, pinned) into a virtual environment in a cache
# folder and prints that environment's python on its last line. Tests drive the SDK's signer and its
# Vault, Secrets and KMS clients against Keyward's signer and emulator with it
# (tests/providers/oci_sdk.rs).
# Idempotent: an existing venv with the pinned version is reused; an interrupted install is redone.
# Environment:
#   KEYWARD_TOOLS_CACHE  cache folder (default: ${XDG_CACHE_HOME:-$HOME/.cache}/keyward-tools)
set -euo pipefail

OCI_VERSION="2.189.0"
CACHE="${KEYWARD_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/keyward-tools}"
VENV="$CACHE/oci-sdk-$OCI_VERSION"
PYTHON="$VENV/bin/python"

log() { echo "install-oci-sdk: $*" >&2; }

if [[ -x "$PYTHON" && -f "$VENV/.complete" ]]; then
  echo "$PYTHON"
  exit 0
fi

mkdir -p "$CACHE"
# Test threads may run this at once: one installs, the others wait and reuse.
exec 9>"$CACHE/.oci-sdk.lock"
flock 9
if [[ ! -x "$PYTHON" || ! -f "$VENV/.complete" ]]; then
  rm -rf "$VENV"
  log "creating $VENV and installing oci==$OCI_VERSION"
  python3 -m venv "$VENV"
  "$PYTHON" -m pip install --quiet --disable-pip-version-check "oci==$OCI_VERSION" >&2
  "$PYTHON" -c "import oci, sys; sys.exit(oci.__version__ != '$OCI_VERSION')" ||
    { log "oci $OCI_VERSION does not import after the install"; exit 1; }
  # Marks a finished install, so an interrupted one is redone rather than reused.
  touch "$VENV/.complete"
  log "oci $("$PYTHON" -c 'import oci; print(oci.__version__)')"
fi
echo "$PYTHON"
