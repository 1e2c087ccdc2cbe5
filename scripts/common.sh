# Shared by scripts/run.sh and scripts/test.sh: install missing Debian packages, configure, build.
# Sourced, not executed.

SOCKTAP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# What building and running Socktap needs (Debian 12 package names); libnss3-tools gives certutil, with
# which 'Open a browser' makes the browser's throw-away profile trust Socktap's CA.
SOCKTAP_BUILD_PACKAGES=(g++ cmake ninja-build pkg-config qt6-base-dev qt6-websockets-dev qt6-declarative-dev qt6-qpa-plugins libgl-dev libprotobuf-dev libprotoc-dev
                        libssl-dev zlib1g-dev fonts-dejavu-core libnss3-tools)
# What the full test suite adds: a display server for GUI screenshots, a browser for end-to-end tests,
# clang and its runtime for the libFuzzer targets; python3-protobuf and protoc for the protobuf peer;
# dpkg-dev, desktop-file-utils, appstream and man-db to build the .deb and check what it installs.
SOCKTAP_TEST_PACKAGES=(xvfb xauth chromium clang libclang-rt-14-dev python3-websockets python3-protobuf python3-msgpack python3-cbor2
                       dpkg-dev desktop-file-utils appstream man-db
                       protobuf-compiler)

log() { printf '[socktap] %s\n' "$*" >&2; }

# ensure_packages PKG...: installs the ones not installed yet, as root or through sudo.
ensure_packages() {
    local missing=()
    local p
    for p in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$p")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        log "packages: all ${#@} present"
        return 0
    fi
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null; then
            log "missing packages: ${missing[*]}; run as root or install sudo"
            return 1
        fi
        sudo=(sudo)
    fi
    log "installing: ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The npm packages the format tests run as real peers (tests/peers/package-lock.json: socket.io,
# graphql-ws, ...), with Node.js and npm from Debian when the machine has neither.
ensure_node_peers() {
    command -v node >/dev/null || ensure_packages nodejs
    command -v npm >/dev/null || ensure_packages npm
    log "installing the test peers' npm packages (tests/peers)"
    (cd "$SOCKTAP_ROOT/tests/peers" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}

# build DIR [cmake args...]: configures (cheap when cached) and builds with Ninja.
build() {
    local dir=$1
    shift
    log "configuring $dir"
    cmake -S "$SOCKTAP_ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
    log "building $dir"
    cmake --build "$dir" -- -k 0
}
