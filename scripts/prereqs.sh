# Sourced by the scripts in this folder: makes sure the build can run, and sets
# CARGO_FEATURES for cargo.
#
# anylabel decodes JPEGs with libjpeg-turbo, whose SIMD code is assembled by `nasm`.
# Without nasm (and no way to install it) the portable C decoder is built instead: the
# same pixels, about half as fast (docs/building.md).

CARGO_FEATURES=""
if ! command -v nasm >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo="sudo -n"
    fi
    if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; }; then
        echo "installing nasm (for libjpeg-turbo's SIMD JPEG decoder) with apt-get" >&2
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nasm >/dev/null 2>&1 \
            || { $sudo apt-get update -qq >/dev/null 2>&1 && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nasm >/dev/null; }
    fi
fi
if ! command -v nasm >/dev/null 2>&1; then
    echo "nasm was not found and cannot be installed here: building the portable JPEG decoder" \
         "(install nasm for the SIMD one; see docs/building.md)" >&2
    CARGO_FEATURES="--no-default-features"
fi
