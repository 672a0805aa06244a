# Sourced by the scripts in this folder: makes sure the build can run, and sets
# CARGO_FEATURES for cargo. With PREREQS_FOR_TESTS=1 (scripts/test.sh), it also installs
# what the tests need beyond the build: Slurm and munge for tests/shard.rs.
#
# anylabel decodes JPEGs with libjpeg-turbo, whose SIMD code is assembled by `nasm`.
# Without nasm (and no way to install it) the portable C decoder is built instead: the
# same pixels, about half as fast (docs/building.md).
#
# With PREREQS_FOR_TESTS=1 it also installs Debian's `chromium`,
# which tests/report.rs opens the HTML gallery in (headless). Without it that test fails
# and says how to install it; nothing else needs it.

# Installs Debian package $2 with apt-get when command $1 is missing and apt-get can run
# (as root, or through a password-less sudo); a no-op when $1 is present. $3 says why.
apt_install_missing() {
    command -v "$1" >/dev/null 2>&1 && return 0
    local sudo=""
    if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo="sudo -n"
    fi
    if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; }; then
        echo "installing $2 ($3) with apt-get" >&2
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1 \
            || { $sudo apt-get update -qq >/dev/null 2>&1 && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }
    fi
    command -v "$1" >/dev/null 2>&1
}

CARGO_FEATURES=""
if ! apt_install_missing nasm nasm "for libjpeg-turbo's SIMD JPEG decoder"; then
    echo "nasm was not found and cannot be installed here: building the portable JPEG decoder" \
         "(install nasm for the SIMD one; see docs/building.md)" >&2
    CARGO_FEATURES="--no-default-features"
fi

if [ "${PREREQS_FOR_TESTS:-}" = 1 ]; then
    # tests/shard.rs starts a one-node Slurm cluster (Debian's slurm-wlm and munge) and runs
    # a job array on it. Without them that test fails and says how to install them.
    if ! { apt_install_missing munged munge "the Slurm test in tests/shard.rs needs it" \
           && apt_install_missing slurmctld slurm-wlm "the Slurm test in tests/shard.rs runs a job array on it"; }; then
        echo "slurm-wlm and munge are missing and cannot be installed here (no apt-get, or not root):" \
             "the Slurm test in tests/shard.rs will fail until they are installed" >&2
    fi
    # tests/report.rs opens the HTML gallery in headless Chromium.
    if [ -z "${ANYLABEL_TEST_CHROMIUM:-}" ] && ! apt_install_missing chromium chromium "the HTML gallery test opens the report in it"; then
        echo "chromium was not found and cannot be installed here: tests/report.rs will fail" \
             "(apt-get install chromium, or set ANYLABEL_TEST_CHROMIUM to a Chromium or Chrome binary)" >&2
    fi
fi
