#!/usr/bin/env bash
# Installs what fuzz/run.sh needs: AFL++ (Debian's package), the SharpFuzz instrumenter (a local
# dotnet tool, fuzz/.config/dotnet-tools.json) and the L3 mutator (fuzz/mutator/l3_mutator.c).
# Idempotent; run as root (or with sudo available) on Debian/Ubuntu with the .NET 10 SDK.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v afl-fuzz >/dev/null; then
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq afl++ >/dev/null
fi
dotnet tool restore >/dev/null
mkdir -p .work
cc -O2 -Wall -Wextra -Werror -shared -fPIC -o .work/l3_mutator.so mutator/l3_mutator.c
echo "fuzz: $(afl-fuzz -h 2>&1 | grep -m1 -o 'afl-fuzz++[0-9a-z.]*'), sharpfuzz $(dotnet tool list --local | awk '/sharpfuzz/ {print $2}'), mutator built"
