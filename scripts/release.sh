#!/bin/sh
# release.sh builds the release binary of Monobase: stripped (-s -w), with
# no local paths in it (-trimpath) and no cgo, so it runs on any Linux of
# the same architecture. It prints the file's size.
#
#   sh scripts/release.sh [OUT]        # OUT defaults to dist/monobase
#
# GOOS and GOARCH pick another target (GOOS=darwin GOARCH=arm64 ...).
# VERSION is the version `monobase version` prints (internal/server.Version);
# it defaults to the short git commit.
set -eu
cd "$(dirname "$0")/.."
OUT=${1:-dist/monobase}
VERSION=${VERSION:-$(git rev-parse --short HEAD 2>/dev/null || echo dev)}
mkdir -p "$(dirname "$OUT")"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/monobase/monobase/internal/server.Version=$VERSION" -o "$OUT" ./cmd/monobase
size=$(wc -c <"$OUT")
echo "$OUT: $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1048576 }') MiB), version $VERSION"
