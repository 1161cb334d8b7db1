#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser of untrusted bytes (docs/RELIABILITY.md), on the
# stable toolchain: libFuzzer (the `libfuzzer-sys` crate builds it with the system C++
# compiler) over code instrumented with rustc's stable SanitizerCoverage flags. No sanitizer
# (those need nightly): a finding is a panic, an overflow, an abort, a hang past --timeout or
# memory past --rss-limit.
#
#   scripts/fuzz.sh [--time SECONDS] [--runs N] [TARGET…]
#
#   --time S     run each target for S seconds (default 60)
#   --runs N     or stop each target after N executions (whichever comes first)
#   --jobs J     parallel libFuzzer workers per target (default 1)
#   TARGET       any of: sniff probe_image probe_video probe_audio probe_document range
#                reference body_kyy body_v1 (default: all, one after the other)
#
# Environment: FUZZ_TARGET_DIR (build, default ~/.cache/assetlib-fuzz: its flags differ from the
# normal build's), FUZZ_WORK (corpora, findings and logs, default ~/.cache/assetlib-fuzz-work).
# The corpus of each target grows across runs in $FUZZ_WORK/corpus/<target>. A finding is saved
# as $FUZZ_WORK/artifacts/<target>/crash-… ; replay it with `<binary> <file>`. Exit status 1 if
# any target found something. One line per target is printed as a markdown table row.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

all=(sniff probe_image probe_video probe_audio probe_document range reference body_kyy body_v1)
time_s=60 runs=0 jobs=1 targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --time) time_s="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        --jobs) jobs="$2"; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/assetlib-fuzz}"
work="${FUZZ_WORK:-$HOME/.cache/assetlib-fuzz-work}"
host="$(rustc -vV | sed -n 's/^host: //p')"

# The flags cargo-fuzz passes, less the sanitizer: all stable. `--target` keeps them off build
# scripts and proc macros.
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares"
echo "== building the fuzz targets (release, instrumented) in $CARGO_TARGET_DIR" >&2
cargo build --quiet --release --manifest-path fuzz/Cargo.toml --target "$host" --bins
bin="$CARGO_TARGET_DIR/$host/release"

seeds="$work/seeds"
if [ ! -d "$seeds" ] || [ "$(find "$seeds" -newer scripts/fuzz-seeds.sh -type d | wc -l)" -eq 0 ]; then
    rm -rf "$seeds"
    scripts/fuzz-seeds.sh "$seeds" >&2
fi

# Longest input: a media file's headers and the sniffed head (64 KB); text is short.
max_len() {
    case "$1" in
        sniff|probe_*) echo 65536 ;;
        body_*) echo 16384 ;;
        *) echo 4096 ;;
    esac
}

found=0
echo "| target | executions | execs/s | seconds | coverage (edges) | corpus | outcome |"
echo "|---|---:|---:|---:|---:|---:|---|"
for t in "${targets[@]}"; do
    [ -x "$bin/$t" ] || { echo "fuzz.sh: no target $t (one of: ${all[*]})" >&2; exit 2; }
    mkdir -p "$work/corpus/$t" "$work/artifacts/$t" "$work/logs"
    log="$work/logs/$t.log"
    start=$(date +%s)
    status=0
    args=(-max_total_time="$time_s" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048
        -malloc_limit_mb=2048 -artifact_prefix="artifacts/$t/" -print_final_stats=1)
    [ "$runs" -gt 0 ] && args+=(-runs="$runs")
    # -jobs (even 1) switches libFuzzer to worker processes logging to fuzz-N.log.
    [ "$jobs" -gt 1 ] && args+=(-jobs="$jobs" -workers="$jobs")
    rm -f "$work"/fuzz-*.log
    (cd "$work" && "$bin/$t" "corpus/$t" "seeds/$t" "${args[@]}" >"$log" 2>&1) || status=$?
    if [ "$jobs" -gt 1 ]; then cat "$work"/fuzz-*.log >>"$log" 2>/dev/null || true; rm -f "$work"/fuzz-*.log; fi
    secs=$(( $(date +%s) - start ))
    execs=$(grep -h 'stat::number_of_executed_units' "$log" | awk '{s+=$2} END {print s+0}')
    rate=$(( secs > 0 ? execs / secs : execs ))
    cov=$(grep -ohE 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
    corpus=$(find "$work/corpus/$t" -type f | wc -l)
    if [ "$status" -ne 0 ] || ls "$work/artifacts/$t"/crash-* "$work/artifacts/$t"/timeout-* \
        "$work/artifacts/$t"/oom-* >/dev/null 2>&1; then
        outcome="FINDING (exit $status): see $log and $work/artifacts/$t/"
        found=1
    else
        outcome="no finding"
    fi
    echo "| $t | $execs | $rate | $secs | ${cov:-?} | $corpus | $outcome |"
done
exit "$found"
