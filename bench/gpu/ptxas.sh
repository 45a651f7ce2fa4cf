#!/usr/bin/env bash
# The dense kernels' registers, spills and fast-step length for an H100/H200 (sm_90), without a GPU:
#   bash bench/gpu/ptxas.sh [max registers, default 64: the launch bound of 512 threads x 2 groups an SM]
# ILGPU makes the kernels' PTX here (`L3.GpuBench --ptx`); ptxas assembles each under the bound and
# unbounded and reports the stack and spills (`ptxas -v`); cuobjdump's SASS gives the instructions
# between one fast step's two ballots and the next's (the step's length; the median of the first row).
# cuobjdump 11.8 leaves out the sm_90 instructions it does not know (VIMNMX: the two min a step), so
# the length is two short.
# ptxas and cuobjdump come from Debian's nvidia-cuda-toolkit (non-free, CUDA 11.8: sm_90, PTX ISA
# 7.8), unpacked into .ptxas/ (git-ignored), not installed: nothing else of CUDA is needed. The
# PTX's header is lowered to what 11.8 reads (ILGPU writes ISA 8.0; the kernels use nothing newer).
set -euo pipefail
cd "$(dirname "$0")/../.."
regs=${1:-64}
tools=.ptxas
if [ ! -x "$tools/usr/bin/ptxas" ]; then
  if ! apt-cache policy nvidia-cuda-toolkit 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    # the toolkit is in Debian's non-free component, which a default source list leaves out
    codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: contrib non-free\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$codename" > /etc/apt/sources.list.d/l3-ptxas-nonfree.sources
    apt-get update -qq
  fi
  mkdir -p "$tools"
  (cd "$tools" && apt-get download -q nvidia-cuda-toolkit 2>&1 | tail -1 && dpkg -x nvidia-cuda-toolkit_*.deb . && rm nvidia-cuda-toolkit_*.deb)
fi
ptxas="$tools/usr/bin/ptxas"; cuobjdump="$tools/usr/bin/cuobjdump"
out=$(mktemp -d)
dotnet build bench/gpu/L3.GpuBench -c Release -nologo -v q -clp:ErrorsOnly -clp:NoSummary >&2
dotnet bench/gpu/L3.GpuBench/bin/Release/net10.0/L3.GpuBench.dll --ptx "$out" > /dev/null
for ptx in "$out"/*.ptx; do
  name=$(basename "$ptx" .ptx)
  sed -i -e 's/^\.version 8\.[0-9]*/.version 7.8/' -e 's/^\.target sm_[0-9]*/.target sm_90/' "$ptx"
  bounded=$("$ptxas" -arch=sm_90 -v --maxrregcount "$regs" "$ptx" -o "$out/$name.cubin" 2>&1 | grep -E 'stack frame|Used' | sed 's/ptxas info *: *//' | tr -s ' ' | paste -sd ';')
  free=$("$ptxas" -arch=sm_90 -v "$ptx" -o "$out/$name-free.cubin" 2>&1 | grep -E 'Used' | sed 's/.*Used/used/')
  # instructions from one VOTE pair to the next in the SASS order: the first row's fast steps
  step=$("$cuobjdump" -sass "$out/$name.cubin" | grep -E '^\s+/\*[0-9a-f]{4}\*/' | awk '
    /VOTE/ { if (++v % 2 == 1) { if (last && k < 23) print NR - last; last = NR; k++ } }' | sort -n |
    awk '{ a[NR] = $1 } END { print NR ? a[int((NR + 1) / 2)] : "?" }')
  echo "$name: at $regs registers:$bounded | unbounded: $free | fast step: $step SASS instructions"
done
rm -rf "$out"
