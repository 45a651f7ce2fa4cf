#!/usr/bin/env bash
# A libstdc++ new enough for TorchSharp-cpu 0.107.0 on Debian 12, without touching the system.
#
# LibTorchSharp (TorchSharp's native half) is built with GCC 13 and asks for GLIBCXX_3.4.32; Debian 12
# has GCC 12's libstdc++ (GLIBCXX_3.4.30). Debian 13's libstdc++6 cannot be used as it is: it needs
# glibc 2.38 (__isoc23_strtoul) and Debian 12 has 2.36. So this links GCC 13's libstdc++ here from
# Debian 13's own build of it, the "shared library subset kit" libstdc++-13-pic (libstdc++_pic.a
# and its symbol map) plus the compatibility objects of libstdc++-13-dev's libstdc++.a, against
# this system's glibc:
#   1. apt-get downloads the two packages from Debian 13 (trixie) with a private sources list and
#      state folder (apt checks the Release signature against debian-archive-keyring and each
#      package's SHA256); nothing is installed, the system's apt lists are untouched;
#   2. __isoc23_strtoul (C23's strtoul, which also reads "0b" prefixes) is renamed to strtoul;
#   3. condition_variable::wait also gets its GLIBCXX_3.4.11 version (compatibility-condvar.cc's
#      alias in GCC's own shared build), which .NET's libhostpolicy and libtorch bind to;
#   4. gcc links libstdc++.so.6 with that map (-z defs: nothing left unresolved).
# Prints the folder to put on LD_LIBRARY_PATH (the only line on stdout); idempotent (a second run
# only prints it). Needs gcc (installed from Debian 12 when missing) and Debian's archive.
# Usage: interop/L3.TorchSharp/install-libstdcxx.sh [folder]   (default: interop/L3.TorchSharp/libstdcxx)
#        LD_LIBRARY_PATH=$(interop/L3.TorchSharp/install-libstdcxx.sh) dotnet test ...
# L3_DEBIAN_MIRROR: another Debian mirror (default http://deb.debian.org/debian).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(mkdir -p "${1:-$here/libstdcxx}" && cd "${1:-$here/libstdcxx}" && pwd)
fail() { echo "install-libstdcxx: $*" >&2; exit 1; }
if [ -f "$out/libstdc++.so.6" ] && [ -f "$out/source.txt" ]; then echo "$out"; exit 0; fi

for tool in apt-get dpkg-deb ar objcopy nm; do
  command -v "$tool" >/dev/null || fail "$tool is missing (Debian's apt and binutils are needed)"
done
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
if ! command -v gcc >/dev/null; then
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends gcc libc6-dev; } >&2 \
    || fail "gcc is missing and could not be installed"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/state/lists/partial" "$work/cache/archives/partial" "$work/none" "$work/debs"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
echo "deb [signed-by=$keyring] ${L3_DEBIAN_MIRROR:-http://deb.debian.org/debian} trixie main" > "$work/sources.list"
: > "$work/state/status"
apt=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=$work/none"
     -o "Dir::Etc::Preferences=$work/none/preferences" -o "Dir::Etc::PreferencesParts=$work/none"
     -o "Dir::State=$work/state" -o "Dir::State::status=$work/state/status" -o "Dir::Cache=$work/cache"
     -o "Acquire::Languages=none" -o "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false"
     -o "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false"
     -o "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false")
# as root apt downloads as the _apt user, who cannot write into a private folder of root's
[ "$(id -u)" -eq 0 ] && apt+=(-o "APT::Sandbox::User=root")
apt-get "${apt[@]}" -qq --error-on=any update >"$work/apt.log" 2>&1 \
  || fail "cannot read Debian 13's package index (${L3_DEBIAN_MIRROR:-deb.debian.org}, signed by $keyring): $(grep -E '^(E|W):' "$work/apt.log" | head -1)"
(cd "$work/debs" && apt-get "${apt[@]}" -qq download libstdc++-13-pic libstdc++-13-dev) >>"$work/apt.log" 2>&1 \
  || fail "cannot download libstdc++-13-pic and libstdc++-13-dev from Debian 13: $(grep -E '^(E|W):' "$work/apt.log" | head -1)"
for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
gcc13=$(echo "$work"/root/usr/lib/gcc/x86_64-linux-gnu/13)
[ -f "$gcc13/libstdc++_pic.a" ] && [ -f "$gcc13/libstdc++.a" ] || fail "the packages hold no libstdc++_pic.a / libstdc++.a for x86_64"

cd "$work"
cp "$gcc13/libstdc++_pic.a" pic.a
renames=()
for sym in $(nm -u pic.a 2>/dev/null | awk '$2 ~ /^__isoc23_/ {print $2}' | sort -u); do
  renames+=(--redefine-sym "$sym=${sym#__isoc23_}")
done
[ ${#renames[@]} -eq 0 ] || objcopy "${renames[@]}" pic.a
mkdir compat && (cd compat && ar x "$gcc13/libstdc++.a" $(ar t "$gcc13/libstdc++.a" | grep '^compatibility'))
cat > condvar.c <<'EOF'
/* condition_variable::wait at GLIBCXX_3.4.11 as well as its default version (as GCC's shared build) */
extern void condvar_wait(void *cv, void *lock) __asm__("_ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE");
void condvar_wait_3_4_11(void *cv, void *lock) { condvar_wait(cv, lock); }
__asm__(".symver condvar_wait_3_4_11, _ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE@GLIBCXX_3.4.11");
EOF
gcc -O2 -fPIC -c condvar.c -o condvar.o
gcc -shared -o libstdc++.so.6 -Wl,-soname,libstdc++.so.6 -Wl,-z,defs -Wl,-O1 \
  -Wl,--whole-archive pic.a -Wl,--no-whole-archive compat/*.o condvar.o \
  -Wl,--version-script="$gcc13/libstdc++_pic.map" -lm >"$work/link.log" 2>&1 \
  || fail "linking libstdc++.so.6 failed: $(grep -m1 -E 'error|undefined' "$work/link.log")"
objdump -T libstdc++.so.6 > symbols.txt
grep -q "GLIBCXX_3.4.32" symbols.txt || fail "the linked libstdc++ has no GLIBCXX_3.4.32"

cp libstdc++.so.6 "$out/libstdc++.so.6.tmp" && mv "$out/libstdc++.so.6.tmp" "$out/libstdc++.so.6"
{ echo "GCC 13's libstdc++ linked on $(. /etc/os-release; echo "$PRETTY_NAME") from Debian 13's:"
  for deb in debs/*.deb; do dpkg-deb --show --showformat='  ${Package} ${Version}\n' "$deb"; done; } > "$out/source.txt"
echo "$out"
