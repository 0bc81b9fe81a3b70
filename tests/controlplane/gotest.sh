#!/usr/bin/env bash
# Run the Go unit tests of server/ (the controllers' pure decision logic) with the toolchain and
# libraries up.sh extracted; extra arguments go to `go test` (e.g. -run TestDecideDependent -v).
# Needs one earlier up.sh run (packages extracted, openapi models generated).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${KEYWARD_CACHE:-$HOME/.cache/keyward}/controlplane
ROOT=$CACHE/root
PKG=keyward.dev/controlplane
GENERATED=$CACHE/gopath/src/$PKG/generated
[ -s "$ROOT/.complete" ] && [ -d "$GENERATED" ] || { echo "gotest.sh: run up.sh once first" >&2; exit 1; }
WORK=$CACHE/gotest

export GO111MODULE=off GOTOOLCHAIN=local GOPROXY=off GOFLAGS= CGO_ENABLED=0
GOROOT=$(ls -d "$ROOT"/usr/lib/go-1.* | sort -V | tail -n1)
export GOROOT GOPATH=$WORK:$ROOT/usr/share/gocode GOCACHE=$CACHE/gocache
export PATH=$GOROOT/bin:$PATH

mkdir -p "$CACHE"
# build.sh rewrites the generated models under this lock.
exec 8>"$CACHE/build.lock"
flock 8
rm -rf "$WORK/src/$PKG"
mkdir -p "$WORK/src/$PKG"
cp "$HERE"/server/*.go "$WORK/src/$PKG/"
cp -r "$GENERATED" "$WORK/src/$PKG/generated"
go test "$@" "$PKG"
