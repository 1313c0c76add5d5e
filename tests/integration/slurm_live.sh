#!/bin/bash
# Slurm accepts gpukit's configuration as a site admin would write it: for the
# fake A100-MIG node and the fake 2-socket 8xH100 node (fixture sysfs trees and
# the fake NVML), slurm.conf and gres.conf come from `gpumatch --plan --format
# slurm` and `gpuprobe -f gres`; slurmctld and slurmd (Debian's slurm-wlm)
# run on 127.0.0.1 with unprivileged ports and auth/none, the node must come
# up IDLE with every GPU and MIG type counted and nothing logged as an error,
# and srun jobs must get the GPUs, MIG instances and shards they ask for.
#
# What the test changes in the generated files, and why:
# - gres.conf names /dev/nvidia*; the test rewrites "/dev/" to a temporary
#   directory and creates the device files there (mknod as root), since this
#   machine has no GPU.
# - The fake nodes' hardware (2 sockets, 112 CPUs...) is not this machine's, so
#   slurm.conf sets SlurmdParameters=config_overrides (slurm.conf(5): "only
#   useful for testing"): slurmd then takes the NodeName line as the node. The
#   NodeName line gpumatch writes for THIS machine is checked against the real
#   `slurmd -C` first, with no override.
# - NodeAddr=127.0.0.1 and Port= are added to the NodeName line; slurmd runs
#   with -N <name> so that it is that node. No cgroup.conf: jobs run under
#   proctrack/linuxproc and task/none (a container has no cgroup delegation),
#   so CUDA_VISIBLE_DEVICES holds Slurm's node-wide positions.
#
# Usage: slurm_live.sh BUILD_DIR SOURCE_DIR. Exit 77 when slurmctld/slurmd are
# not installed (scripts/setup installs slurm-wlm).
set -u
build=$1
src=$2
start_s=$(date +%s.%N)

for b in slurmctld slurmd srun scontrol; do
  if ! command -v "$b" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$b" ]; then
    echo "SKIP: $b is not installed (scripts/setup installs slurm-wlm)"
    exit 77
  fi
done
PATH=$PATH:/usr/sbin

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpukit-slurm.XXXXXX")
pids=()
stop_daemons() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  pids=()
}
cleanup() {
  stop_daemons
  if [ "${keep:-0}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

fakes=$build/tests/fakes
fixtures=$src/tests/fixtures
gpuprobe=$build/bin/gpuprobe
gpumatch=$build/bin/gpumatch
fake_env=(GPUKIT_NVML_LIBRARY=$fakes/nvidia/libnvidia-ml.so.1 GPUKIT_CUDA_LIBRARY=$fakes/nvidia/libcuda.so.1
          GPUKIT_AMDSMI_LIBRARY=$fakes/amdsmi/libamd_smi.so)
unset CUDA_VISIBLE_DEVICES NVIDIA_VISIBLE_DEVICES HIP_VISIBLE_DEVICES ROCR_VISIBLE_DEVICES

# --- 1. The NodeName line for this machine equals what slurmd -C prints here.
real=$(slurmd -C | head -1)
env "${fake_env[@]}" GPUKIT_FAKE_MACHINE="$fixtures/machines/nvidia_h100x8.json" "$gpuprobe" >"$tmp/host.json" ||
  fail "gpuprobe on this host"
ours=$("$gpumatch" --input "$tmp/host.json" --gpus 1 --cores-per-gpu 1 --plan --format slurm |
       grep '^NodeName=[^ ]* CPUs=' | sed 's/ Gres=.*//; s/ State=UNKNOWN//')
echo "slurmd -C: $real"
echo "gpumatch:  $ours"
[ "$ours" = "$real" ] || fail "gpumatch's NodeName line differs from slurmd -C on this host"

# --- 2. One fake node under a live slurmctld and slurmd.
port=$((20000 + $$ % 20000))

# write_configs LABEL SOURCE GRES_FROM SHARE -> $tmp/LABEL/etc/{slurm,gres}.conf; sets $name.
# SOURCE: probe:SYSFS:MACHINE (gpuprobe through the fixture sysfs tree and the
# fake NVML) or doc:FILE (a recorded node document of tests/fixtures/documents).
write_configs() {
  local label=$1 source=$2 gres_from=$3 share=$4
  local dir=$tmp/$label sysfs machine
  mkdir -p "$dir/etc" "$dir/state" "$dir/spool" "$dir/dev"
  case $source in
    probe:*)
      IFS=: read -r _ sysfs machine <<<"$source"
      env "${fake_env[@]}" GPUKIT_SYSFS_ROOT="$fixtures/sysfs/$sysfs" GPUKIT_FAKE_MACHINE="$fixtures/machines/$machine" \
        "$gpuprobe" >"$dir/node.json" || { fail "$label: gpuprobe"; return 1; }
      ;;
    doc:*) cp "$fixtures/documents/${source#doc:}" "$dir/node.json" ;;
  esac
  "$gpuprobe" --from-input -f gres <"$dir/node.json" >"$dir/gpuprobe.gres" || { fail "$label: gpuprobe -f gres"; return 1; }
  local plan_args=(--input "$dir/node.json" --gpus 1 --cores-per-gpu 1 --plan --format slurm)
  [ -n "$share" ] && plan_args+=(--share "$share")
  "$gpumatch" "${plan_args[@]}" >"$dir/plan.txt" || { fail "$label: gpumatch --plan"; return 1; }
  # Split the plan at its "# --- <file> ---" lines.
  awk -v d="$dir" '/^# --- .* ---$/ { f = d "/plan." $3; next } f { print > f }' "$dir/plan.txt"
  name=$(grep -o '^NodeName=[^ ]* CPUs=' "$dir/plan.slurm.conf" | head -1 | sed 's/^NodeName=//; s/ CPUs=$//')
  [ -n "$name" ] || { fail "$label: no NodeName line in the plan"; return 1; }

  # Both tools name the same devices the same way.
  if ! diff <(grep -v '^#' "$dir/gpuprobe.gres") <(grep -v -E '^#|Name=(shard|mps) ' "$dir/plan.gres.conf" | sed 's/^NodeName=[^ ]* //'); then
    fail "$label: gpuprobe -f gres and gpumatch's gres.conf differ"
  fi

  cat >"$dir/etc/slurm.conf" <<EOF
ClusterName=gpukit
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/none
CredType=cred/none
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MailProg=/bin/true
SlurmdParameters=config_overrides
EOF
  sed "s|^\(NodeName=$name .*\) State=UNKNOWN|\1 NodeAddr=127.0.0.1 Port=$((port + 1)) State=UNKNOWN|" \
    "$dir/plan.slurm.conf" >>"$dir/etc/slurm.conf"
  if [ "$gres_from" = gpuprobe ]; then
    cp "$dir/gpuprobe.gres" "$dir/etc/gres.conf"
  else
    cp "$dir/plan.gres.conf" "$dir/etc/gres.conf"
  fi
  sed -i "s|/dev/|$dir/dev/|g" "$dir/etc/gres.conf"
  make_device_files "$dir"
}

