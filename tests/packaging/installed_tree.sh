#!/bin/sh
# Installs the build into a fresh prefix and checks what a pilot would run:
# no file there names the source or the build directory (an installed tool must
# never load plugins or data from a tree a user could have created, and paths
# in debug information are relative), and the installed tools find their own
# data. Usage: installed_tree.sh <build dir> <source dir>
set -eu
build=$1
source=$2
# ASan and UBSan compile source file names into their reports (GCC 12 does not
# remap them with -ffile-prefix-map); a sanitizer build is never installed.
if [ "${3:-release}" = sanitize ]; then
  echo "skipped: a sanitizer build embeds source paths in its reports and is not for installing"
  exit 77
fi
if [ "${3:-release}" = unmapped ]; then
  echo "skipped: built with -DGPUKIT_MAP_SOURCE_PATHS=OFF (a developer's build, not for installing)"
  exit 77
fi
prefix=$(mktemp -d "${TMPDIR:-/tmp}/gpukit-install.XXXXXX")
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
found=0
for dir in "$source" "$build"; do
  dir=$(cd "$dir" && pwd -P)
  if hits=$(grep -r -a -l -F -e "$dir" "$prefix"); then
    echo "installed files name $dir:"
    echo "$hits" | sed "s|^$prefix|  <prefix>|"
    found=1
  fi
done
[ "$found" -eq 0 ] || exit 1
[ -n "$(find "$prefix/bin" -type f)" ] || { echo "nothing installed in bin/"; exit 1; }
[ -f "$prefix/share/gpukit/prometheus/gpukit.rules.yml" ] || { echo "the Prometheus rules are not installed"; exit 1; }
# The installed tools read the installed data, with nothing pointing them there.
env -u GPUKIT_DATA_DIR -u GPUKIT_PLUGIN_PATH "$prefix/bin/gpumatch" --input "$source/tests/fixtures/match/nvidia_mixed.json" \
  --require "$prefix/share/gpukit/examples/adept.json" --format json >/dev/null || [ $? -eq 1 ] || {
  echo "the installed gpumatch failed"; exit 1; }
echo "installed tree at a fresh prefix: no build or source path; data found"
