#!/usr/bin/env bash
# The GPU path under hostile input, on a CUDA GPU: the hostile-file set (fuzz/L3.Hostile: crafted
# bad files, valid files at the format's extremes, resealed random mutants) through the GPU codec
# under compute-sanitizer --tool memcheck, which reports any read or write outside an allocation.
# Every file the CPU refuses must be refused on the host; every file whose structure passes
# (checksum or not) is decoded by the kernel, alone (as the last file before the batch's padding)
# and in one batch, and compared with the CPU's bytes. Two steps:
#   bench/gpu/sanitize.sh pack        here: publish L3.Hostile self-contained into .device/sanitize/
#   bash .device/sanitize/sanitize.sh device [TOOL...]
#                                     on the GPU machine, from the repository root, with
#                                     .device/sanitize carried: run the set under each TOOL
#                                     (default memcheck; racecheck, synccheck, initcheck also work),
#                                     then once without the sanitizer; the summary lines last
# With the device tool: run(command="bash .device/sanitize/sanitize.sh device", carry=[".device/sanitize"]).
# L3_DEVICE_DIR names another checkout's .device/sanitize to copy the pack into (as bench/gpu/run.sh).
# Exit 0 only when every run had no sanitizer error and no disagreement with the CPU.
set -euo pipefail
case "${1:-pack}" in
pack)
  cd "$(dirname "$0")/../.."
  rm -rf .device/sanitize-app
  mkdir -p .device/sanitize
  dotnet publish fuzz/L3.Hostile -c Release -r linux-x64 --self-contained true -o .device/sanitize-app
  tar czf .device/sanitize/hostile.tar.gz -C .device sanitize-app   # gzip: xz takes minutes on a busy 2-core machine
  rm -rf .device/sanitize-app
  cp bench/gpu/sanitize.sh .device/sanitize/sanitize.sh
  if [ -n "${L3_DEVICE_DIR:-}" ]; then mkdir -p "$L3_DEVICE_DIR" && cp -r .device/sanitize/. "$L3_DEVICE_DIR"/; fi
  du -sh .device/sanitize
  ;;
device)
  shift
  OUT=${OUT:-/tmp/l3-out}
  mkdir -p /tmp/l3s "$OUT"
  [ -n "${L3_APP:-}" ] || tar xzf "$(cd "$(dirname "$0")" && pwd)"/hostile.tar.gz -C /tmp/l3s
  app=${L3_APP:-/tmp/l3s/sanitize-app}/L3.Hostile
  args=(--mutants "${L3_MUTANTS:-100}")   # 48 valid extremes + 30 crafted + the mutants
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>&1 | tee "$OUT/gpu.txt" || true
  SAN=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer /opt/nvidia/*/compute-sanitizer/compute-sanitizer 2>/dev/null | head -1 || true)
  status=0
  summary=()
  if [ -z "$SAN" ]; then
    echo "compute-sanitizer not found: running the set on the GPU without it"
    summary+=("compute-sanitizer: not found on this machine")
  else
    "$SAN" --version | tail -1
    for tool in "${@:-memcheck}"; do
      extra=()
      [ "$tool" = memcheck ] && extra=(--leak-check no --report-api-errors no)
      set +e
      timeout 420 "$SAN" --tool "$tool" --error-exitcode 99 --print-limit 20 "${extra[@]}" "$app" "${args[@]}" > "$OUT/$tool.log" 2>&1
      rc=$?
      set -e
      tail -5 "$OUT/$tool.log"
      errors=$(grep -m1 -E "ERROR SUMMARY" "$OUT/$tool.log" || echo "no ERROR SUMMARY line (rc $rc)")
      summary+=("$tool: $errors; program: $(grep -E 'disagreement' "$OUT/$tool.log" | tail -1) (rc $rc)")
      [ "$rc" = 0 ] || status=1
    done
  fi
  set +e
  timeout 120 "$app" "${args[@]}" > "$OUT/plain.log" 2>&1
  rc=$?
  set -e
  [ "$rc" = 0 ] || status=1
  summary+=("without sanitizer: $(tail -1 "$OUT/plain.log") (rc $rc)")
  head -1 "$OUT/plain.log"
  printf '%s\n' "${summary[@]}"
  exit $status
  ;;
esac
