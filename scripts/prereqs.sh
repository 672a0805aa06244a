# Sourced by the scripts in this folder: makes sure the build can run, and sets
# CARGO_FEATURES for cargo. With PREREQS_FOR_TESTS=1 (scripts/test.sh), it also installs
# what the tests need beyond the build: Slurm and munge for tests/shard.rs.
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

# tests/shard.rs starts a one-node Slurm cluster (Debian's slurm-wlm and munge) and runs a
# job array on it. Without them that test fails and says how to install them.
if [ "${PREREQS_FOR_TESTS:-}" = 1 ] && ! { command -v slurmctld >/dev/null 2>&1 && command -v munged >/dev/null 2>&1; }; then
    sudo=""
    if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo="sudo -n"
    fi
    if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; }; then
        echo "installing slurm-wlm and munge (for the Slurm test in tests/shard.rs) with apt-get" >&2
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null 2>&1 \
            || { $sudo apt-get update -qq >/dev/null 2>&1 && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null; } \
            || echo "could not install slurm-wlm and munge: the Slurm test will fail (docs/building.md)" >&2
    else
        echo "slurm-wlm and munge are missing and cannot be installed here (no apt-get, or not root):" \
             "the Slurm test in tests/shard.rs will fail until they are installed" >&2
    fi
fi
