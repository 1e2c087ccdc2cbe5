#!/usr/bin/env bash
# A longer fuzzing session than the test command's: scripts/fuzz.sh [SECONDS] [TARGET...]
# Targets: fuzz_headparser fuzz_frameparser fuzz_inflater. Findings land in build-fuzz/fuzz/.
set -euo pipefail
source "$(dirname "$0")/common.sh"

seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(fuzz_headparser fuzz_frameparser fuzz_inflater)
ensure_packages clang libclang-rt-14-dev "${SOCKTAP_BUILD_PACKAGES[@]}"
build "$SOCKTAP_ROOT/build-fuzz" -DCMAKE_CXX_COMPILER=clang++ -DSOCKTAP_FUZZ=ON
for t in "${targets[@]}"; do
    mkdir -p "$SOCKTAP_ROOT/build-fuzz/fuzz/corpus-$t"
    log "fuzzing $t for $seconds s"
    (cd "$SOCKTAP_ROOT/build-fuzz/fuzz" && "./$t" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
        "corpus-$t" "$SOCKTAP_ROOT/fuzz/corpus/$t")
done
