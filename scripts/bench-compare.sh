#!/usr/bin/env bash
# Side-by-side throughput and proxy CPU (seconds per million messages, per GB) of two socktap binaries (and
# of the new one with other options), interleaved so that drift on a shared machine hits every variant
# alike. Prints the median of ROUNDS runs per variant. Issue 19 compares with 3c149c4:
#   git worktree add /tmp/base 3c149c4 && cmake -S /tmp/base -B /tmp/base/build -G Ninja \
#     -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSOCKTAP_BUILD_BENCH=OFF && cmake --build /tmp/base/build --target socktap
#   scripts/bench-compare.sh OLD_SOCKTAP NEW_SOCKTAP [ROUNDS]
# Example: build the previous commit into build-base, then
#   scripts/bench-compare.sh build-base/app/socktap build/app/socktap 3
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
old=$1
new=$2
rounds=${3:-3}
bench="$root/build/bench/bench_load"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# name|binary|extra bench_load arguments
record="$out/record.socktap"
variants=("old|$old|" "new (default: crash journal)|$new|" "new, memory only|$new|--socktap-arg --memory-only"
          "new, --record FILE|$new|--socktap-arg --record --socktap-arg $record"
          "new, 64M memory, spilling to disk|$new|--socktap-arg --max-capture-memory --socktap-arg 64M"
          "new, 64M memory, memory only|$new|--socktap-arg --max-capture-memory --socktap-arg 64M --socktap-arg --memory-only"
          "new, 20 rules for other hosts|$new|--rules $root/bench/rules-20-other-hosts.json"
          "new, 20 rules gating every message|$new|--rules $root/bench/rules-20-gated.json")
[ -n "${BENCH_VARIANTS:-}" ] && read -ra keep <<<"$BENCH_VARIANTS" && {
    # BENCH_VARIANTS="0 1 2": only those variants
    picked=(); for k in "${keep[@]}"; do picked+=("${variants[$k]}"); done; variants=("${picked[@]}"); }
for r in $(seq "$rounds"); do
    for i in "${!variants[@]}"; do
        IFS='|' read -r name binary extra <<<"${variants[$i]}"
        args=(--only socktap --socktap "$binary")
        [ -n "$extra" ] && read -ra more <<<"$extra" && args+=("${more[@]}")
        "$bench" "${args[@]}" >"$out/$i.$r" 2>&1
    done
done
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
# A run that stalled says "stopped after": count it as 0, never as a number from its message.
rate() { grep "$1" | awk '/stopped after/ {print 0; next} {print $(NF-1)}' | median; }
printf '%-42s %16s %12s %12s   (explicit proxy, median of %s runs)\n' variant "64 B msg/s" "16 KiB MB/s" "1 MiB MB/s" "$rounds"
for i in "${!variants[@]}"; do
    IFS='|' read -r name _ _ <<<"${variants[$i]}"
    small=$(cat "$out/$i".* | rate 'socktap explicit   64 B messages, pipelined')
    medium=$(cat "$out/$i".* | rate 'socktap explicit   16 KiB messages')
    large=$(cat "$out/$i".* | rate 'socktap explicit   1 MiB messages')
    printf '%-42s %16s %12s %12s\n' "$name" "$small" "$medium" "$large"
done
# The proxy's own CPU: what it takes from the client and server on the same machine.
cpu() { grep "proxy CPU, $1" | sed -E 's/.* ([0-9.]+) s per GB, ([0-9.]+) s per million messages/\2 \1/' \
    | awk -v f="$2" '{print $f}' | median; }
printf '\n%-42s %16s %12s %12s   (explicit proxy, proxy CPU, median)\n' variant "64 B s/M msg" "16 KiB s/GB" \
    "1 MiB s/GB"
for i in "${!variants[@]}"; do
    IFS='|' read -r name _ _ <<<"${variants[$i]}"
    small=$(cat "$out/$i".* | grep 'socktap explicit' | cpu '64 B messages' 1)
    medium=$(cat "$out/$i".* | grep 'socktap explicit' | cpu '16 KiB messages' 2)
    large=$(cat "$out/$i".* | grep 'socktap explicit' | cpu '1 MiB messages' 2)
    printf '%-42s %16s %12s %12s\n' "$name" "$small" "$medium" "$large"
done
