#!/usr/bin/env bash
# Regenerates the screenshots in docs/: runs socktap --demo in a virtual X server (Xvfb), tours the tabs
# and saves each as a PNG. Needs the build (./scripts/run.sh or ./scripts/test.sh) and xvfb.
set -euo pipefail
source "$(dirname "$0")/common.sh"
ensure_packages xvfb xauth "${SOCKTAP_BUILD_PACKAGES[@]}"
build "$SOCKTAP_ROOT/build"
home=$(mktemp -d) # a clean profile: default window layout, a throw-away CA
trap 'rm -rf "$home"' EXIT
# SOCKTAP_NO_SAVE_PROMPT: quitting after the tour must not stop to ask about saving the capture.
HOME="$home" SOCKTAP_NO_SAVE_PROMPT=1 xvfb-run -a -s "-screen 0 1440x900x24" "$SOCKTAP_ROOT/build/app/socktap" --demo \
    --listen 127.0.0.1:0 --screenshots "$SOCKTAP_ROOT/docs"
# The dark look of the main views, the window at 1920x1080 and the settings (same tour, dark palette).
dark=$(mktemp -d)
trap 'rm -rf "$home" "$dark"' EXIT
HOME="$home" SOCKTAP_NO_SAVE_PROMPT=1 SOCKTAP_PALETTE=dark xvfb-run -a -s "-screen 0 1440x900x24" \
    "$SOCKTAP_ROOT/build/app/socktap" --demo --listen 127.0.0.1:0 --screenshots "$dark"
cp "$dark/socktap-messages-json.png" "$SOCKTAP_ROOT/docs/socktap-dark.png"
cp "$dark/socktap-1920.png" "$SOCKTAP_ROOT/docs/socktap-1920-dark.png"
cp "$dark/socktap-settings.png" "$SOCKTAP_ROOT/docs/socktap-settings-dark.png"
cp "$dark/socktap-menu-session.png" "$SOCKTAP_ROOT/docs/socktap-menu-session-dark.png"
# The empty window (before the first session), light and dark, both sizes.
HOME="$home" SOCKTAP_SCREENSHOTS="$SOCKTAP_ROOT/docs" QT_QPA_PLATFORM=offscreen \
    "$SOCKTAP_ROOT/build/tests/tst_gui" emptyStateSaysWhatToDo >/dev/null
# The failed-connections line under the list, the offer to reopen a capture after a crash, the protobuf
# schema dialog.
HOME="$home" SOCKTAP_SCREENSHOTS="$SOCKTAP_ROOT/docs" QT_QPA_PLATFORM=offscreen \
    "$SOCKTAP_ROOT/build/tests/tst_gui" failedConnectionsDoNotVanish recoveryOfferReopensTheCapture \
    pausesHoldPingsOnlyWhenAsked protobufSchemaFromTheWindow stallFromTheSessionMenu ruleFormFaults \
    ruleFormRespondAndEcho serveAsMockFromTheWindow scriptsFromTheWindow >/dev/null

