#!/usr/bin/env bash
# README command 1: install what is missing, build, and start Socktap on its defaults (GUI when a display
# is available, headless otherwise; proxy on 127.0.0.1:8080). Arguments go to socktap.
set -euo pipefail
source "$(dirname "$0")/common.sh"

ensure_packages "${SOCKTAP_BUILD_PACKAGES[@]}"
build "$SOCKTAP_ROOT/build"
log "starting socktap $*"
exec "$SOCKTAP_ROOT/build/app/socktap" "$@"
