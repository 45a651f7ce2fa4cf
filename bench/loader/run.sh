#!/usr/bin/env bash
# The loader's figures (issue 14), in two steps:
#   bench/loader/run.sh pack         here: publish the bench self-contained, pack it and the
#                                    corpus PNGs into .device/loader (git-ignored)
#   bash .device/loader/run.sh device [images] [batch] [batches]
#                                    on the GPU machine, from the repository root, with
#                                    .device/loader carried: unpack, print the GPU, build the
#                                    dataset (512 images of 2048x1024 tiled from the PNGs), check
#                                    outputs against the CPU reference, time the loader
#                                    (RandomResizedCrop 224 + flip + normalize -> fp16, and full
#                                    images), then the anchors (PIL PNG DataLoader, nvJPEG) when
#                                    python3 has torch (L3_ANCHORS=0 skips them). Tables last.
# With the device tool: run(command="bash .device/loader/run.sh device", carry=[".device/loader"]).
# L3_DEVICE_DIR names another checkout's .device/loader to copy the pack into (as bench/gpu/run.sh).
set -euo pipefail
case "${1:-pack}" in
pack)
  cd "$(dirname "$0")/../.."
  rm -rf .device/loader-app
  mkdir -p .device/loader/images
  dotnet publish bench/loader/L3.LoaderBench -c Release -r linux-x64 --self-contained true -o .device/loader-app
  tar cJf .device/loader/loaderbench.tar.xz -C .device loader-app
  rm -rf .device/loader-app
  for f in photo-forest-2048x1024 render-canopee-2048x1024 photo-graf1 photo-motorcycle-left photo-astronaut \
           photo-coffee render-altai-1080x1920; do
    cp "../shared/corpus/$f.png" .device/loader/images/
  done
  cp bench/loader/run.sh bench/loader/anchors.py .device/loader/
  if [ -n "${L3_DEVICE_DIR:-}" ]; then mkdir -p "$L3_DEVICE_DIR" && cp -r .device/loader/. "$L3_DEVICE_DIR"/; fi
  du -sh .device/loader
  ;;
device)
  OUT=${OUT:-/tmp/l3-out}
  WORK=${L3_WORK:-/tmp/l3-loader}
  mkdir -p /tmp/l3 "$OUT" "$WORK"
  [ -n "${L3_APP:-}" ] || tar xJf .device/loader/loaderbench.tar.xz -C /tmp/l3
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,memory.total,power.limit --format=csv | tee "$OUT/gpu.txt"
  nproc | sed 's/^/cores: /'
  "${L3_APP:-/tmp/l3/loader-app}"/L3.LoaderBench .device/loader/images "$WORK" "${2:-512}" "${3:-64}" "${4:-50}" 2>&1 | tee "$OUT/loader.log"
  if [ "${L3_ANCHORS:-1}" = 1 ] && python3 -c "import torch, torchvision" 2>/dev/null; then
    python3 .device/loader/anchors.py .device/loader/images "$WORK" "${2:-512}" 20 2>&1 | tee "$OUT/anchors.log"
  fi
  ;;
esac
