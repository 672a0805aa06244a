#!/usr/bin/env bash
# Stages the GPU check (docs/gpu.md) into .device, which git ignores:
#   .device/run      the release binaries (stripped), the GPU test binary, the box files, the
#                    fixtures, the test home's nudenet-320n, nvJPEG's library (lib/, from the
#                    test Python's nvidia-nvjpeg wheel), the comparison scripts and
#                    check.sh (scripts/gpu-check.sh), which runs it all on the GPU machine;
#   .device/ort-gpu  ONNX Runtime's GPU build in four equal parts of about 47 MiB and
#                    unpack.sh, when ../shared/gpu/stage-ort-gpu.sh has cached it: its own
#                    56 MiB parts do not fit one call beside this repository's 8 MiB.
#
#     scripts/gpu-check-stage.sh          # here, from the project root
#     LEAN=1 BEFORE=old/anylabel scripts/gpu-check-stage.sh
#                                         # no NMS box files (step 1 runs the GPU tests only),
#                                         # and an earlier build for step 6's before and after
#     bash .device/run/check.sh           # there, from the project root (OUT=... for results)
#
# Needs the test Python (scripts/test.sh makes target/test-python) for the box files, and the
# test home's nudenet-320n (the model tests fetch it).
set -euo pipefail
cd "$(dirname "$0")/.."
run=.device/run
python=${ANYLABEL_TEST_PYTHON:-target/test-python/bin/python}
model=target/tmp/anylabel-home/models/nudenet-320n/320n.onnx
[ -f "$model" ] || { echo "no $model: run scripts/test.sh --test crosscheck first" >&2; exit 1; }

cargo build --release --quiet --bin anylabel --example gpu_check
test_bin=$(cargo test --release --quiet --test gpu --no-run --message-format=json 2>/dev/null |
    "$python" -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "gpu" and m.get("executable"):
        print(m["executable"])')

rm -rf "$run" .device/run-model
mkdir -p "$run/bench" "$run/models/nudenet-320n"
cp "$model" "$run/models/nudenet-320n/"
strip -o "$run/anylabel" target/release/anylabel
strip -o "$run/gpu_tests" "$test_bin"
if [ -z "${LEAN:-}" ]; then
    mkdir -p "$run/boxes"
    strip -o "$run/gpu_check" target/release/examples/gpu_check
    "$python" bench/gpu_boxes.py --out "$run/boxes" 1000 10000 100000
fi
if [ -n "${BEFORE:-}" ]; then
    strip -o "$run/anylabel-before" "$BEFORE" # check.sh's step 6 times it beside this build
fi
# nvJPEG from the test Python's wheel, for step 8 where the machine's CUDA toolkit has none
# (check.sh puts the toolkit's first).
nvjpeg=$(ls "$(dirname "$python")"/../lib/python3*/site-packages/nvidia/cu13/lib/libnvjpeg.so.13 2>/dev/null | head -n 1)
if [ -n "$nvjpeg" ]; then
    mkdir -p "$run/lib" && cp "$nvjpeg" "$run/lib/"
fi
cp -r fixtures/images "$run/images"
cp bench/torch_nms.py bench/compare_records.py "$run/bench/"
cp scripts/gpu-check.sh "$run/check.sh"
chmod +x "$run/check.sh"
# A call carries at most 64 MiB: this folder and the repository's tracked files together.
size=$(du -sb "$run" | cut -f1)
tracked=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -n 1 | cut -f1)
mib() { echo $(( ($1 + 1048575) / 1048576 )); }
echo "staged $run: $(mib "$size") MiB (with the repository's $(mib "$tracked") MiB: $(mib $((size + tracked))) of a call's 64)" >&2
if [ $((size + tracked)) -gt $((63 * 1048576)) ]; then
    echo "warning: $run and the repository together are over 63 MiB: they may not fit one call" >&2
fi

# ONNX Runtime's GPU build, re-split so that each part travels beside the repository.
xz=$(ls "$HOME"/.cache/anylabel-device/onnxruntime-gpu-*/ort.tar.xz 2>/dev/null | tail -n 1)
if [ -n "$xz" ] && [ -f .device/ort-gpu/unpack.sh ]; then
    rm -rf .device/ort-gpu/part-*
    split -n 4 -d -a 1 "$xz" .device/ort-gpu/chunk
    for k in 0 1 2 3; do
        mkdir -p ".device/ort-gpu/part-$k" && mv ".device/ort-gpu/chunk$k" ".device/ort-gpu/part-$k/"
    done
    echo "re-split $xz into .device/ort-gpu/part-0..3 ($(du -sm .device/ort-gpu/part-0 | cut -f1) MiB each)" >&2
else
    echo "no ONNX Runtime GPU build staged (run ../shared/gpu/stage-ort-gpu.sh first): check.sh will run the kernel checks only" >&2
fi
