#!/usr/bin/env bash
# Runs tests/L3.Simd.Tests under each instruction-set configuration the .NET runtime can be limited
# to, so that the fallback paths run as the widest available one (CpuPath.Auto) and the paths a
# configuration lacks are seen to be skipped, not broken:
#   default                      AVX-512 (+VBMI) where the CPU has it
#   DOTNET_EnableAVX512F=0       AVX2 is the widest
#   DOTNET_EnableAVX2=0          SSE/SSSE3 (Vector128) is the widest
#   DOTNET_EnableHWIntrinsic=0   no intrinsics: the scalar reference only
# Usage: tests/run-isa-matrix.sh [extra dotnet test args]
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build tests/L3.Simd.Tests -c Release --nologo -v q
status=0
for config in "" "DOTNET_EnableAVX512F=0" "DOTNET_EnableAVX2=0" "DOTNET_EnableHWIntrinsic=0"; do
  echo "=== ${config:-default (all ISAs)} ==="
  if ! env $config dotnet test tests/L3.Simd.Tests -c Release --no-build --nologo \
        --logger "console;verbosity=normal" "$@" 2>&1 | grep -E "best path|Passed!|Failed!|\[FAIL\]|error"; then
    status=1
  fi
  # grep's status is not the tests' status: check the summary line
  env $config dotnet test tests/L3.Simd.Tests -c Release --no-build --nologo "$@" >/dev/null 2>&1 || { echo "FAILED under ${config:-default}"; status=1; }
done
exit $status
