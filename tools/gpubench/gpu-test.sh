#!/bin/sh
# CTest label "gpu": gpubench on every GPU the node has, every workload,
# validated. 77 (skipped) when gpuprobe finds no GPU; a GPU that no backend can
# run fails. Usage: gpu-test.sh GPUBENCH [gpubench options...]
gpubench=$1
shift
csv=$("$gpubench" --device gpu --format csv "$@")
rc=$?
if [ -z "$csv" ]; then
  echo "gpubench failed before measuring anything (exit $rc)" >&2
  exit 1
fi
gpus=$(printf '%s\n' "$csv" | awk -F, '$2 == "gpu" || $2 == "mig"' | cut -d, -f1 | sort -u)
if [ -z "$gpus" ]; then
  echo "no GPU on this node: skipped"
  exit 77
fi
printf '%s\n' "$csv"
unusable=$(printf '%s\n' "$csv" | awk -F, '($2 == "gpu" || $2 == "mig") && $5 == "skipped" && /no compute backend/')
if [ -n "$unusable" ]; then
  echo "a GPU that no backend can run (see the reasons above)" >&2
  exit 1
fi
exit $rc
