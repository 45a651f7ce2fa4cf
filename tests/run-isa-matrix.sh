#!/usr/bin/env bash
# Runs tests/L3.Simd.Tests under each instruction-set configuration the .NET runtime can be limited
# to, so that the fallback paths run as the widest available one (CpuPath.Auto) and the paths a
# configuration lacks are seen to be skipped, not broken:
#   default                      AVX-512 (+VBMI) where the CPU has it
#   DOTNET_EnableAVX512F=0 DOTNET_EnableAVX512=0
#                                AVX2 is the widest. .NET 10 groups AVX-512 F/BW/CD/DQ/VL under
#                                one switch, DOTNET_EnableAVX512; it ignores EnableAVX512F (checked:
#                                alone it leaves Vector512 on), so both are set.
#   DOTNET_EnableAVX2=0          SSE/SSSE3 (Vector128) is the widest
#   DOTNET_EnableHWIntrinsic=0   no intrinsics: the scalar reference only
# Usage: tests/run-isa-matrix.sh [extra dotnet test args]
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build tests/L3.Simd.Tests -c Release --nologo -v q
status=0
out=$(mktemp)
for config in "" "DOTNET_EnableAVX512F=0 DOTNET_EnableAVX512=0" "DOTNET_EnableAVX2=0" "DOTNET_EnableHWIntrinsic=0"; do
  echo "=== ${config:-default (all ISAs)} ==="
  if env $config dotnet test tests/L3.Simd.Tests -c Release --no-build --nologo \
        --logger "console;verbosity=detailed" "$@" >"$out" 2>&1; then :; else status=1; echo "FAILED under ${config:-default}"; fi
  grep -E "best path|Total tests|^ *Passed: |^ *Failed: |\[FAIL\]|error" "$out" | sed 's/^ *//' 
done
rm -f "$out"
exit $status
