#!/usr/bin/env bash
# The chart ships the CRDs in charts/keyward/crds/ as exact copies of the generated top-level crds/
# (one source of truth: `keyward crd` writes crds/).
#   charts/crds.sh check   fails when the copies differ from crds/ (missing, extra or changed files)
#   charts/crds.sh sync    makes the copies equal to crds/
# While crds/ does not exist yet, `check` passes only if the chart has no CRD copies either.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/crds"
DST="$ROOT/charts/keyward/crds"

list_yaml() { [[ -d "$1" ]] && (cd "$1" && find . -maxdepth 1 -type f \( -name '*.yaml' -o -name '*.yml' \) -printf '%f\n' | sort) || true; }

case "${1:-check}" in
  sync)
    if [[ ! -d "$SRC" ]]; then
      echo "crds.sh: $SRC does not exist; nothing to copy" >&2
      rm -rf "$DST"
      exit 0
    fi
    rm -rf "$DST"
    mkdir -p "$DST"
    while read -r f; do cp "$SRC/$f" "$DST/$f"; done < <(list_yaml "$SRC")
    echo "crds.sh: copied $(list_yaml "$DST" | wc -l) CRD file(s) into charts/keyward/crds/" >&2
    ;;
  check)
    src_files="$(list_yaml "$SRC")"
    dst_files="$(list_yaml "$DST")"
    if [[ -z "$src_files" ]]; then
      if [[ -n "$dst_files" ]]; then
        echo "crds.sh: charts/keyward/crds/ has files but crds/ has none" >&2
        exit 1
      fi
      echo "crds.sh: crds/ not generated yet; the chart has no CRD copies (ok)" >&2
      exit 0
    fi
    if [[ "$src_files" != "$dst_files" ]]; then
      echo "crds.sh: the chart's CRD files differ from crds/:" >&2
      diff <(echo "$src_files") <(echo "$dst_files") >&2 || true
      echo "run: charts/crds.sh sync" >&2
      exit 1
    fi
    status=0
    while read -r f; do
      if ! cmp -s "$SRC/$f" "$DST/$f"; then
        echo "crds.sh: charts/keyward/crds/$f differs from crds/$f" >&2
        status=1
      fi
    done <<< "$src_files"
    if [[ $status -ne 0 ]]; then echo "run: charts/crds.sh sync" >&2; exit 1; fi
    echo "crds.sh: $(echo "$src_files" | wc -l) CRD file(s) identical to crds/" >&2
    ;;
  *)
    echo "usage: $0 [check|sync]" >&2
    exit 2
    ;;
esac
