#!/usr/bin/env bash
# The .deb as a user gets it (issue 22): cpack builds it from this build tree, dpkg -x unpacks it into a
# temporary root, and what it installs is checked: the program's --version and --help, a headless session
# through the installed binary (its options from a configuration file) between python3-websockets peers,
# the desktop entry (desktop-file-validate), the AppStream metainfo (appstreamcli), the man page (man -l,
# no warnings), the completions and the systemd unit.
#   test_package.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

(cd "$build" && cpack -G DEB -B "$work/pkg" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; fail "cpack"; }
deb=$(ls "$work"/pkg/*.deb)
info=$(dpkg-deb --info "$deb")
grep -q "Package: socktap" <<<"$info" || fail "package name"
# dpkg-shlibdeps found what the binary links: Qt, OpenSSL, zlib.
for lib in libqt6core6 libqt6network6 libqt6widgets6 libqt6websockets6 libqt6qml6 libssl3 zlib1g; do
    grep -q "Depends:.*$lib" <<<"$info" || fail "Depends lacks $lib: $(grep Depends <<<"$info")"
done
dpkg -x "$deb" "$work/root"
dpkg-deb --ctrl-tarfile "$deb" | tar -x -O ./conffiles | grep -qx /etc/socktap/socktap.conf || fail "conffiles"
bin="$work/root/usr/bin/socktap"
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share" \
    XDG_CACHE_HOME="$work/home/.cache" QT_QPA_PLATFORM=offscreen
mkdir -p "$HOME"

# (Outputs captured first: grep -q leaving a pipe early would fail it under pipefail.)
version=$("$bin" --version)
grep -Eq '^socktap [0-9]+\.[0-9]+\.[0-9]+ \(commit ([0-9a-f]{12}|unknown)\)$' <<<"$version" || fail "--version: $version"
help=$("$bin" --help)
grep -q -- "--reverse <URL>" <<<"$help" || fail "--help"

desktop-file-validate "$work/root/usr/share/applications/io.github.socktap.Socktap.desktop"
appstreamcli validate --no-net "$work/root/usr/share/metainfo/io.github.socktap.Socktap.metainfo.xml" >/dev/null
for size in 16 32 48 256; do
    test -s "$work/root/usr/share/icons/hicolor/${size}x${size}/apps/socktap.png" || fail "icon $size"
done
test -s "$work/root/usr/share/icons/hicolor/scalable/apps/socktap.svg" || fail "svg icon"

page=$(ls "$work"/root/usr/share/man/man1/socktap.1*)
warnings=$(LC_ALL=C.UTF-8 MANWIDTH=100 man --warnings -l "$page" 2>&1 >/dev/null || true)
[ -z "$warnings" ] || fail "man page warnings: $warnings"
rendered=$(LC_ALL=C.UTF-8 MANWIDTH=100 man -l "$page" 2>/dev/null)
for want in "NAME" "SYNOPSIS" "COMMANDS" "OPTIONS" "--listen HOST:PORT" "--script FILE" "/etc/socktap/socktap.conf"; do
    grep -qF -- "$want" <<<"$rendered" || fail "man page lacks '$want'"
done
# Every option --help lists is in the man page and the bash completion (made from the same table).
completion="$work/root/usr/share/bash-completion/completions/socktap"
bash -n "$completion" || fail "bash completion syntax"
test -s "$work/root/usr/share/zsh/vendor-completions/_socktap" || fail "zsh completion"
manText=$(zcat -f "$page")
for opt in $(grep -oE '^  (-[a-z], )?--[a-z0-9-]+' <<<"$help" | grep -oE -- '--[a-z0-9-]+'); do
    grep -qF -- "$opt" "$completion" || fail "bash completion lacks $opt"
    grep -qF -- "${opt//-/\\-}" <<<"$manText" || fail "man page lacks $opt"
done

unit="$work/root/usr/lib/systemd/system/socktap.service"
grep -q '^ExecStart=socktap --headless --config /etc/socktap/socktap.conf$' "$unit" || fail "unit ExecStart"
grep -q '^DynamicUser=yes$' "$unit" || fail "unit user"
test -f "$work/root/etc/socktap/socktap.conf" || fail "configuration file"

# A headless session through the installed binary, its options from a configuration file (reverse mode,
# JSON lines) and the listen address from the command line (which wins over the file's).
/usr/bin/python3 "$src/tests/support/deflate_peer.py" server 15 0 >"$work/server.out" &
pids+=($!)
for _ in $(seq 100); do grep -q '^port ' "$work/server.out" && break; sleep 0.1; done
port=$(awk '/^port / {print $2}' "$work/server.out")
[ -n "$port" ] || fail "python echo server"
cat >"$work/socktap.conf" <<CONF
[options]
reverse = ws://127.0.0.1:$port
json = true
listen = 127.0.0.1:1
CONF
"$bin" --headless --config "$work/socktap.conf" --listen 127.0.0.1:0 >"$work/socktap.out" 2>"$work/socktap.err" &
socktap=$!
pids+=($socktap)
for _ in $(seq 100); do grep -q 'listening on' "$work/socktap.err" && break; sleep 0.1; done
listen=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$work/socktap.err" | grep -oE '[0-9]+$' || true)
[ -n "$listen" ] || fail "socktap did not listen: $(cat "$work/socktap.err")"
/usr/bin/python3 "$src/tests/support/deflate_peer.py" client "ws://127.0.0.1:$listen/installed" 15 0 "hello from the package" \
    >"$work/client.out" || fail "client: $(cat "$work/client.out")"
grep -q '"received": "echo: hello from the package"' "$work/client.out" || fail "echo: $(cat "$work/client.out")"
for _ in $(seq 50); do grep -q 'hello from the package' "$work/socktap.out" && break; sleep 0.1; done
grep '"hello from the package"' "$work/socktap.out" | grep -q '^{' || fail "JSON line: $(cat "$work/socktap.out")"
kill -TERM "$socktap"
wait "$socktap" || fail "socktap's exit status after SIGTERM: $?"
echo "package: $(basename "$deb") ($(du -h "$deb" | cut -f1)) installs and runs"
