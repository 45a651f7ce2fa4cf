#!/usr/bin/env bash
# The GPU figures of bench/RESULTS.md ("GPU"), in two steps:
#   bench/gpu/run.sh pack            here: publish the bench self-contained, pack it and the
#                                    images into .device/ (git-ignored)
#   bash .device/gpu/run.sh device [sizes]
#                                    on the GPU machine, from the repository root, with
#                                    .device/gpu carried: unpack, print the GPU, profile one decode
#                                    launch with Nsight Compute if present, run the bench: every
#                                    corpus image through every GPU path (checked), then the timings
#                                    (table last)
# With the device tool: run(command="bash .device/gpu/run.sh device", carry=[".device/gpu"]).
# The device tool sends the checkout its session started in: L3_DEVICE_DIR names that checkout's
# .device/gpu when this is run from another worktree (pack copies the files there too).
set -euo pipefail
case "${1:-pack}" in
pack)
  cd "$(dirname "$0")/../.."
  rm -rf .device/app
  mkdir -p .device/gpu/images
  dotnet publish bench/gpu/L3.GpuBench -c Release -r linux-x64 --self-contained true -o .device/app
  # the [L3Profile] sample beside it (same runtime files): the generated profiles' kernels on the GPU
  dotnet publish samples/L3.Samples -c Release -r linux-x64 --self-contained true -o .device/app
  tar cJf .device/gpu/gpubench.tar.xz -C .device app
  rm -rf .device/app
  for f in photo-forest-2048x1024 render-canopee-2048x1024 photo-graf1 photo-motorcycle-left photo-astronaut \
           photo-coffee render-altai-1080x1920; do
    cp "../shared/corpus/$f.png" .device/gpu/images/
  done
  mkdir -p .device/gpu/corpus
  cp ../shared/corpus/*.png .device/gpu/corpus/     # every corpus image, for the correctness pass
  cp bench/gpu/run.sh .device/gpu/run.sh
  if [ -n "${L3_DEVICE_DIR:-}" ]; then mkdir -p "$L3_DEVICE_DIR" && cp -r .device/gpu/. "$L3_DEVICE_DIR"/; fi
  du -sh .device/gpu
  ;;
device)
  OUT=${OUT:-/tmp/l3-out}
  mkdir -p /tmp/l3 "$OUT"
  # L3_APP: an app folder already unpacked (bench/device/run.sh unpacks every suite's apps once)
  [ -n "${L3_APP:-}" ] || tar xJf .device/gpu/gpubench.tar.xz -C /tmp/l3
  APP=${L3_APP:-/tmp/l3/app}
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,memory.total,power.limit --format=csv | tee "$OUT/gpu.txt"
  NCU=$(command -v ncu || ls /usr/local/cuda*/bin/ncu 2>/dev/null | head -1 || true)
  if [ -n "$NCU" ] && [ "${L3_PROFILE:-1}" = 1 ]; then
    # one decode launch of a 64-image batch: bytes moved, occupancy, instruction mix
    timeout 240 "$NCU" --launch-skip 1 --launch-count 1 --section SpeedOfLight --section Occupancy \
      --section LaunchStats --section ComputeWorkloadAnalysis --section InstructionStats \
      --section MemoryWorkloadAnalysis --section SchedulerStats --section WarpStateStats \
      "$APP"/L3.GpuBench .device/gpu/images 64 > "$OUT/ncu.txt" 2>&1 || echo "ncu failed: $?"
    grep -E "Duration|Registers Per|Achieved Occupancy|Theoretical Occupancy|Memory Throughput|DRAM Throughput|Compute \(SM\)|Executed Ipc A|Issue Slots Busy|Block Limit|Warp Cycles Per Issued|Stall|Bytes|Shared Memory Configuration Size|Dynamic Shared|Static Shared|L1/TEX Hit|L2 Hit" "$OUT/ncu.txt" | head -60 || true
  fi
  if [ -n "$NCU" ] && [ "${L3_SASS:-0}" = 1 ]; then
    # the decode kernel's SASS with per-instruction counts, and the instruction mix
    timeout 240 "$NCU" --launch-skip 1 --launch-count 1 --section SourceCounters --page source --print-source sass --csv \
      "$APP"/L3.GpuBench .device/gpu/images 64 > "$OUT/sass.csv" 2>&1 || echo "ncu sass failed: $?"
    timeout 240 "$NCU" --launch-skip 1 --launch-count 1 --section InstructionStats --print-details all \
      "$APP"/L3.GpuBench .device/gpu/images 64 > "$OUT/mix.txt" 2>&1 || echo "ncu mix failed: $?"
    gzip -f "$OUT/sass.csv" || true
  fi
  "$APP"/L3.Samples --gpu 2>&1 | tee "$OUT/samples.log"
  L3_VARIANTS=${L3_VARIANTS:-1} "$APP"/L3.GpuBench .device/gpu/images "${2:-1,2,4,8,16,32,64,128,256}" \
    .device/gpu/corpus 2>&1 | tee "$OUT/bench.log"
  ;;
esac
