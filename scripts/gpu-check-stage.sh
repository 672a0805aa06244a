#!/usr/bin/env bash
# Stages the GPU kernel check (docs/gpu.md) into .device/run, which git ignores: the release
# binaries (stripped), the GPU test binary, the box files, the fixtures, bench/torch_nms.py
# and check.sh, which runs it all on the GPU machine and writes its results to $OUT.
#
#     scripts/gpu-check-stage.sh          # here, from the project root
#     bash .device/run/check.sh           # there, from the project root (OUT=... for results)
#
# Needs the test Python (scripts/test.sh makes target/test-python) for the box files.
set -euo pipefail
cd "$(dirname "$0")/.."
run=.device/run
python=${ANYLABEL_TEST_PYTHON:-target/test-python/bin/python}

cargo build --release --quiet --bin anylabel --example gpu_check
test_bin=$(cargo test --release --quiet --test gpu --no-run --message-format=json 2>/dev/null |
    "$python" -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "gpu" and m.get("executable"):
        print(m["executable"])')

rm -rf "$run"
mkdir -p "$run/boxes" "$run/bench"
strip -o "$run/anylabel" target/release/anylabel
strip -o "$run/gpu_check" target/release/examples/gpu_check
strip -o "$run/gpu_tests" "$test_bin"
"$python" bench/gpu_boxes.py --out "$run/boxes" 1000 10000 100000
cp -r fixtures/images "$run/images"
cp bench/torch_nms.py "$run/bench/"

cat > "$run/check.sh" <<'EOF'
#!/usr/bin/env bash
# The GPU kernel check, on the GPU machine (staged by scripts/gpu-check-stage.sh).
# Writes to $OUT (default .device/run/out): gpu_check.json/.txt (our kernels against the
# CPU), torch_nms.json/.txt (torchvision on the same boxes), gpu_tests.txt, nvidia-smi.txt.
# Exit status 0 only when the GPU tests pass and the kernels equal the CPU everywhere.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$here/out}
mkdir -p "$out/kept"
# NVRTC: the toolkit's, after whatever unpack.sh put first.
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}/usr/local/cuda-13.0/lib64"
nvidia-smi > "$out/nvidia-smi.txt" 2>&1
"$here/anylabel" --version > "$out/anylabel-version.txt" 2>&1
status=0
ANYLABEL_GPU_TEST_IMAGES="$here/images" timeout 180 "$here/gpu_tests" --test-threads=1 --nocapture \
    > "$out/gpu_tests.txt" 2>&1 || status=1
tail -n 15 "$out/gpu_tests.txt"
timeout 120 "$here/gpu_check" --images "$here/images" --kept-dir "$out/kept" "$here"/boxes/boxes-*.csv \
    > "$out/gpu_check.json" 2> "$out/gpu_check.txt" || status=1
cat "$out/gpu_check.txt"
timeout 240 python3 "$here/bench/torch_nms.py" --kept-dir "$out/kept" "$here"/boxes/boxes-*.csv \
    > "$out/torch_nms.json" 2> "$out/torch_nms.txt" || status=1
cat "$out/torch_nms.txt"
echo "check.sh: status $status"
exit $status
EOF
chmod +x "$run/check.sh"
size=$(du -sm "$run" | cut -f1)
echo "staged $run: ${size} MiB" >&2
if [ "$size" -gt 50 ]; then
    echo "warning: $run is over 50 MiB" >&2
fi
