#!/usr/bin/env bash
# The dense (coding mode 1) kernel figures of bench/RESULTS.md ("Dense mode", H200 decode kernel),
# in one short device call:
#   bench/gpu/dense.sh pack             here (L3_CORPUS: the corpus folder, default ../shared/corpus): publish the GPU bench self-contained and pack it with
#                                       the 7 bench images into .device/dense (git-ignored)
#   bash .device/dense/dense.sh device  on the GPU machine, with .device/dense carried: the bench
#                                       in L3_DENSE=1 mode (every N / channel count / edge shape
#                                       against the scalar reference, then batches of the 7 corpus
#                                       images tiled to 2048x1024 RGB, both modes checked and timed,
#                                       the device copy rate of the same run), then Nsight Compute
#                                       on one dense launch of the 64-image batch (where the time goes);
#                                       L3_DENSE_LAUNCHES=256x4,512x1 times other launches (threads x groups
#                                       an SM) on the last batch, each checked; L3_PROFILE=0 skips Nsight;
#                                       with L3_DENSE_HOSTILE=M first the dense hostile set (M mutants)
#                                       under compute-sanitizer memcheck; with L3_LOADER="IMAGES BATCH BATCHES"
#                                       last the loader bench on the same kernels (bench/loader/run.sh device,
#                                       both modes, both host paths), from the loader overlay that pack adds
#   L3_LOADER=1 bench/gpu/dense.sh pack also publishes the loader bench and keeps, in .device/dense/loader,
#                                       only its files that the GPU bench's self-contained app lacks or
#                                       has otherwise: one .NET runtime travels, within the device tool's 64 MiB
# With the device tool: run(command="bash .device/dense/dense.sh device", carry=[".device/dense"]).
# The device tool sends the checkout its session started in: L3_DEVICE_DIR names a folder there
# (git-ignored, e.g. /work/main/.device/dense) that pack copies the files into, when run from a worktree.
set -euo pipefail
case "${1:-pack}" in
pack)
  cd "$(dirname "$0")/../.."
  rm -rf .device/dense-app .device/dense
  mkdir -p .device/dense/images
  dotnet publish bench/gpu/L3.GpuBench -c Release -r linux-x64 --self-contained true -o .device/dense-app/app
  tar czf .device/dense/gpubench.tar.gz -C .device/dense-app app   # gzip: xz takes minutes on a busy 2-core machine
  rm -rf .device/dense-app
  for f in photo-forest-2048x1024 render-canopee-2048x1024 photo-graf1 photo-motorcycle-left photo-astronaut \
           photo-coffee render-altai-1080x1920; do
    cp "${L3_CORPUS:-../shared/corpus}/$f.png" .device/dense/images/
  done
  cp bench/gpu/dense.sh .device/dense/dense.sh
  if [ "${L3_LOADER:-0}" = 1 ]; then
    dotnet publish bench/loader/L3.LoaderBench -c Release -r linux-x64 --self-contained true -o .device/dense-loader
    mkdir -p .device/dense-loader-base && tar xzf .device/dense/gpubench.tar.gz -C .device/dense-loader-base
    mkdir -p .device/dense/loader
    for f in .device/dense-loader/*; do
      base=.device/dense-loader-base/app/$(basename "$f")
      [ -f "$base" ] && cmp -s "$f" "$base" || cp -r "$f" .device/dense/loader/
    done
    cp bench/loader/run.sh bench/loader/anchors.py .device/dense/loader/
    rm -rf .device/dense-loader .device/dense-loader-base
  fi
  if [ -n "${L3_DEVICE_DIR:-}" ]; then mkdir -p "$L3_DEVICE_DIR" && cp -r .device/dense/. "$L3_DEVICE_DIR"/; fi
  du -sh .device/dense
  ;;
device)
  HERE=$(cd "$(dirname "$0")" && pwd)
  OUT=${OUT:-/tmp/l3-out}
  mkdir -p /tmp/l3dense "$OUT"
  tar xzf "$HERE"/gpubench.tar.gz -C /tmp/l3dense
  APP=/tmp/l3dense/app
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,memory.total --format=csv | tee "$OUT/gpu.txt"
  if [ -n "${L3_DENSE_HOSTILE:-}" ]; then
    # the dense hostile set (L3_DENSE_HOSTILE mutants) under compute-sanitizer memcheck: no read or
    # write outside an allocation, and every file refused or decoded as the CPU does
    SAN=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1 || true)
    set +e
    L3_DENSE_HOSTILE=$L3_DENSE_HOSTILE timeout "${L3_SAN_SECONDS:-240}" ${SAN:+"$SAN" --tool memcheck --error-exitcode 99 --leak-check no --report-api-errors no --print-limit 20} \
      "$APP"/L3.GpuBench "$HERE"/images > "$OUT/hostile-memcheck.log" 2>&1
    echo "dense hostile set under ${SAN:-no sanitizer}: rc $?"; set -e
    grep -E "dense hostile set|DISAGREE|ERROR SUMMARY" "$OUT/hostile-memcheck.log" | head -12
  fi
  env -u L3_DENSE_HOSTILE L3_DENSE=1 L3_DENSE_LAUNCHES=${L3_DENSE_LAUNCHES:-} "$APP"/L3.GpuBench "$HERE"/images "${2:-64,256}" 2>&1 | tee "$OUT/bench.log"
  NCU=$(command -v ncu || ls /usr/local/cuda*/bin/ncu 2>/dev/null | head -1 || true)
  if [ -n "$NCU" ] && [ "${L3_PROFILE:-1}" = 1 ]; then
    # the dense kernel's second launch of the 64-image batch (the first is the checked one)
    env -u L3_DENSE_HOSTILE L3_DENSE=1 L3_DENSE_SWEEP=0 timeout "${L3_NCU_SECONDS:-60}" "$NCU" -k regex:DenseDecode --launch-skip 1 --launch-count 1 \
      --section SpeedOfLight --section Occupancy --section LaunchStats --section ComputeWorkloadAnalysis \
      --section InstructionStats --section MemoryWorkloadAnalysis --section SchedulerStats --section WarpStateStats \
      "$APP"/L3.GpuBench "$HERE"/images 64 > "$OUT/ncu.txt" 2>&1 || echo "ncu stopped: $?"
    grep -E "Duration|Registers Per|Achieved Occupancy|Theoretical Occupancy|Block Limit Reg|Memory Throughput|DRAM Throughput|Compute \(SM\)|Executed Ipc A|Issue Slots Busy|Issued Warp|No Eligible|Warp Cycles Per Issued|Local|L1/TEX Hit|L2 Hit|Stall|Executed Instructions  " "$OUT/ncu.txt" | head -40 || true
    # the same launch's stall reasons (warps stalled per issued instruction) and pipe utilization
    env -u L3_DENSE_HOSTILE L3_DENSE=1 L3_DENSE_SWEEP=0 timeout "${L3_NCU_SECONDS:-60}" "$NCU" -k regex:DenseDecode --launch-skip 1 --launch-count 1 \
      --metrics "regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio,regex:sm__inst_executed_pipe_.*\.avg\.pct_of_peak_sustained_active" \
      "$APP"/L3.GpuBench "$HERE"/images 64 > "$OUT/ncu-stalls.txt" 2>&1 || echo "ncu (stalls) stopped: $?"
    grep -E "stalled|pipe" "$OUT/ncu-stalls.txt" | awk '$NF+0 >= 0.05' | sort -k3 -rn | head -24 || true
  fi
  if [ -n "${L3_LOADER:-}" ] && [ -d "$HERE"/loader ]; then
    # the loader bench on the GPU bench's runtime with the loader's files over it; run.sh reads
    # .device/loader/images (the same 7 images) from the repository root
    cp -r "$HERE"/loader/. "$APP"/
    mkdir -p .device/loader && ln -sfn "$HERE"/images .device/loader/images && cp "$HERE"/loader/anchors.py .device/loader/
    # shellcheck disable=SC2086
    L3_ANCHORS=0 L3_APP="$APP" OUT="$OUT/loader" bash "$HERE"/loader/run.sh device $L3_LOADER
  fi
  ;;
esac
