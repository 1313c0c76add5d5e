#!/bin/sh
# Every man page renders without a warning (groff -ww): a warning is a line a
# reader sees broken or lost. Usage: man_pages.sh <page>...
set -eu
command -v groff >/dev/null 2>&1 || { echo "skipped: groff is not installed (Debian package groff-base)"; exit 77; }
warnings=$(groff -man -Tutf8 -ww -z "$@" 2>&1)
[ -z "$warnings" ] || { echo "$warnings"; exit 1; }
echo "$# pages render without a warning"
