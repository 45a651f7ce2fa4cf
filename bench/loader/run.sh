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
#   bash .device/loader/run.sh ranks [images] [batch] [batches]
#                                    on a machine of 2 GPUs (nvidia-h200-x2): the dataset, then two
#                                    ranks at once, one process a GPU; each prints its rate, and the
#                                    script checks that their first epochs hold disjoint samples that
#                                    together make the dataset.
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
ranks)
  OUT=${OUT:-/tmp/l3-out}
  WORK=${L3_WORK:-/tmp/l3-loader}
  mkdir -p /tmp/l3 "$OUT" "$WORK"
  [ -n "${L3_APP:-}" ] || tar xJf .device/loader/loaderbench.tar.xz -C /tmp/l3
  APP="${L3_APP:-/tmp/l3/loader-app}"/L3.LoaderBench
  nvidia-smi --query-gpu=index,name,driver_version --format=csv | tee "$OUT/gpu.txt"
  L3_DATASET_ONLY=1 "$APP" .device/loader/images "$WORK" "${2:-512}" "${3:-64}" "${4:-50}"
  rm -f "$WORK"/rank-*-samples.txt
  for r in 0 1; do
    CUDA_VISIBLE_DEVICES=$r L3_RANK=$r L3_WORLD=2 "$APP" .device/loader/images "$WORK" "${2:-512}" "${3:-64}" "${4:-50}" > "$OUT/rank-$r.log" 2>&1 &
  done
  wait
  cat "$OUT"/rank-0.log "$OUT"/rank-1.log
  r0=$(sort -n "$WORK/rank-0-samples.txt" | uniq | wc -l); r1=$(sort -n "$WORK/rank-1-samples.txt" | uniq | wc -l)
  both=$(sort -n "$WORK/rank-0-samples.txt" "$WORK/rank-1-samples.txt" | uniq | wc -l)
  shared=$(comm -12 <(sort "$WORK/rank-0-samples.txt" | uniq) <(sort "$WORK/rank-1-samples.txt" | uniq) | wc -l)
  echo "epoch 0: rank 0 saw $r0 samples, rank 1 saw $r1, $shared in both, $both of ${2:-512} in all" | tee "$OUT/ranks.txt"
  [ "$shared" = 0 ] && [ "$both" = "${2:-512}" ] || { echo "ranks overlap or miss samples" >&2; exit 1; }
  ;;
esac
