#!/usr/bin/env bash
# Builds the release binary the container image ships: one place for the flags, used by the
# Dockerfile and by CI alike, so CI builds the very binary the image would contain.
#
#   cargo build --release --locked --target x86_64-unknown-linux-gnu --bin keyward
#   with RUSTFLAGS="-C target-feature=+crt-static"
#
# Why static glibc rather than musl: the musl standard library is not obtainable from this project's
# package sources (only crates.io, PyPI, Debian and npm are reachable), and the binary must be
# buildable in CI. With an explicit --target, RUSTFLAGS apply to the binary only (not to build
# scripts or proc-macros), and +crt-static yields a static-pie executable that runs on a
# distroless/static base. glibc >= 2.34 has the files and dns NSS modules built in, so name
# resolution works without shared libraries (distroless ships /etc/nsswitch.conf: files dns).
#
# Prints the path of the binary on stdout. Usage: deploy/build-release.sh [extra cargo args]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="x86_64-unknown-linux-gnu"
cd "$ROOT"
RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --release --locked --target "$TARGET" --bin keyward "$@" >&2
BIN="$ROOT/target/$TARGET/release/keyward"
# Refuse a dynamically linked result: the distroless/static base has no loader.
if command -v file >/dev/null && ! file -L "$BIN" | grep -q 'static'; then
  echo "build-release.sh: $BIN is not statically linked" >&2
  file -L "$BIN" >&2
  exit 1
fi
echo "$BIN"
