#!/usr/bin/env bash
# Regenerates BENCHMARKS.md in one run: builds the release binary, runs the criterion
# benches (benches/replay.rs), the Timeline memory bench (benches/timeline_memory.rs) and
# a peak-RSS measurement of `grafana-source replay` on generated logs, then writes the
# figures, the ratios the targets are stated in, and the machine they came from.
#
# About 10 minutes on 2 cores with today's fold. Environment knobs:
#   BENCH_CPU=N            pin the measured processes to CPU N (taskset); default: not pinned
#   BENCH_SIZES=10,100     relations per log for the criterion benches (default 10,100,1000,10000)
#   BENCH_RSS_WORLDS="1000x5 100x5 10x5 2x2"  worlds tried for the 1,000,000-line log, biggest first: the
#                          first whose replay is estimated under BENCH_RSS_BUDGET_S is used
#   BENCH_RSS_BUDGET_S=300 time allowed for replaying the 1,000,000-line log
#   BENCH_RSS_RUNS=3       replays per log length in the peak-RSS table (the median is
#                          reported, with the smallest and largest)
#   BENCH_CACHEGRIND=0     skip the instruction counts (valgrind; about 6 minutes)
#   BENCH_OUTPUT=path      where to write the report (default BENCHMARKS.md)
#   BENCH_PAIRED=0         skip the interleaved ratios of benches/replay.rs (about 20 s)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=$TARGET_DIR/bench-results
REPORT=${BENCH_OUTPUT:-$ROOT/BENCHMARKS.md}
# The measured binary is copied once built: other builds in the same target directory
# (several people share this tree) must not swap it in the middle of a run.
BIN=$OUT/grafana-source
RSS_WORLDS=${BENCH_RSS_WORLDS:-"1000x5 100x5 10x5 2x2"}
# Set here, not in the measuring part: BENCH_REPORT_ONLY=1 writes the command too.
EXPLORE_ARGS=(explore --profile verified --depth 7 --providers 2 --units 2 --grafana-units 2)
EXPLORE_RUNS=3
RSS_BUDGET_S=${BENCH_RSS_BUDGET_S:-300}
RSS_RUNS=${BENCH_RSS_RUNS:-3}
PIN=()
if [[ -n ${BENCH_CPU:-} ]]; then
    PIN=(taskset -c "$BENCH_CPU")
fi
export CRITERION_HOME=$OUT/criterion

mkdir -p "$OUT"
T0=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

setup_bytes() { "$BIN" gen-log --relations "$1" --units "$2" --steps 0 --seed 42 | wc -c; }
setup_lines() { "$BIN" gen-log --relations "$1" --units "$2" --steps 0 --seed 42 | wc -l; }

# BENCH_REPORT_ONLY=1: rewrite the report from the results of the last run.
if [[ -z ${BENCH_REPORT_ONLY:-} ]]; then
rm -f "$OUT"/*.tsv

echo "== build (release binary and benches)"
cargo build --locked --release --bin grafana-source --example serde_value_baseline
cp "$TARGET_DIR/release/grafana-source" "$BIN"
cp "$TARGET_DIR/release/examples/serde_value_baseline" "$OUT/serde_value_baseline"
REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git status --porcelain 2>/dev/null) ]]; then REV="$REV (with uncommitted changes)"; fi
echo "$REV" >"$OUT/rev"
cargo bench --locked --no-run

echo "== throughput: cargo bench --bench replay"
BENCH_RESULTS=$OUT/replay.tsv BENCH_PAIRED_RESULTS=$OUT/paired.tsv "${PIN[@]}" cargo bench --locked --bench replay

echo "== Timeline bytes per kept step: cargo bench --bench timeline_memory"
for r in 100 1000 10000; do
    BENCH_TIMELINE_RELATIONS=$r BENCH_RESULTS=$OUT/timeline_$r.tsv "${PIN[@]}" cargo bench --locked --bench timeline_memory
done
{ head -1 "$OUT/timeline_100.tsv"; for r in 100 1000 10000; do tail -n +2 "$OUT/timeline_$r.tsv"; done; } >"$OUT/timeline.tsv"

# Three runs, the median reported: on this VM the kernel's time for the pages a run first
# touches moves a run's wall time by up to ~40% from one minute to the next.
echo "== explorer: grafana-source explore, $EXPLORE_RUNS runs"
{
    printf 'states\tdistinct\tstates_per_s\tseconds\tmax_rss_kib\n'
    for i in $(seq "$EXPLORE_RUNS"); do
        /usr/bin/time -v -o "$OUT/explore_time_$i.txt" "${PIN[@]}" "$BIN" "${EXPLORE_ARGS[@]}" >"$OUT/explore_$i.txt" 2>&1
        awk -F': ' '
            /^states explored/ { st = $2 } /^distinct states/ { d = $2 } /^states per second/ { r = $2 }
            /^elapsed/ { e = $2 + 0 }
            END { printf "%s\t%s\t%s\t%s\t", st, d, r, e }' "$OUT/explore_$i.txt"
        awk -F': ' '/Maximum resident set size/ { print $2 }' "$OUT/explore_time_$i.txt"
    done
} >"$OUT/explore.tsv"

# --- peak RSS -------------------------------------------------------------------------
# gen LOG RELATIONS UNITS LINES: a log of exactly LINES lines (setup included).
gen() {
    local setup
    setup=$(setup_lines "$2" "$3")
    "$BIN" gen-log --relations "$2" --units "$3" --steps $(($4 - setup)) --seed 42 >"$1"
}
# rss LOG: "max-RSS-KiB elapsed-seconds" of `replay --profile libpatch21 LOG`, read from
# `/usr/bin/time -v`.
# Further arguments go to `replay` (`--json`: the state is not read back then).
rss() {
    local rc=0 log=$1
    shift
    # Exit code 1 means the replay found violations: still a measurement.
    NO_COLOR=1 /usr/bin/time -v -o "$OUT/time.txt" "${PIN[@]}" "$BIN" replay --profile libpatch21 "$@" "$log" >"$OUT/replay_out.txt" || rc=$?
    if ((rc > 1)); then
        echo "replay of $log failed (exit $rc)" >&2
        exit 1
    fi
    # The state at the end: datasources provisioned and names scheduled for deletion.
    local ds del
    ds=$(sed -n 's/^Datasources provisioned (\([0-9]*\)).*/\1/p' "$OUT/replay_out.txt")
    del=$(sed -n 's/^Scheduled for deletion (\([0-9]*\)).*/\1/p' "$OUT/replay_out.txt")
    awk -F': ' -v ds="${ds:-?}" -v del="${del:-?}" '
        /Maximum resident set size/ { kib = $2 }
        /Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i] }
        END { print kib, s, ds, del }' "$OUT/time.txt"
}

