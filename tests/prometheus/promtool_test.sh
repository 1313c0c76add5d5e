#!/bin/sh
# The shipped Prometheus rules (share/gpukit/prometheus) against their
# promtool unit tests. Usage: promtool_test.sh TEST.yml...
set -eu
if ! command -v promtool >/dev/null 2>&1; then
  echo "skipped: promtool is not installed (Debian package prometheus; scripts/setup installs it)"
  exit 77
fi
exec promtool test rules "$@"
