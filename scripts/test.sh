#!/usr/bin/env bash
# README command 2 (and exactly what .ci/run runs): install what is missing, build with warnings as errors,
# run every test through CTest, again in an AddressSanitizer + UndefinedBehaviorSanitizer build, then build
# the libFuzzer targets with clang and run each for a bounded time.
set -euo pipefail
source "$(dirname "$0")/common.sh"

ensure_packages "${SOCKTAP_BUILD_PACKAGES[@]}" "${SOCKTAP_TEST_PACKAGES[@]}"
ensure_node_peers

build "$SOCKTAP_ROOT/build" -DSOCKTAP_WERROR=ON
log "running tests"
status=0
(cd "$SOCKTAP_ROOT/build" && ctest --output-on-failure --parallel 2 --timeout 600) || status=1

log "every suite again under AddressSanitizer and UndefinedBehaviorSanitizer"
build "$SOCKTAP_ROOT/build-asan" -DSOCKTAP_WERROR=ON -DSOCKTAP_SANITIZE=ON -DSOCKTAP_BUILD_BENCH=OFF
# Leak checking is off: Qt, fontconfig and OpenSSL keep process-lifetime allocations that LeakSanitizer
# would report at exit. Memory errors and undefined behaviour fail the test that hits them.
(cd "$SOCKTAP_ROOT/build-asan" && ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --output-on-failure --parallel 2 --timeout 900) || status=1

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
