#!/usr/bin/env bash
# The training experiment (issue 15) on the GPU machine, in two steps:
#   bench/train/run.sh pack            here: publish the interop with a bundled .NET runtime into the
#                                      l3 package, pack it and the corpus PNGs into .device/train
#   bash .device/train/run.sh device check [test args]
#                                      on the GPU machine, from the repository root, with .device/train
#                                      carried: versions, then python/tests/test_cuda.py (the zero-copy
#                                      hand-off read by torch kernels equals the batches' host copies)
#   bash .device/train/run.sh device train [images] [steps]
#                                      bench/train/train.py: four inputs, two settings, the hand-off cost
#   bash .device/train/run.sh device train 512 15 handoff    the hand-off cost alone, in longer blocks
#   bash .device/train/run.sh device ranks [images] [steps]
#                                      bench/train/ranks.py under torchrun, one rank per GPU (L3_RANKS: how
#                                      many; default all): DDP training from l3.Loader, each rank's images/s,
#                                      its samples checked disjoint and covering each epoch (nvidia-h200-x2)
# With the device tool: run(command="bash .device/train/run.sh device check", carry=[".device/train"]).
# L3_DEVICE_DIR names another checkout's .device/train to copy the pack into (as bench/loader/run.sh).
set -euo pipefail
case "${1:-pack}" in
pack)
  cd "$(dirname "$0")/../.."
  mkdir -p .device/train/images
  # the .NET runtime travels apart (packed once: it changes only with the SDK), the interop each time
  if [ ! -f .device/train/dotnet.tar.xz ]; then
    python/build.sh --bundle-runtime
    tar cf - -C python/l3 _dotnet | xz -T2 -6 > .device/train/dotnet.tar.xz
  else
    python/build.sh
  fi
  tar czf .device/train/l3py.tar.gz -C python --exclude=__pycache__ --exclude=_dotnet l3
  for f in photo-forest-2048x1024 render-canopee-2048x1024 photo-graf1 photo-motorcycle-left photo-astronaut \
           photo-coffee render-altai-1080x1920; do
    cp "${L3_CORPUS:-../shared/corpus}/$f.png" .device/train/images/
  done
  # the device runs in the lead's checkout: the scripts and tests travel in the pack
  rm -rf .device/train/tests && cp -r python/tests .device/train/tests && rm -rf .device/train/tests/__pycache__
  cp bench/train/run.sh bench/train/train.py bench/train/ranks.py .device/train/
  if [ -n "${L3_DEVICE_DIR:-}" ]; then mkdir -p "$L3_DEVICE_DIR" && cp -r .device/train/. "$L3_DEVICE_DIR"/; fi
  du -sh .device/train
  ;;
device)
  OUT=${OUT:-/tmp/l3-out}
  mkdir -p /tmp/l3py "$OUT"
  tar xzf .device/train/l3py.tar.gz -C /tmp/l3py
  tar xJf .device/train/dotnet.tar.xz -C /tmp/l3py/l3
  cp -r .device/train/tests /tmp/l3py/
  export PYTHONPATH=/tmp/l3py
  # the carried package's interop and runtime, whichever l3 folder Python imports first
  export L3_INTEROP_DIR=/tmp/l3py/l3/_lib L3_DOTNET_ROOT=/tmp/l3py/l3/_dotnet
  case "${2:-check}" in
  check)
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/gpu.txt"
    python3 -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'cuda', torch.version.cuda)"
    python3 -c "import timm; print('timm', timm.__version__)" 2>/dev/null || echo "timm: not installed"
    python3 -c "import l3; print('l3 hosted from', l3._native.library().dotnet_root)"
    (cd /tmp/l3py && python3 -m unittest -v tests.test_cuda "${@:3}") 2>&1 | tee "$OUT/test_cuda.log"
    ;;
  train)
    python3 .device/train/train.py .device/train/images "${L3_WORK:-/tmp/l3-train}" "${3:-512}" "${4:-15}" ${5:-} 2>&1 | tee "$OUT/train.log"
    ;;
  ranks)
    work=${L3_WORK:-/tmp/l3-train}
    python3 .device/train/train.py .device/train/images "$work" "${3:-512}" 0 prepare 2>&1 | tee "$OUT/ranks.log"
    nvidia-smi --query-gpu=index,name,pci.bus_id --format=csv | tee -a "$OUT/ranks.log"
    ranks=${L3_RANKS:-$(python3 -c "import torch; print(torch.cuda.device_count())")}
    python3 -m torch.distributed.run --standalone --nproc_per_node="$ranks" .device/train/ranks.py \
      "$work/dataset-l3-${3:-512}" "${4:-30}" 2>&1 | tee -a "$OUT/ranks.log"
    ;;
  esac
  ;;
esac
