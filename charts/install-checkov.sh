#!/usr/bin/env bash
# Installs checkov (PyPI) into a virtual environment in a cache folder and prints the checkov path on stdout.
# Idempotent: an existing venv with the pinned version is reused.
# Environment:
#   KEYWARD_TOOLS_CACHE  cache folder (default: ${XDG_CACHE_HOME:-$HOME/.cache}/keyward-tools)
set -euo pipefail

CHECKOV_VERSION="3.3.30"
CACHE="${KEYWARD_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/keyward-tools}"
VENV="$CACHE/checkov-$CHECKOV_VERSION"
CHECKOV="$VENV/bin/checkov"

log() { echo "install-checkov: $*" >&2; }

if [[ -x "$CHECKOV" && -f "$VENV/.complete" ]]; then
  echo "$CHECKOV"
  exit 0
fi

mkdir -p "$CACHE"
rm -rf "$VENV"
log "creating $VENV and installing checkov==$CHECKOV_VERSION (takes a minute or two)"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION" >&2
# Marks a finished install, so an interrupted one is redone rather than reused.
touch "$VENV/.complete"
log "$("$CHECKOV" --version)"
echo "$CHECKOV"
