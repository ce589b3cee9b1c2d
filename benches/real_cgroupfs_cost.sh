#!/bin/sh
# Real-cgroupfs cost of one sweep (cgroup v1/hybrid hosts, root only): creates N cgroups with a
# memory limit in the memory, cpu, cpuacct, pids (and unified, if present) hierarchies, times
# `crashwatch collect` in host mode over them three times, and removes them again (also on error).
#   sh benches/real_cgroupfs_cost.sh            # N=1000, BIN=target/release/crashwatch
N=${N:-1000}
BIN=${BIN:-target/release/crashwatch}
CG=/sys/fs/cgroup
if [ "$(id -u)" != 0 ] || [ ! -d $CG/memory ]; then echo "needs root and a cgroup v1 memory hierarchy"; exit 0; fi
CTRLS="memory cpu cpuacct pids"
[ -f $CG/unified/cgroup.controllers ] && CTRLS="$CTRLS unified"
OUT=$(mktemp -d)
cleanup() {
  for c in $CTRLS; do
    [ -d $CG/$c/cwbench ] || continue
    find $CG/$c/cwbench -mindepth 1 -maxdepth 1 -type d -exec rmdir {} \;
    rmdir $CG/$c/cwbench
  done
  rm -rf "$OUT"
}
trap cleanup EXIT INT TERM
for c in $CTRLS; do mkdir -p $CG/$c/cwbench; done
i=0
while [ $i -lt $N ]; do
  for c in $CTRLS; do mkdir $CG/$c/cwbench/c$i; done
  echo 268435456 > $CG/memory/cwbench/c$i/memory.limit_in_bytes
  i=$((i+1))
done
"$BIN" collect --once --format json --kubelet-url off >/dev/null 2>&1 # warm the dentry cache
for r in 1 2 3; do
  /usr/bin/time -f "run $r: %e s wall, %U s user, %S s sys" "$BIN" collect --once --format json --kubelet-url off \
    >/dev/null 2>>"$OUT/err"
done
grep -E "collected|run" "$OUT/err"
