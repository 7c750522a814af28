#!/usr/bin/env bash
# Installs influxd 1.8.10, the InfluxDB the end-to-end tests start, into
# build/bin (GOBIN) with `go install`: about two minutes the first time,
# nothing afterwards while build/bin/influxd is that version.
set -euo pipefail
cd "$(dirname "$0")/.."
version=v1.8.10
bin=build/bin/influxd
if [ -x "$bin" ] && go version -m "$bin" 2>/dev/null | grep -Eq "^\s+mod\s+github.com/influxdata/influxdb\s+$version(\s|$)"; then
  exit 0
fi
echo "building influxd $version into build/bin (about 2 minutes, once) ..."
mkdir -p build/bin
GOBIN="$PWD/build/bin" go install "github.com/influxdata/influxdb/cmd/influxd@$version"
"$bin" version