# Every File=/MultipleFiles= path of gres.conf, as a character device
# (NVIDIA's majors: 195 for /dev/nvidiaN, a made-up 237 for nvidia-caps).
make_device_files() {
  local dir=$1 f minor major
  for f in $(grep -o 'File[s]*=[^ ]*' "$dir/etc/gres.conf" | cut -d= -f2 | tr ',' '\n' | sort -u); do
    mkdir -p "$(dirname "$f")"
    minor=$(echo "$f" | grep -o '[0-9]*$')
    case $f in *nvidia-cap*) major=237 ;; *) major=195 ;; esac
    if [ "$(id -u)" = 0 ]; then mknod "$f" c "$major" "$minor" || fail "mknod $f"; else : >"$f"; fi
  done
}

# start_cluster DIR NAME: slurmctld and slurmd in the foreground, by PID.
start_cluster() {
  local dir=$1 name=$2
  export SLURM_CONF=$dir/etc/slurm.conf
  slurmctld -D -c -i -f "$SLURM_CONF" >"$dir/slurmctld.out" 2>&1 &
  pids+=($!)
  slurmd -D -N "$name" -f "$SLURM_CONF" >"$dir/slurmd.out" 2>&1 &
  pids+=($!)
}

wait_idle() {
  local name=$1 state pid
  for _ in $(seq 150); do
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || { fail "$name: a daemon exited"; return 1; }; done
    state=$(scontrol show node "$name" 2>/dev/null | grep -o 'State=[^ ]*' | head -1)
    case $state in State=IDLE) return 0 ;; *DRAIN*|*INVAL*) break ;; esac
    sleep 0.2
  done
  fail "$name: not IDLE after 30 s ($state)"
  scontrol show node "$name"
  return 1
}

