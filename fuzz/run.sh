#!/usr/bin/env bash
# Runs one fuzz target of fuzz/L3.Fuzz/Targets.cs under AFL++ and fails on any finding.
#
#   fuzz/run.sh TARGET [--seconds N | --execs N] [--out DIR] [--resume]
#   fuzz/run.sh --list
#
# Builds the harness (Release), instruments the L3 assemblies with SharpFuzz, then runs afl-fuzz
# in persistent mode with the seeds of fuzz/corpus/INPUT (and, for L3 files, the checksum-
# resealing mutator). Without a limit it runs until Ctrl-C. Output: fuzz/.work/TARGET/ or DIR
# (queue, crashes, hangs, fuzzer_stats, the instrumented build it ran). Exit 1 when a crash, or a hang that reproduces, was found; each
# is replayed with `dotnet fuzz/.work/build/L3.Fuzz.dll TARGET FILE`, which prints the exception.
# Needs fuzz/install.sh first (run.sh calls it when something is missing).
set -euo pipefail
fuzz="$(cd "$(dirname "$0")" && pwd)"
work="$fuzz/.work"

if [ "${1:-}" = "" ]; then sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2; fi
target="$1"; shift
limit=(); resume=0; out="$work/$target"
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) limit=(-V "$2"); shift 2 ;;
        --execs) limit=(-E "$2"); shift 2 ;;
        --resume) resume=1; shift ;;
        --out) out="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2 ;;
        *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

command -v afl-fuzz >/dev/null && [ -f "$work/l3_mutator.so" ] || "$fuzz/install.sh"

# build into .work/build, then copy into the output folder and instrument the copy (never instrument twice)
# its output goes to stderr: stdout carries only what was asked for (--list is read by .ci/run)
dotnet build "$fuzz/L3.Fuzz/L3.Fuzz.csproj" -c Release -o "$work/build" -nologo -v quiet -clp:ErrorsOnly -clp:NoSummary >&2
if [ "$target" = "--list" ]; then dotnet "$work/build/L3.Fuzz.dll" --list; exit 0; fi
line="$(dotnet "$work/build/L3.Fuzz.dll" --list | awk -F'\t' -v t="$target" '$1 == t')"
if [ -z "$line" ]; then
    echo "run.sh: no target '$target'; the targets:" >&2
    dotnet "$work/build/L3.Fuzz.dll" --list | cut -f1 >&2
    exit 2
fi
input="$(printf '%s' "$line" | cut -f2)"

seeds="$fuzz/corpus/$input"
if [ "$resume" = 1 ] && [ -d "$out/default/queue" ]; then seeds="-"; else rm -rf "$out"; fi
mkdir -p "$out"
bin="$out/bin"
rm -rf "$bin" && cp -r "$work/build" "$bin"
(cd "$fuzz" && for dll in "$bin"/L3.*.dll; do
    [ "$(basename "$dll")" = "L3.Fuzz.dll" ] || dotnet sharpfuzz "$dll" >/dev/null
done)


export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1
export AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_FORKSRV_INIT_TMOUT=60000 AFL_SHUFFLE_QUEUE=0
[ "$input" = "l3" ] && export AFL_CUSTOM_MUTATOR_LIBRARY="$work/l3_mutator.so"
# a memory bound for the harness: an input that makes the codec allocate past it is a finding
export DOTNET_GCHeapHardLimit=0x20000000 DOTNET_TieredPGO=0

echo "fuzz: $target ($input inputs) ${limit[*]:-until Ctrl-C}; output in $out"
afl-fuzz -i "$seeds" -o "$out" -t 10000 -m none "${limit[@]}" -- dotnet "$bin/L3.Fuzz.dll" "$target" \
    > "$out/afl.log" 2>&1 || { tail -30 "$out/afl.log"; echo "run.sh: afl-fuzz failed" >&2; exit 1; }

stats="$out/default/fuzzer_stats"
field() { awk -F' *: *' -v k="$1" '$1 == k {print $2}' "$stats"; }
echo "fuzz: $target: $(field execs_done) executions in $(( $(field last_update) - $(field start_time) )) s," \
     "$(field edges_found) of $(field total_edges) edges, corpus $(field corpus_count), crashes $(field saved_crashes), hangs $(field saved_hangs)"

findings=0
for crash in "$out"/default/crashes/id*; do
    [ -e "$crash" ] || continue
    findings=$((findings + 1))
    echo "CRASH $crash"
    dotnet "$work/build/L3.Fuzz.dll" "$target" "$crash" 2>&1 | head -15 || true
done
for hang in "$out"/default/hangs/id*; do
    [ -e "$hang" ] || continue
    # a busy machine makes slow inputs look like hangs: only one that hangs again counts
    if timeout 60 dotnet "$work/build/L3.Fuzz.dll" "$target" "$hang" >/dev/null 2>&1; then
        echo "hang did not reproduce (slow machine): $hang"
    else
        findings=$((findings + 1)); echo "HANG $hang"
    fi
done
[ "$findings" = 0 ] || { echo "fuzz: $target: $findings finding(s)" >&2; exit 1; }
