#!/usr/bin/env bash
# What watching a remote Socktap costs its relay (issue 22): bench_load's one-way 64 B workload through
# `socktap --headless --control`, with nobody attached, with `socktap attach` printing its text, and with a
# window (offscreen) attached by --attach; the variants interleaved, ROUNDS rounds, medians printed. The
# attaching side starts once the remote's control port listens, so it reads the run live (and whatever it
# falls behind by, from the remote's journal). Also: the watcher's own CPU for the run, and the bytes the
# link carried per message (what the attach received, over the messages relayed).
#   scripts/bench-attach.sh [ROUNDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-3}
messages=${MESSAGES:-20000000} # about 8 s at 2.5 M msg/s: the watcher is there for most of the run
bin="$root/build/app/socktap"
bench="$root/build/bench/bench_load"
port=19555
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_CACHE_HOME="$work/cache" XDG_CONFIG_HOME="$work/config" QT_QPA_PLATFORM=offscreen
"$bin" ca path >/dev/null # (the CA both sides trust)
clockTicks=$(getconf CLK_TCK)
cpuOf() { # utime + stime of a pid, in seconds
    awk -v t="$clockTicks" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat" 2>/dev/null || echo 0
}
runOnce() { # $1: none|attach|window -> "msgs/s s-per-million watcher-cpu"
    "$bench" --socktap "$bin" --only socktap --route explicit --bulk-only --workload "64 B messages, pipelined" \
        --small-messages "$messages" --socktap-arg --control --socktap-arg "127.0.0.1:$port" --socktap-arg --control-token \
        --socktap-arg bench >"$work/out" 2>&1 &
    local benchPid=$! watcher=
    if [ "$1" != none ]; then
        for _ in $(seq 200); do ss -ltn | grep -q ":$port " && break; sleep 0.02; done
        if [ "$1" = attach ]; then
            "$bin" attach "127.0.0.1:$port" --token bench >"$work/attach.txt" 2>"$work/attach.err" &
        else
            "$bin" --attach "127.0.0.1:$port" --token bench --listen 127.0.0.1:0 >/dev/null 2>"$work/window.err" &
        fi
        watcher=$!
    fi
    local cpu=0
    while kill -0 "$benchPid" 2>/dev/null; do
        [ -n "$watcher" ] && cpu=$(cpuOf "$watcher")
        sleep 0.1
    done
    wait "$benchPid" || true
    local seen=-
    if [ "$1" = attach ]; then seen=$(grep -c ' → \| ← ' "$work/attach.txt" || true); fi
    if [ -n "$watcher" ]; then kill "$watcher" 2>/dev/null; wait "$watcher" 2>/dev/null || true; fi
    if [ "$1" = window ]; then # (its capture's count, said when SIGTERM stops it)
        seen=$(sed -nE 's/.*capture \([0-9]+ sessions?, ([0-9]+) messages?\).*/\1/p' "$work/window.err" | head -1)
    fi
    local rate perM
    rate=$(grep -m1 'messages, pipelined  ' "$work/out" | awk '{print $(NF-1)}')
    perM=$(grep -m1 'proxy CPU, 64 B' "$work/out" | sed -E 's/.* ([0-9.]+) s per million.*/\1/')
    echo "$rate $perM $cpu $seen"
}
declare -A results
for round in $(seq "$rounds"); do
    for v in none attach window; do
        results[$v]+="$(runOnce $v)"$'\n'
    done
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "$messages messages of 64 B, one way, $rounds round(s), medians"
printf '%-34s %14s %18s %14s %16s\n' "watching" "64 B msg/s" "relay s/million" "watcher CPU s" "seen by the end"
for v in none attach window; do
    rate=$(echo -n "${results[$v]}" | awk '{print $1}' | median)
    perM=$(echo -n "${results[$v]}" | awk '{print $2}' | median)
    cpu=$(echo -n "${results[$v]}" | awk '{print $3}' | median)
    case $v in none) label="nobody (--control on)";; attach) label="socktap attach (text)";; *) label="a window (--attach, offscreen)";; esac
    seen=$(echo -n "${results[$v]}" | awk '{print $4}' | median)
    printf '%-34s %14s %18s %14s %16s\n' "$label" "$rate" "$perM" "$cpu" "$seen"
done
