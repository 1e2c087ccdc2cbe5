#!/usr/bin/env bash
# Renders data/icons/socktap.svg into the PNG sizes the freedesktop icon theme and the .deb install
# (data/icons/hicolor/SIZExSIZE/apps/socktap.png). The PNGs are committed: building needs no SVG renderer.
set -euo pipefail
source "$(dirname "$0")/common.sh"
ensure_packages librsvg2-bin
for size in 16 24 32 48 64 128 256; do
    dir="$SOCKTAP_ROOT/data/icons/hicolor/${size}x${size}/apps"
    mkdir -p "$dir"
    rsvg-convert -w "$size" -h "$size" "$SOCKTAP_ROOT/data/icons/socktap.svg" -o "$dir/socktap.png"
done
