#!/bin/sh
# Real-cgroupfs cost: N v1 cgroups with a memory limit (memory, cpu, cpuacct, pids hierarchies
# + unified), then time `collect` in host mode over them. Cleans up after itself.
N=${N:-1000}
BIN=${BIN:-target/release/crashwatch}
set -e
for c in memory cpu cpuacct pids unified; do mkdir -p /sys/fs/cgroup/$c/cwbench; done
i=0
while [ $i -lt $N ]; do
  for c in memory cpu cpuacct pids unified; do mkdir /sys/fs/cgroup/$c/cwbench/c$i; done
  echo 268435456 > /sys/fs/cgroup/memory/cwbench/c$i/memory.limit_in_bytes
  i=$((i+1))
done
$BIN collect --once --format json --kubelet-url off > /tmp/cwgen/real.json 2>/tmp/cwgen/real.err || true
for r in 1 2 3; do /usr/bin/time -f "run $r: %e s wall, %U s user, %S s sys" $BIN collect --once --format json --kubelet-url off >/dev/null 2>>/tmp/cwgen/real.err || true; done
grep -E "collected|run" /tmp/cwgen/real.err
i=0
while [ $i -lt $N ]; do
  for c in memory cpu cpuacct pids unified; do rmdir /sys/fs/cgroup/$c/cwbench/c$i; done
  i=$((i+1))
done
for c in memory cpu cpuacct pids unified; do rmdir /sys/fs/cgroup/$c/cwbench; done
