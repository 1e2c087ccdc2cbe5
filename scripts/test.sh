#!/usr/bin/env bash
# README command 2 (and exactly what .ci/run runs): install what is missing, build with warnings as errors,
# run every test through CTest, then build the libFuzzer targets with clang and run each for a bounded time.
set -euo pipefail
source "$(dirname "$0")/common.sh"

ensure_packages "${SOCKTAP_BUILD_PACKAGES[@]}" "${SOCKTAP_TEST_PACKAGES[@]}"

build "$SOCKTAP_ROOT/build" -DSOCKTAP_WERROR=ON
log "running tests"
status=0
(cd "$SOCKTAP_ROOT/build" && ctest --output-on-failure --parallel 2 --timeout 600) || status=1

log "fuzzing the protocol core (${SOCKTAP_FUZZ_SECONDS:-20} s per target)"
build "$SOCKTAP_ROOT/build-fuzz" -DCMAKE_CXX_COMPILER=clang++ -DSOCKTAP_FUZZ=ON \
    -DSOCKTAP_FUZZ_SECONDS="${SOCKTAP_FUZZ_SECONDS:-20}"
(cd "$SOCKTAP_ROOT/build-fuzz" && ctest --output-on-failure --parallel 2) || status=1

if [ $status -ne 0 ]; then
    log "FAILED"
else
    log "all tests passed"
fi
exit $status
