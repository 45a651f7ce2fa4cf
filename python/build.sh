#!/usr/bin/env bash
# Publishes the .NET interop (interop/L3.Interop) into the Python package: python/l3/_lib.
#   python/build.sh                   framework-dependent: l3 finds an installed .NET 10 runtime
#                                     (DOTNET_ROOT, the `dotnet` on PATH, /usr/share/dotnet, ...)
#   python/build.sh --bundle-runtime  also copies this machine's .NET runtime (hostfxr and
#                                     Microsoft.NETCore.App) into python/l3/_dotnet, for machines
#                                     without .NET (the package then needs nothing installed)
# Then: PYTHONPATH=python python3 -c "import l3"   (or copy python/l3 anywhere on sys.path)
set -euo pipefail
cd "$(dirname "$0")/.."
configuration=${L3_CONFIGURATION:-Release}
rm -rf python/l3/_lib
case "$(uname -m)" in aarch64|arm64) rid=linux-arm64 ;; *) rid=linux-x64 ;; esac
dotnet publish interop/L3.Interop/L3.Interop.csproj -c "$configuration" -r "$rid" --self-contained false \
  -o python/l3/_lib --nologo -v quiet
rm -f python/l3/_lib/*.pdb
if [ "${1:-}" = "--bundle-runtime" ]; then
  root=${DOTNET_ROOT:-$(dirname "$(readlink -f "$(command -v dotnet)")")}
  version=$(sed -n 's/.*"version": *"\([0-9.]*\)".*/\1/p' python/l3/_lib/L3.Interop.runtimeconfig.json | head -1)
  runtime=$(ls -d "$root"/shared/Microsoft.NETCore.App/"${version%.*}".* | sort -V | tail -1)
  fxr=$(ls -d "$root"/host/fxr/* | sort -V | tail -1)
  rm -rf python/l3/_dotnet
  mkdir -p python/l3/_dotnet/shared/Microsoft.NETCore.App python/l3/_dotnet/host/fxr
  cp -r "$runtime" python/l3/_dotnet/shared/Microsoft.NETCore.App/
  cp -r "$fxr" python/l3/_dotnet/host/fxr/
  echo "bundled $(basename "$runtime") from $root"
fi
du -sh python/l3/_lib ${1:+python/l3/_dotnet} 2>/dev/null || true