# check_node DIR NAME: Gres= counts every type gres.conf lists, no DRAIN/INVAL.
check_node() {
  local dir=$1 name=$2 shown type count want
  shown=$(scontrol show node "$name")
  echo "$shown" | sed 's/^/    /'
  echo "$shown" | grep -q -E 'State=[A-Z+]*(DRAIN|INVAL)' && fail "$name: drained or invalid"
  while read -r type count; do
    want="gpu:$type:$count"
    echo "$shown" | grep -q -E "Gres=([^ ]*,)?$want(\(|,| |$)" || fail "$name: Gres= lacks $want"
  done < <(grep -o 'Name=gpu Type=[^ ]*' "$dir/etc/gres.conf" | cut -d= -f3 | sort | uniq -c | awk '{print $2, $1}')
  # Shards or MPS: the node line's count, which slurmctld shows with the GPU type.
  want=$(grep -o 'Gres=[^ ]*' "$dir/etc/slurm.conf" | tr ',' '\n' | grep -E '^(shard|mps):')
  if [ -n "$want" ]; then
    echo "$shown" | grep -q -E "[=,]${want%%:*}:([^:,]*:)?${want##*:}(\(|,| |$)" || fail "$name: Gres= lacks $want"
  fi
}

# job GRES: srun one task with --gres GRES; prints CUDA_VISIBLE_DEVICES.
job() {
  local out
  out=$(timeout 30 srun -N1 -n1 --gres="$1" -t 1 printenv CUDA_VISIBLE_DEVICES 2>&1)
  echo "    srun --gres=$1: CUDA_VISIBLE_DEVICES=$out" >&2
  echo "$out"
}

# The position of the first gres.conf gpu record of TYPE: what Slurm hands a
# job without cgroups.
position_of() {
  grep -E '^(NodeName=[^ ]* )?Name=gpu ' "$1/etc/gres.conf" | grep -n "Type=$2 " | head -1 | cut -d: -f1 |
    awk '{print $1 - 1}'
}

check_logs() {
  local dir=$1 log
  for log in "$dir/slurmctld.log" "$dir/slurmd.log"; do
    echo "--- $log"
    sed 's/^/    /' "$log"
    # Not about this configuration, so not counted: Debian's mpi/pmix plugins
    # log errors when libpmix is not installed, whatever MpiDefault says, and
    # a fresh StateSaveLocation has no state files yet.
    if grep 'error:' "$log" |
       grep -v -q -E 'mpi/pmix|MPI: Cannot create context|Could not open [a-z]+ state file .*No such file|Trying backup state save file'; then fail "$(basename "$dir"): error lines in $(basename "$log")"; fi
  done
}

run_node() {
  local label=$1 source=$2 gres_from=$3 share=$4 name
  echo "=== $label ($source, gres.conf from $gres_from${share:+, --share $share})"
  write_configs "$label" "$source" "$gres_from" "$share" || return
  local dir=$tmp/$label
  echo "--- $dir/etc/gres.conf"
  sed 's/^/    /' "$dir/etc/gres.conf"
  start_cluster "$dir" "$name"
  if wait_idle "$name"; then
    check_node "$dir" "$name"
    local got mig_type
    got=$(job gpu:1)
    [[ $got =~ ^[0-9]+$ ]] || fail "$label: gpu:1 job got CUDA_VISIBLE_DEVICES=$got"
    # Each MIG type: the job gets the first record of that type (no cgroup
    # here, so CUDA_VISIBLE_DEVICES is the record's node-wide position).
    for mig_type in $(grep -o 'Name=gpu Type=[^ ]*_[0-9]g\.[0-9]*gb' "$dir/etc/gres.conf" | cut -d= -f3 | sort -u); do
      got=$(job "gpu:$mig_type:1")
      [ "$got" = "$(position_of "$dir" "$mig_type")" ] ||
        fail "$label: gpu:$mig_type:1 job got CUDA_VISIBLE_DEVICES=$got, not the MIG record's position"
    done
    if [ -n "$share" ]; then
      got=$(job "${share%%:*}:1")
      [[ $got =~ ^[0-9]+$ ]] || fail "$label: ${share%%:*}:1 job got CUDA_VISIBLE_DEVICES=$got"
    fi
  fi
  stop_daemons
  check_logs "$dir"
}

# The A100-MIG node probed through the fake NVML, gres.conf straight from
# gpuprobe; the recorded 2-socket 8xH100 node (112 cores, 224 threads: Cores=
# must be core indices), gpumatch's own gres.conf, shared as shards, then
# through MPS.
run_node a100-mig probe:nvidia_a100_mig:nvidia_a100_mig.json gpuprobe ""
port=$((port + 2))
run_node h100x8 doc:nvidia_h100x8.json gpumatch shard:4
port=$((port + 2))
run_node h100x8-mps doc:nvidia_h100x8.json gpumatch mps:100

end_s=$(date +%s.%N)
awk -v a="$start_s" -v b="$end_s" 'BEGIN { printf "wall time: %.1f s\n", b - a }'
[ "$failures" = 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "PASS"
