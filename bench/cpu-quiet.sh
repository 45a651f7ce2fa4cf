#!/usr/bin/env bash
# The one-core CPU figures (`l3 bench`, both coding modes and QOI in the same run) on a quiet machine:
# the GPU machine's host, whose cores are idle while no GPU suite runs (this project's 2-core VM is
# shared by builds). Two steps:
#   bench/cpu-quiet.sh pack        here: publish the CLI self-contained, pack it with the corpus PNGs
#                                  (L3_CORPUS, default ../shared/corpus) into .device/cpubench (git-ignored)
#   bash .device/cpubench/cpu-quiet.sh device [RUNS]
#                                  there, with .device/cpubench carried: lscpu's model and flags, then
#                                  `l3 bench --mode both --runs RUNS` pinned to one core (taskset)
# With the device tool: run(command="bash .device/cpubench/cpu-quiet.sh device", carry=[".device/cpubench"]).
set -euo pipefail
case "${1:-pack}" in
pack)
  cd "$(dirname "$0")/.."
  rm -rf .device/cpu-app .device/cpubench
  mkdir -p .device/cpubench/images
  dotnet publish cli -c Release -r linux-x64 --self-contained true -o .device/cpu-app/app
  tar czf .device/cpubench/l3.tar.gz -C .device/cpu-app app
  rm -rf .device/cpu-app
  cp "${L3_CORPUS:-../shared/corpus}"/*.png .device/cpubench/images/
  cp bench/cpu-quiet.sh .device/cpubench/
  du -sh .device/cpubench
  ;;
device)
  HERE=$(cd "$(dirname "$0")" && pwd)
  OUT=${OUT:-/tmp/l3-out}
  mkdir -p /tmp/l3cpu "$OUT"
  tar xzf "$HERE"/l3.tar.gz -C /tmp/l3cpu
  { lscpu | grep -E "Model name|^CPU\(s\)"; echo "AVX-512: $(grep -o 'avx512[a-z_0-9]*' /proc/cpuinfo | sort -u | tr '\n' ' ')"; } | tee "$OUT/cpu.txt"
  uptime | tee -a "$OUT/cpu.txt"
  taskset -c 2 /tmp/l3cpu/app/l3 bench --mode both --runs "${2:-5}" "$HERE"/images/*.png 2>&1 | tee "$OUT/bench.txt"
  ;;
esac