echo "== peak RSS: choosing the world for the 1,000,000-line log"
RSS_LOG=$OUT/rss.jsonl
CHOSEN=""
for w in $RSS_WORLDS; do
    r=${w%x*} u=${w#*x}
    gen "$RSS_LOG" "$r" "$u" 20000
    read -r kib secs _ _ < <(rss "$RSS_LOG")
    # × 50 lines, × 2.5: a step costs more as the log goes on (libpatch21's
    # sources_to_delete fills up with the names of units that left, up to the world's).
    est=$(awk -v s="$secs" 'BEGIN { printf "%.0f", s * 125 }')
    echo "   ${r}x${u}: 20,000 lines in ${secs} s, 1,000,000 estimated at ${est} s"
    CHOSEN="$r $u"
    if ((est <= RSS_BUDGET_S)); then break; fi
done
read -r RR RU <<<"$CHOSEN"
# The same binary on the same log peaks at different RSS from run to run (seen: 23.9 to
# 25.9 MiB on 20,000 lines): foldhash seeds each run's dict hashes at random and the
# address space is randomised, so the allocator's blocks fill differently. One run per
# length would compare two draws; each length is replayed RSS_RUNS times and the median
# is compared, the smallest and largest kept beside it.
printf 'lines\trelations\tunits\tmax_rss_kib\tseconds\tsetup_bytes\tdatasources\tdeletions\tmin_rss_kib\tmax_rss_kib_of_runs\truns\n' >"$OUT/rss.tsv"
printf 'lines\tmax_rss_kib\tseconds\n' >"$OUT/rss_json.tsv"
WORLD_BYTES=$(setup_bytes "$RR" "$RU")
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for lines in 20000 100000 400000 1000000; do
    gen "$RSS_LOG" "$RR" "$RU" "$lines"
    runs=()
    for ((i = 0; i < RSS_RUNS; i++)); do
        read -r kib secs ds del < <(rss "$RSS_LOG")
        runs+=("$kib $secs")
        echo "   ${RR}x${RU}, ${lines} lines, run $((i + 1)): max RSS ${kib} KiB in ${secs} s ($ds datasources, $del deletions at the end)"
    done
    kib=$(printf '%s\n' "${runs[@]}" | cut -d' ' -f1 | median)
    secs=$(printf '%s\n' "${runs[@]}" | cut -d' ' -f2 | median)
    lo=$(printf '%s\n' "${runs[@]}" | cut -d' ' -f1 | sort -n | head -1)
    hi=$(printf '%s\n' "${runs[@]}" | cut -d' ' -f1 | sort -n | tail -1)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$lines" "$RR" "$RU" "$kib" "$secs" "$WORLD_BYTES" "$ds" "$del" "$lo" "$hi" "$RSS_RUNS" >>"$OUT/rss.tsv"
    # The JSON summary (`replay --json`) is written as it goes too: one run at each end.
    if ((lines == 20000 || lines == 1000000)); then
        read -r kib secs _ _ < <(rss "$RSS_LOG" --json)
        echo "   ${RR}x${RU}, ${lines} lines, --json: max RSS ${kib} KiB in ${secs} s"
        printf '%s\t%s\t%s\n' "$lines" "$kib" "$secs" >>"$OUT/rss_json.tsv"
    fi
done
echo "== peak RSS versus world size (setup + 200 steps)"
printf 'relations\tunits\tlines\tmax_rss_kib\tseconds\tsetup_bytes\n' >"$OUT/rss_world.tsv"
for r in 10 100 1000 10000; do
    setup=$(setup_lines "$r" 5)
    gen "$RSS_LOG" "$r" 5 $((setup + 200))
    read -r kib secs _ _ < <(rss "$RSS_LOG")
    echo "   ${r}x5: max RSS ${kib} KiB in ${secs} s"
    printf '%s\t5\t%s\t%s\t%s\t%s\n' "$r" $((setup + 200)) "$kib" "$secs" "$(setup_bytes "$r" 5)" >>"$OUT/rss_world.tsv"
done

# --- instruction counts ---------------------------------------------------------------
# cachegrind counts the instructions a replay executes and simulates its caches: the same
# figures for the same binary and log whatever else the machine runs, unlike the
# wall-clock figures above. Per step: a replay of the setup, the warm-up and 10,000 steps
# minus a replay of its first 5,000 steps, divided by 5,000 (the setup cancels out).
if [[ ${BENCH_CACHEGRIND:-1} != 0 ]] && command -v valgrind >/dev/null; then
    echo "== instructions and cache misses per step: valgrind --tool=cachegrind"
    # cg LOG: "instructions D1-misses LLd-misses I1-misses" of `replay --profile libpatch21 LOG`.
    # cg LOG baseline: the same of the serde_json::Value baseline reading LOG's lines.
    cg() {
        local cmd=("$BIN" replay --profile libpatch21 "$1")
        if [[ ${2:-} == baseline ]]; then cmd=("$OUT/serde_value_baseline" "$1"); fi
        valgrind --tool=cachegrind --cache-sim=yes --cachegrind-out-file=/dev/null \
            "${cmd[@]}" 2>&1 >/dev/null |
            awk '{ gsub(",", "", $4) } $2 == "I" && $3 == "refs:" { i = $4 }
                 $2 == "D1" && $3 == "misses:" { d = $4 } $2 == "LLd" && $3 == "misses:" { l = $4 }
                 $2 == "I1" && $3 == "misses:" { m = $4 }
                 END { print i, d, l, m }'
    }
    SHORT_LOG=$OUT/cachegrind_short.jsonl
    printf 'relations\tinstructions\td1_misses\tlld_misses\ti1_misses\n' >"$OUT/cachegrind.tsv"
    for r in 10 100 1000 10000; do
        setup=$(setup_lines "$r" 5)
        gen "$RSS_LOG" "$r" 5 $((setup + 8 + 10000))
        head -n $((setup + 8 + 5000)) "$RSS_LOG" >"$SHORT_LOG"
        read -r i1 d1 l1 m1 < <(cg "$SHORT_LOG")
        read -r i2 d2 l2 m2 < <(cg "$RSS_LOG")
        printf '%s\t%s\t%s\t%s\t%s\n' "$r" $(((i2 - i1) / 5000)) $(((d2 - d1) / 5000)) $(((l2 - l1) / 5000)) \
            $(((m2 - m1) / 5000)) >>"$OUT/cachegrind.tsv"
        echo "   ${r} relations: $(((i2 - i1) / 5000)) instructions, $(((d2 - d1) / 5000)) D1 misses, $(((m2 - m1) / 5000)) I1 misses per step"
        if ((r == 100)); then
            # The baseline on the same two logs: what reading the same lines costs.
            read -r i1 d1 l1 m1 < <(cg "$SHORT_LOG" baseline)
            read -r i2 d2 l2 m2 < <(cg "$RSS_LOG" baseline)
            printf 'relations\tinstructions\td1_misses\tlld_misses\ti1_misses\n%s\t%s\t%s\t%s\t%s\n' "$r" \
                $(((i2 - i1) / 5000)) $(((d2 - d1) / 5000)) $(((l2 - l1) / 5000)) $(((m2 - m1) / 5000)) \
                >"$OUT/cachegrind_baseline.tsv"
            echo "   ${r} relations, serde_json::Value baseline: $(((i2 - i1) / 5000)) instructions, $(((d2 - d1) / 5000)) D1 misses, $(((m2 - m1) / 5000)) I1 misses per line"
            # Atomic read-modify-writes (reference counts): callgrind's count of each
            # instruction, summed over those objdump shows with a lock prefix.
            if command -v objdump >/dev/null; then
                locked() { # locked PROGRAM ARGS...: locked instructions PROGRAM itself ran
                    objdump -d --no-show-raw-insn "$1" | awk '/\tlock / { a = $1; sub(":", "", a); print a }' >"$OUT/lock_addresses.txt"
                    valgrind --tool=callgrind --dump-instr=yes --callgrind-out-file="$OUT/callgrind.out" "$@" >/dev/null 2>&1
                    awk -v bin="$(basename "$1")" -f "$ROOT/scripts/locked.awk" "$OUT/lock_addresses.txt" "$OUT/callgrind.out"
                }
                k1=$(locked "$BIN" replay --profile libpatch21 "$SHORT_LOG")
                k2=$(locked "$BIN" replay --profile libpatch21 "$RSS_LOG")
                b1=$(locked "$OUT/serde_value_baseline" "$SHORT_LOG")
                b2=$(locked "$OUT/serde_value_baseline" "$RSS_LOG")
                printf 'relations\treplay_locked_per_step\tbaseline_locked_per_line\n%s\t%s\t%s\n' "$r" \
                    $(((k2 - k1) / 5000)) $(((b2 - b1) / 5000)) >"$OUT/locked.tsv"
                echo "   ${r} relations: $(((k2 - k1) / 5000)) locked instructions per step (baseline: $(((b2 - b1) / 5000)) per line)"
                rm -f "$OUT/callgrind.out" "$OUT/lock_addresses.txt"
            fi
        fi
    done
    rm -f "$SHORT_LOG"
fi
rm -f "$RSS_LOG" "$OUT/time.txt"
echo "$(($(date +%s) - T0))" >"$OUT/elapsed"
echo "$LOAD_START / $(cut -d' ' -f1-3 /proc/loadavg)" >"$OUT/load"
date -u '+%Y-%m-%d %H:%M UTC' >"$OUT/date"
fi
read -r RR RU WORLD_BYTES < <(awk -F'\t' 'NR == 2 { print $2, $3, $6 }' "$OUT/rss.tsv")
SETUP_RSS=$(setup_lines "$RR" "$RU")

# --- the report -----------------------------------------------------------------------
LOAD=$(cat "$OUT/load")
ELAPSED=$(cat "$OUT/elapsed")
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
REV=$(cat "$OUT/rev")

# Formatting shared by every awk program below: h(ns) human time, rate(per s), c(n) 1,234.
AWKLIB='
function h(n) {
    if (n == "nan" || n == "") return "n/a"
    if (n < 1e3) return sprintf("%.0f ns", n)
    if (n < 1e6) return sprintf("%.1f µs", n / 1e3)
    if (n < 1e9) return sprintf("%.1f ms", n / 1e6)
    return sprintf("%.2f s", n / 1e9)
}
function rate(n) {
    if (n >= 1e6) return sprintf("%.2f M/s", n / 1e6)
    if (n >= 1e3) return sprintf("%.1f k/s", n / 1e3)
    return sprintf("%.1f /s", n)
}
function c(n,    s, neg, out) {
    if (n == "nan" || n == "") return "n/a"
    s = sprintf("%.0f", n); neg = ""; out = ""
    if (substr(s, 1, 1) == "-") { neg = "-"; s = substr(s, 2) }
    while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
    return neg s out
}
'

# col FILE KEY1 KEY2 COLUMN: the COLUMN of the row whose first two fields are KEY1 KEY2.
col() {
    awk -F'\t' -v a="$2" -v b="$3" -v c="$4" '
        NR == 1 { for (i = 1; i <= NF; i++) h[$i] = i; next }
        $1 == a && $2 == b { print $(h[c]); found = 1; exit }
        END { if (!found) print "nan" }' "$1"
}
calc() { awk "BEGIN { x = $1; printf \"$2\", x }"; }
verdict() { awk "BEGIN { print (($1) ? \"**met**\" : \"**not met**\") }"; }
human_ns() { awk -v n="$1" "$AWKLIB"'BEGIN { print h(n) }'; }
commas() { awk -v n="$1" "$AWKLIB"'BEGIN { print c(n) }'; }

R=$OUT/replay.tsv
REPLAY100=$(col "$R" replay 100 ns_per_step)
BASE100=$(col "$R" serde_value 100 ns_per_step)
FC10=$(col "$R" fold_check 10 ns_per_step)
FC10K=$(col "$R" fold_check 10000 ns_per_step)
RP10=$(col "$R" replay 10 ns_per_step)
RP10K=$(col "$R" replay 10000 ns_per_step)
FL10=$(col "$R" fold_libpatch21 10 ns_per_step)
FL10K=$(col "$R" fold_libpatch21 10000 ns_per_step)
FV10=$(col "$R" fold_verified 10 ns_per_step)
FV10K=$(col "$R" fold_verified 10000 ns_per_step)
TL=$OUT/timeline.tsv
BPS=$(col "$TL" libpatch21 1000 bytes_per_kept_step)
BPS_V=$(col "$TL" verified 1000 bytes_per_kept_step)
TL_STEPS=$(col "$TL" libpatch21 1000 measured_steps)
READ_MS=$(col "$TL" libpatch21 1000 worst_read_ms)
READ_MS_V=$(col "$TL" verified 1000 worst_read_ms)
BPS100=$(col "$TL" libpatch21 100 bytes_per_kept_step)
BPS10K=$(col "$TL" libpatch21 10000 bytes_per_kept_step)
# The explorer's runs by time: the one of median time, the fastest and slowest beside it.
EX_BY_TIME=$(tail -n +2 "$OUT/explore.tsv" | sort -t$'\t' -k4,4g)
read -r EX_STATES EX_DISTINCT EX_RATE EX_SECS EX_RSS < <(sed -n "$(((EXPLORE_RUNS + 1) / 2))p" <<<"$EX_BY_TIME" | tr '\t' ' ')
read -r EX_MIN EX_MAX < <(awk -F'\t' 'NR == 1 { lo = $4 } { hi = $4 } END { print lo, hi }' <<<"$EX_BY_TIME")
RSS10K=$(awk -F'\t' '$1 == 20000 { print $4 }' "$OUT/rss.tsv")
RSS100K=$(awk -F'\t' '$1 == 100000 { print $4 }' "$OUT/rss.tsv")
RSS1M=$(awk -F'\t' '$1 == 1000000 { print $4 }' "$OUT/rss.tsv")
RSS_RUNS_DONE=$(awk -F'\t' '$1 == 1000000 { print $11 }' "$OUT/rss.tsv")
SECS1M=$(awk -F'\t' '$1 == 1000000 { print $5 }' "$OUT/rss.tsv")

# The interleaved ratios (benches/replay.rs, `paired`): NAME COLUMN -> value, or nan.
pcol() {
    awk -F'\t' -v n="$1" -v c="$2" '
        NR == 1 { for (i = 1; i <= NF; i++) h[$i] = i; next }
        $1 == n { print $(h[c]); found = 1; exit }
        END { if (!found) print "nan" }' "$OUT/paired.tsv" 2>/dev/null || echo nan
}
# A ratio that was not measured (BENCH_PAIRED=0) is not a verdict.
pverdict() { if [[ $1 == nan ]]; then echo "**not measured**"; else verdict "$1 <= $2"; fi; }
PR_MED=$(pcol replay_vs_serde_value ratio_median)
PR_LOW=$(pcol replay_vs_serde_value ratio_p25)
PR_HIGH=$(pcol replay_vs_serde_value ratio_p75)
PR_N=$(pcol replay_vs_serde_value rounds)
PF_MED=$(pcol fold_check_10000_vs_10 ratio_median)
PF_LOW=$(pcol fold_check_10000_vs_10 ratio_p25)
PF_HIGH=$(pcol fold_check_10000_vs_10 ratio_p75)
PF_N=$(pcol fold_check_10000_vs_10 rounds)

STEPS100=$(calc "1e9 / $REPLAY100" "%.0f")
VS_BASE=$(calc "$REPLAY100 / $BASE100" "%.1f")
# The wall-clock ratio the prose compares counts with: the interleaved one when measured.
VS_WALL=$VS_BASE
[[ $PR_MED == nan ]] || VS_WALL=$(calc "$PR_MED" "%.1f")
FLAT=$(calc "$FC10K / $FC10" "%.0f")
RSS_RATIO=$(calc "$RSS1M / $RSS10K" "%.2f")
RSS_PER_WORLD=$(calc "$RSS1M * 1024 / $WORLD_BYTES" "%.0f")

{
    cat <<EOF
# Benchmarks

Generated by \`scripts/bench.sh\` (do not edit by hand; run it again). Every measured path
is single-threaded, so each figure is what one core does. Where a step's time goes, and
the experiments measured against the targets so far: \`docs/performance.md\`.

## Machine

| | |
|---|---|
| date | $(cat "$OUT/date") |
| commit | $REV |
| CPU | $CPU |
| \`nproc\` | $(nproc) |
| rustc | $(rustc --version) |
| load average (1, 5, 15 min) at start / end | $LOAD |
| CPU pinning | ${BENCH_CPU:+taskset -c $BENCH_CPU}${BENCH_CPU:-none} |
| run time of \`scripts/bench.sh\` | ${ELAPSED} s |

The machine is shared (2 cores); a load average above 1 means other work ran beside the
benchmarks, and the figures are that much slower and noisier.

## Targets

| target | figure | |
|---|---|---|
| full replay ≥ 1,000,000 steps/s on the 100-relation log | $(commas "$STEPS100") steps/s ($(human_ns "$REPLAY100") per step) | $(verdict "$STEPS100 >= 1000000") |
| full replay ≤ 1.5 × the \`serde_json::Value\` baseline (100 relations) | $(calc "$PR_MED" "%.2f") × interleaved (median of ${PR_N} rounds, quartiles $(calc "$PR_LOW" "%.2f")–$(calc "$PR_HIGH" "%.2f")); ${VS_BASE} × from the criterion means below ($(human_ns "$REPLAY100") vs $(human_ns "$BASE100") per step) | $(pverdict "$PR_MED" 1.5) |
| per-step cost of fold + check flat within 2× from 10 to 10,000 relations | $(calc "$PF_MED" "%.2f") × interleaved (median of ${PF_N} rounds, quartiles $(calc "$PF_LOW" "%.2f")–$(calc "$PF_HIGH" "%.2f")); ${FLAT} × from the criterion means ($(human_ns "$FC10") → $(human_ns "$FC10K") per step) | $(pverdict "$PF_MED" 2) |
| ≤ 1 KiB per kept step, \`Timeline\` on the 1,000-relation log | $(commas "$BPS") bytes per step (libpatch21; verified: $(commas "$BPS_V")); O(what a step changed): $(commas "$BPS100") at 100 relations, $(commas "$BPS10K") at 10,000; a read folds at most one checkpoint spacing: ${READ_MS} ms at worst (verified: ${READ_MS_V} ms) | $(verdict "$BPS <= 1024") |
| peak memory independent of log length (1,000,000 vs 20,000 lines, within 10%; medians of ${RSS_RUNS_DONE} runs) | ${RSS_RATIO} × ($(commas "$RSS1M") KiB vs $(commas "$RSS10K") KiB, world ${RR}×${RU}) | $(verdict "$RSS1M <= 1.1 * $RSS10K") |

The two ratios marked "interleaved" are measured by timing both sides back to back,
alternating which goes first, round after round (\`paired\` in \`benches/replay.rs\`:
the replay and the baseline each over the same 19,992 lines; \`fold_check\` for about
60 ms at each size): each round gives one ratio of two timings taken within a fraction
of a second of each other, so a change in the machine's speed between two benchmarks
moves it much less than it moves the criterion means, which are timed one benchmark
after another. The verdicts use the interleaved medians.

Other ratios from the same run, 10,000 vs 10 relations per step: fold only
$(calc "$FL10K / $FL10" "%.0f") × (libpatch21), $(calc "$FV10K / $FV10" "%.0f") × (verified); full replay $(calc "$RP10K / $RP10" "%.0f") ×.

Explorer (\`grafana-source ${EXPLORE_ARGS[*]}\`): $(commas "$EX_STATES") states
($(commas "$EX_DISTINCT") distinct) in ${EX_SECS} s, ${EX_RATE} states per second, peak RSS
$(commas "$EX_RSS") KiB: the median of $EXPLORE_RUNS runs by time (fastest ${EX_MIN} s, slowest
${EX_MAX} s).

## Throughput (criterion, \`cargo bench --bench replay\`)

Logs from \`gen::generate\` (what \`grafana-source gen-log\` writes), seed 42, 5 units per
relation; the setup and the first 8 steps after it are folded outside the timing, and the
timed steps are the ones after (mostly \`grafana-source-relation-changed\` host updates,
with scaling, relations coming and going, leadership changes, peer and other hooks).
Per step: criterion's mean over 10 samples, 95% interval in brackets, and steps per
second. Steps per timed iteration are calibrated per benchmark (about 0.25 s; at most the
19,992 steps the log has after the warm-up). † timed once over one step instead, because
one step takes longer than a second.

| group | what is timed |
|---|---|
| \`parse\` | \`LogReader\` over the lines' bytes |
| \`serde_value\` | baseline: the same lines read into \`serde_json::Value\` and dropped |
| \`fold_libpatch21\`, \`fold_verified\` | \`reducer::step_moving_on\` (what a replay calls) in a loop on pre-parsed entries |
| \`fold_check\` | \`Replay::step\` on pre-parsed entries: fold, render, every invariant (libpatch21) |
| \`replay\` | the full \`replay\` path without per-step output: \`LogReader\` (32 lines parsed ahead, as the command reads a file), \`Replay::step\`, \`Tally::add\`, \`summary::write_summary\` into a sink at the end (libpatch21); each iteration is the whole window, so the summary is amortised over a log |

EOF
    awk -F'\t' "$AWKLIB"'
        NR == 1 { next }
        {
            if (!($1 in seen)) { seen[$1] = 1; groups[++ng] = $1 }
            if (!($2 in rseen)) { rseen[$2] = 1; rels[++nr] = $2 }
            mark = ($6 == "single-shot") ? " †" : sprintf(" [%s – %s]", h($8), h($9))
            cell[$1, $2] = sprintf("%s%s, %s (%s step%s/iter)", h($7), mark, rate($10), c($5), ($5 == 1) ? "" : "s")
        }
        END {
            printf "| group |"; for (j = 1; j <= nr; j++) printf " %s relations |", rels[j]; print ""
            printf "|---|"; for (j = 1; j <= nr; j++) printf "---|"; print ""
            for (i = 1; i <= ng; i++) {
                printf "| `%s` |", groups[i]
                for (j = 1; j <= nr; j++) printf " %s |", ((groups[i], rels[j]) in cell) ? cell[groups[i], rels[j]] : "–"
                print ""
            }
        }' "$R"
    setup_cols=$(awk -F'\t' "$AWKLIB"'NR > 1 && !s[$2]++ { printf "%s%s relations: %s lines", sep, c($2), c($4); sep = "; " }' "$R")
    cat <<EOF

Setup lines per log (not timed): ${setup_cols}.

## Memory kept by a \`Timeline\` (\`cargo bench --bench timeline_memory\`)

A \`Timeline\` keeps every step's parsed entry and its report without the render, and a
whole state (without the fold's memo, a cache) at checkpoints \`replay::Spacing::DEFAULT\`
apart: 4 steps per relation and remote unit the checkpoint holds, at least 256. A counting
global allocator measures the live heap bytes a \`Timeline\` holds once
\`Timeline::record\` has folded a generated log (the replay that built it is gone by then).
Bytes per kept step: what a Timeline of the log up to a checkpoint holds beyond a Timeline
up to the checkpoint before it (the first after the setup and warm-up), divided by the
steps between them (${TL_STEPS} at 1,000 relations): one step's entry and report with its
share of one checkpoint. The whole-log average includes the setup's cheap steps. Reading a
state folds from the checkpoint before it; the worst read, the step just before a
checkpoint from a fresh cursor, is timed once (reading steps in ascending order folds each
entry once).

| profile | relations | bytes per kept step | steps between checkpoints | whole-log average per step | total kept | worst read |
|---|---|---|---|---|---|---|
EOF
    awk -F'\t' "$AWKLIB"'NR > 1 { printf "| %s | %s | %s | %s | %s | %.1f MiB | %s ms |\n", $1, c($2), c($6), c($5), c($7), $8 / 1048576, $9 }' "$TL"
    cat <<EOF

## Peak memory of \`grafana-source replay\` (max RSS, \`/usr/bin/time -v\`)

\`grafana-source replay --profile libpatch21 LOG\` on the release binary, on logs of the
same ${RR}-relation × ${RU}-unit world and growing length (\`gen-log --seed 42\`, setup
included in the line count). The world's size is given as the bytes of the log's setup,
the JSON that describes every relation, application databag and unit databag.
libpatch21 keeps the name of every unit that left in \`sources_to_delete\` until it comes
back; the generated worlds reuse names (Kubernetes unit ordinals, applications related
again), so that list is bounded by the world, but it fills up over the first part of a
long log (and the world drifts around its size): the state grows with them and levels
off, as the last column shows. A replay holds one entry at a time and writes its closing
summary as it makes it (the summary is as big as the final state: every datasource and
every name scheduled for deletion; built whole, it made the end of a long replay its peak).
The peak falls while the setup is folded, when the allocator still holds the blocks of
a fast-changing world (the \`setup + 200 steps\` table below peaks as high). The biggest world that
replays 1,000,000 lines in the time allowed is used: the allocator takes memory from the
system in blocks of a few MiB, which on a small world's peak is a step of tens of percent.
$(if [[ "$RR $RU" != "1000 5" ]]; then echo "(The ${RR}×${RU} world was used because replaying 1,000,000 lines of a bigger one was estimated to take longer than ${RSS_BUDGET_S} s with this build; see BENCH_RSS_WORLDS.)"; fi)

Each length is replayed ${RSS_RUNS_DONE} times: the same binary on the same log peaks at a
different RSS from run to run (dict hashes are seeded at random, addresses too), so the
median is compared and the smallest and largest of the runs are shown beside it.

| lines | max RSS (median) | smallest – largest | replay time (median) | world (setup bytes) | at the end: datasources provisioned, names scheduled for deletion |
|---|---|---|---|---|---|
EOF
    awk -F'\t' "$AWKLIB"'NR > 1 { printf "| %s | %s KiB | %s – %s KiB | %s s | %s | %s, %s |\n", c($1), c($4), c($9), c($10), $5, c($6), $7, $8 }' "$OUT/rss.tsv"
    cat <<EOF

$(awk -F'\t' "$AWKLIB"'NR == 2 { a = $2 } NR == 3 { b = $2 } END { if (a && b) printf "With `--json` (the summary as one JSON object, also written as it goes; one run each): %s KiB on 20,000 lines, %s KiB on 1,000,000 lines (%.2f ×).\n", c(a), c(b), b / a }' "$OUT/rss_json.tsv" 2>/dev/null)

Peak RSS on the 1,000,000-line log is ${RSS_PER_WORLD} × the world's setup bytes
($(commas "$WORLD_BYTES") bytes), and ${RSS_RATIO} × the peak on 20,000 lines
(100,000 lines: $(commas "$RSS100K") KiB); 1,000,000 lines took ${SECS1M} s.

Versus the world's size (setup + 200 steps, 5 units per relation):

| relations | lines | max RSS | replay time | world (setup bytes) | RSS / world bytes |
|---|---|---|---|---|---|
EOF
    awk -F'\t' "$AWKLIB"'NR > 1 { printf "| %s | %s | %s KiB | %s s | %s | %.1f |\n", c($1), c($3), c($4), $5, c($6), $4 * 1024 / $6 }' "$OUT/rss_world.tsv"
    if [[ -s $OUT/cachegrind.tsv ]]; then
        cat <<EOF

## Instructions and cache misses per step (\`valgrind --tool=cachegrind\`)

What \`grafana-source replay --profile libpatch21\` executes per step of the generated logs
(5 units per relation): a replay of the setup, 8 warm-up steps and 10,000 steps, minus a
replay of its first 5,000 steps, divided by 5,000. Counted, not timed: the same binary on
the same log gives the same figures whatever else runs on the machine (within a fraction
of a percent: dict hashes are seeded at random). The caches are simulated with this
machine's L1i, L1d and last-level sizes; an L1 miss is served by L2, L3 or memory, which
the simulation does not tell apart, and the simulated last level holds these worlds, so
its misses stay near zero. An L1i miss is a 64-byte line of code fetched again: the
instruction cache holds 32 KiB, and a step runs more distinct code than that (parse,
world update, handler, render, checks, report), so it evicts its own code as it goes.
Parsing is included; the summary at the end cancels out.

| relations | instructions per step | × 10 relations | D1 misses per step | × 10 relations | L1i misses per step |
|---|---|---|---|---|---|
EOF
        awk -F'\t' "$AWKLIB"'NR == 2 { i0 = $2; d0 = $3 } NR > 1 { printf "| %s | %s | %.2f | %s | %.2f | %s |\n", c($1), c($2), $2 / i0, c($3), $3 / d0, c($5) }' "$OUT/cachegrind.tsv"
        if [[ -s $OUT/cachegrind_baseline.tsv ]]; then
            awk -F'\t' "$AWKLIB"'
                FNR == 1 { f++ } f == 1 && $1 == 100 { ri = $2; rd = $3; rm = $5 } f == 2 && FNR == 2 { bi = $2; bd = $3; bm = $5 }
                END {
                    printf "\nThe `serde_json::Value` baseline on the same 100-relation lines (`examples/serde_value_baseline.rs`, counted the same way): %s instructions, %s D1 misses and %s L1i misses per line. The replay executes %.1f × the baseline'"'"'s instructions per step, against the %s × of the wall clock above: the rest of the gap is not work but waiting, for code (%s L1i misses a step: the baseline'"'"'s parser is one small loop that stays in the instruction cache), for data (the D1 misses above) and for the atomic reference counts of shared nodes%s. The baseline reuses the same few hot blocks for every line; a step of the fold allocates the nodes of the paths it changes and frees, a step later, the ones it replaced, which have gone cold by then, and reads the parts of the world it touches, so its misses, not its instructions, grow with the world.\n", c(bi), c(bd), c(bm), ri / bi, "'"$VS_WALL"'", c(rm), locked
                }' "$OUT/cachegrind.tsv" "$OUT/cachegrind_baseline.tsv" \
                locked="$(awk -F'\t' 'NR == 2 { printf " (%s locked instructions a step, counted by callgrind at the addresses objdump shows with a lock prefix; the baseline: %s a line)", $2, $3 }' "$OUT/locked.tsv" 2>/dev/null)"
        fi
    fi
    cat <<EOF

## Commands

\`\`\`sh
scripts/bench.sh                                  # all of the above, rewrites BENCHMARKS.md
BENCH_SIZES=100 cargo bench --bench replay        # one log size (criterion; add a filter: -- replay/)
cargo bench --bench timeline_memory               # bytes per kept step
cargo run --release -- gen-log --relations ${RR} --units ${RU} --steps $((1000000 - SETUP_RSS)) --seed 42 > big.jsonl
/usr/bin/time -v target/release/grafana-source replay --profile libpatch21 big.jsonl
cargo test --release --benches                    # each bench routine once, on a tiny log
valgrind --tool=cachegrind --cache-sim=yes target/release/grafana-source replay LOG   # instruction counts
\`\`\`

Raw results of this run: \`target/bench-results/*.tsv\`, criterion's estimates under
\`target/bench-results/criterion/\`.
EOF
} >"$REPORT"
echo "== wrote $REPORT in ${ELAPSED} s"
