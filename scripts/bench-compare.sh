#!/usr/bin/env bash
# Side-by-side throughput of two socktap binaries (and of the new one with rules loaded), interleaved so
# that drift on a shared machine hits every variant alike. Prints the median of ROUNDS runs per variant.
#   scripts/bench-compare.sh OLD_SOCKTAP NEW_SOCKTAP [ROUNDS]
# Example: build the previous commit into build-base, then
#   scripts/bench-compare.sh build-base/app/socktap build/app/socktap 3
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
old=$1
new=$2
rounds=${3:-3}
bench="$root/build/bench/bench_load"
variants=("old|$old|" "new|$new|" "new, 20 rules for other hosts|$new|$root/bench/rules-20-other-hosts.json"
          "new, 20 rules gating every message|$new|$root/bench/rules-20-gated.json")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for r in $(seq "$rounds"); do
    for i in "${!variants[@]}"; do
        IFS='|' read -r name binary rules <<<"${variants[$i]}"
        args=(--only socktap --socktap "$binary")
        [ -n "$rules" ] && args+=(--rules "$rules")
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
