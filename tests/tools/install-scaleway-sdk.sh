#!/usr/bin/env bash
# Installs the official Scaleway Python SDK (PyPI `scaleway`) into a virtual environment in a cache
# folder and prints that environment's python on its last line. Tests drive the SDK against the
# emulator with it (tests/providers/scaleway_sdk.rs).
# Idempotent: an existing venv with the pinned version is reused; an interrupted install is redone.
# Environment:
#   KEYWARD_TOOLS_CACHE  cache folder (default: ${XDG_CACHE_HOME:-$HOME/.cache}/keyward-tools)
set -euo pipefail

SCALEWAY_VERSION="2.12.0"
CACHE="${KEYWARD_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/keyward-tools}"
VENV="$CACHE/scaleway-sdk-$SCALEWAY_VERSION"
PYTHON="$VENV/bin/python"

log() { echo "install-scaleway-sdk: $*" >&2; }

if [[ -x "$PYTHON" && -f "$VENV/.complete" ]]; then
  echo "$PYTHON"
  exit 0
fi

mkdir -p "$CACHE"
# Test threads may run this at once: one installs, the others wait and reuse.
exec 9>"$CACHE/.scaleway-sdk.lock"
flock 9
if [[ ! -x "$PYTHON" || ! -f "$VENV/.complete" ]]; then
  rm -rf "$VENV"
  log "creating $VENV and installing scaleway==$SCALEWAY_VERSION"
  python3 -m venv "$VENV"
  "$PYTHON" -m pip install --quiet --disable-pip-version-check "scaleway==$SCALEWAY_VERSION" >&2
  # Marks a finished install, so an interrupted one is redone rather than reused.
  touch "$VENV/.complete"
  log "$("$PYTHON" -c 'import importlib.metadata as m; print("scaleway", m.version("scaleway"))')"
fi
echo "$PYTHON"
