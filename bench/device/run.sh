#!/usr/bin/env bash
# Every GPU suite in one pack, for one machine session: the GPU codec bench and the profile sample
# (bench/gpu/run.sh), the hostile-file set under compute-sanitizer (bench/gpu/sanitize.sh) and the
# loader bench (bench/loader/run.sh). Their apps are published into one folder, so the .NET runtime
# travels once (the three packs apart would not fit what the device tool carries).
#   bench/device/run.sh pack                here: publish, pack into .device/all (git-ignored)
#   bash .device/all/run.sh device SUITE... on the GPU machine, with .device/all carried;
#                                           SUITE: gpu, sanitize, loader (default: all three)
# With the device tool: run(command="bash .device/all/run.sh device gpu", carry=[".device/all"]).
set -euo pipefail
case "${1:-pack}" in
pack)
  cd "$(dirname "$0")/../.."
  rm -rf .device/all .device/all-app
  mkdir -p .device/all
  for project in bench/gpu/L3.GpuBench samples/L3.Samples fuzz/L3.Hostile bench/loader/L3.LoaderBench; do
    dotnet publish "$project" -c Release -r linux-x64 --self-contained true -o .device/all-app/app
  done
  tar cJf .device/all/app.tar.xz -C .device/all-app app
  rm -rf .device/all-app
  # the images and scripts each suite reads, where its own pack would put them
  mkdir -p .device/all/gpu/images .device/all/gpu/corpus .device/all/loader/images .device/all/sanitize
  for f in photo-forest-2048x1024 render-canopee-2048x1024 photo-graf1 photo-motorcycle-left photo-astronaut \
           photo-coffee render-altai-1080x1920; do
    cp "../shared/corpus/$f.png" .device/all/gpu/images/
    cp "../shared/corpus/$f.png" .device/all/loader/images/
  done
  cp ../shared/corpus/*.png .device/all/gpu/corpus/
  cp bench/gpu/run.sh .device/all/gpu/run.sh
  cp bench/gpu/sanitize.sh .device/all/sanitize/sanitize.sh
  cp bench/loader/run.sh bench/loader/anchors.py .device/all/loader/
  cp bench/device/run.sh .device/all/run.sh
  du -sh .device/all
  ;;
device)
  shift
  mkdir -p /tmp/l3all
  tar xJf .device/all/app.tar.xz -C /tmp/l3all
  export L3_APP=/tmp/l3all/app
  # the suites read their data where their own packs put it
  mkdir -p .device
  for suite in gpu loader sanitize; do
    [ -e ".device/$suite" ] || ln -s "all/$suite" ".device/$suite"
  done
  status=0
  for suite in "${@:-gpu sanitize loader}"; do
    for s in $suite; do
      echo "===== $s"
      case "$s" in
        gpu) bash .device/all/gpu/run.sh device || status=1 ;;
        sanitize) bash .device/all/sanitize/sanitize.sh device || status=1 ;;
        loader) bash .device/all/loader/run.sh device || status=1 ;;
        *) echo "unknown suite $s"; status=2 ;;
      esac
    done
  done
  exit $status
  ;;
esac
