#!/usr/bin/env bash
# Side-by-side throughput and proxy CPU (seconds per million messages, per GB) of two socktap binaries (and
# of the new one with other options), interleaved so that drift on a shared machine hits every variant
# alike. Prints the median of ROUNDS runs per variant, for every route and bulk workload bench_load ran
# (one-way and echoed; absolute-form "explicit", CONNECT tunnels, reverse). Issue 19 compares with 3c149c4:
#   git worktree add /tmp/base 3c149c4 && cmake -S /tmp/base -B /tmp/base/build -G Ninja \
#     -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSOCKTAP_BUILD_BENCH=OFF -DSOCKTAP_BUILD_TESTS=OFF \
#     && cmake --build /tmp/base/build --target socktap
#   scripts/bench-compare.sh /tmp/base/build/app/socktap build/app/socktap 3
# Environment: BENCH_VARIANTS="0 1 2" runs only those variants (0 old, 1 new, 2 new --memory-only, ...,
# 8 and 9 a no-op script hook on both directions and on the client's, 10 the BENCH_PREVIOUS build);
# BENCH_ARGS adds bench_load options (default: --bulk-only --route explicit --route CONNECT).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
old=$1
new=$2
rounds=${3:-3}
bench="$root/build/bench/bench_load"
read -ra benchArgs <<<"${BENCH_ARGS:---bulk-only --route explicit --route CONNECT}"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# name|binary|extra bench_load arguments
record="$out/record.socktap"
variants=("old|$old|" "new (default: crash journal)|$new|" "new, memory only|$new|--socktap-arg --memory-only"
          "new, --record FILE|$new|--socktap-arg --record --socktap-arg $record"
          "new, 64M memory, spilling to disk|$new|--socktap-arg --max-capture-memory --socktap-arg 64M"
          "new, 64M memory, memory only|$new|--socktap-arg --max-capture-memory --socktap-arg 64M --socktap-arg --memory-only"
          "new, 20 rules for other hosts|$new|--rules $root/bench/rules-20-other-hosts.json"
          "new, 20 rules gating every message|$new|--rules $root/bench/rules-20-gated.json"
          "new, a no-op onMessage script|$new|--socktap-arg --script --socktap-arg $root/bench/noop-onmessage.js"
          "new, a no-op onClientMessage|$new|--socktap-arg --script --socktap-arg $root/bench/noop-onclientmessage.js")
# BENCH_PREVIOUS=BINARY adds a third build (the one before a change), as the last variant.
[ -n "${BENCH_PREVIOUS:-}" ] && variants+=("previous build|$BENCH_PREVIOUS|")
[ -n "${BENCH_VARIANTS:-}" ] && read -ra keep <<<"$BENCH_VARIANTS" && {
    picked=(); for k in "${keep[@]}"; do picked+=("${variants[$k]}"); done; variants=("${picked[@]}"); }
for r in $(seq "$rounds"); do
    for i in "${!variants[@]}"; do
        IFS='|' read -r name binary extra <<<"${variants[$i]}"
        args=(--only socktap --socktap "$binary" "${benchArgs[@]}")
        [ -n "$extra" ] && read -ra more <<<"$extra" && args+=("${more[@]}")
        "$bench" "${args[@]}" >"$out/$i.$r" 2>&1
    done
done
median() { sort -n | awk 'NF {v[++n]=$1} END {if (n) print v[int((n+1)/2)]; else print "-"}'; }
# A run that stalled says "stopped after": count it as 0, never as a number from its message.
rate() { { grep -F "$1" || true; } | { grep -v 'proxy CPU' || true; } | awk '/stopped after/ {print 0; next} {print $(NF-1)}' | median; }
cpu() { { grep -F "proxy CPU, $1 " || true; } | sed -E 's/.* ([0-9.]+) s per GB, ([0-9.]+) s per million messages/\2 \1/' \
    | awk -v f="$2" '{print $f}' | median; }
routes=$(cat "$out"/*.1 | awk '/^socktap [A-Za-z]+ +[0-9]/ {print $2}' | awk '!seen[$0]++')
labels=("64 B messages, pipelined" "16 KiB messages" "1 MiB messages" "64 B messages, echoed"
        "16 KiB messages, echoed" "1 MiB messages, echoed")
for route in $routes; do
    echo
    printf '%-34s' "socktap $route (median of $rounds)"
    for l in "${labels[@]}"; do printf ' | %-22s' "$l"; done
    echo
    for i in "${!variants[@]}"; do
        IFS='|' read -r name _ _ <<<"${variants[$i]}"
        printf '%-34s' "$name"
        for l in "${labels[@]}"; do
            lines=$(cat "$out/$i".* | grep -E "^socktap $route " || true)
            thr=$(rate "   $l " <<<"$(grep -F "$l" <<<"$lines" | grep -vF "$l," || true)")
            # Throughput: messages/s at 64 B, MB/s otherwise; CPU: s per million messages at 64 B, per GB.
            field=2; [[ $l == 64* ]] && field=1
            c=$(cpu "$l" "$field" <<<"$lines")
            printf ' | %-22s' "$thr @ $c"
        done
        echo
    done
done
echo
echo "cell: throughput (messages/s at 64 B, MB/s otherwise) @ proxy CPU (s per million messages at 64 B, s per GB"
echo "otherwise); echoed workloads count every message relayed, each way"
