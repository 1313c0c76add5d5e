#!/bin/sh
# gpubench's storage workloads on a full disk and on a read-only scratch
# directory (issue 16): small tmpfs mounts, made directly as root or in a user
# and mount namespace (unshare -rm) otherwise; exit 77 with the reason when
# neither can mount. After each run the scratch directory must be empty.
# Usage: storage_scratch.sh GPUBENCH
set -u
gpubench=$1
work=$(mktemp -d)
trap 'umount "$work/full" "$work/ro" 2>/dev/null; rm -rf "$work"' EXIT INT TERM
mkdir "$work/full" "$work/ro"

# The script below runs where the mounts are visible: here as root, else in a namespace.
cat > "$work/inner.sh" <<'INNER'
set -u
gpubench=$1; work=$2
mount -t tmpfs -o size=8m tmpfs "$work/full" || exit 77
mount -t tmpfs -o ro,size=1m tmpfs "$work/ro" || exit 77
# A full disk: the write hits ENOSPC, the result fails (no number), nothing stays.
"$gpubench" --workload storage_write --repetitions 1 --warmup 0 --scratch "$work/full" --max-storage 64MiB \
  -q -f json > "$work/full.json" 2> "$work/full.err"
echo "$?" > "$work/full.rc"
ls -A "$work/full" > "$work/full.left"
# A read-only scratch directory: one clear line, exit 2, nothing on stdout.
"$gpubench" --workload storage --scratch "$work/ro" -q > "$work/ro.out" 2> "$work/ro.err"
echo "$?" > "$work/ro.rc"
umount "$work/full" "$work/ro"
exit 0
INNER

if [ "$(id -u)" = 0 ]; then
  sh "$work/inner.sh" "$gpubench" "$work"
elif unshare -rm true 2>/dev/null; then
  unshare -rm sh "$work/inner.sh" "$gpubench" "$work"
else
  echo "skipped: cannot mount a tmpfs here (not root, no user namespaces)"; exit 77
fi
rc=$?
[ "$rc" = 77 ] && { echo "skipped: mounting a tmpfs failed"; exit 77; }
[ "$rc" = 0 ] || { echo "FAIL: the inner script failed ($rc)"; exit 1; }

fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi; }
check "full disk: exit 1 (a failed result)" '[ "$(cat "$work/full.rc")" = 1 ]'
check "full disk: nothing left in the scratch directory" '[ ! -s "$work/full.left" ]'
python3 - "$work/full.json" <<'PY' || fail=1
import json, sys
doc = json.load(open(sys.argv[1]))
r = [x for x in doc["bench"]["node"]["results"] if x["workload"] == "storage_write"][0]
ok = r["status"] == "failed" and r["value"] is None and r["stats"] is None and "No space left on device" in r["reason"]
print(("ok" if ok else "FAIL") + ": full disk: storage_write failed, no number, reason: " + str(r["reason"]))
sys.exit(0 if ok else 1)
PY
check "read-only: exit 2" '[ "$(cat "$work/ro.rc")" = 2 ]'
check "read-only: nothing on stdout" '[ ! -s "$work/ro.out" ]'
check "read-only: one line naming --scratch and the cause" \
  '[ "$(wc -l < "$work/ro.err")" = 1 ] && grep -q -- "--scratch $work/ro" "$work/ro.err" && grep -q "Read-only file system" "$work/ro.err"'
cat "$work/ro.err"
exit $fail
