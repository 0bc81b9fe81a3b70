#!/usr/bin/env bash
# Prints the path of promtool (Prometheus' rule checker), extracting it first when needed from
# Debian's prometheus package: `apt-get download` fetches the .deb and dpkg-deb unpacks it into a
# cache folder; nothing is installed into the system and no service starts.
# Environment:
#   KEYWARD_TOOLS_CACHE  cache folder (default: ${XDG_CACHE_HOME:-$HOME/.cache}/keyward-tools)
set -euo pipefail

CACHE="${KEYWARD_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/keyward-tools}"
DIR="$CACHE/promtool"
PROMTOOL="$DIR/usr/bin/promtool"

if [[ -x "$PROMTOOL" && -f "$DIR/.complete" ]]; then
  echo "$PROMTOOL"
  exit 0
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.promtool.lock"
flock 9
if [[ ! -x "$PROMTOOL" || ! -f "$DIR/.complete" ]]; then
  work=$(mktemp -d "$CACHE/promtool.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  # The archive's package lists may be missing on a fresh machine.
  (cd "$work" && apt-get download prometheus >/dev/null 2>&1) ||
    { apt-get update >/dev/null 2>&1 && (cd "$work" && apt-get download prometheus >/dev/null 2>&1); } ||
    { echo "install-promtool: cannot download Debian's prometheus package" >&2; exit 1; }
  rm -rf "$DIR"
  dpkg-deb -x "$work"/prometheus_*.deb "$DIR"
  touch "$DIR/.complete"
  echo "install-promtool: $("$PROMTOOL" --version 2>&1 | head -n 1)" >&2
fi
echo "$PROMTOOL"
