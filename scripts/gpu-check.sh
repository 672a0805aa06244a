#!/usr/bin/env bash
# The GPU check, run on the GPU machine as .device/run/check.sh (scripts/gpu-check-stage.sh
# stages it with everything it needs; docs/gpu.md says how to send it). Only 8 files come
# back from the device, so everything lands in one folder that is packed into
# $OUT/results.tar.gz after every step (a run cut short keeps what it had), beside
# $OUT/check.log (what it printed).
#
# Steps, the proven and quick ones first, each with its own time limit; a failed step is
# recorded and the check goes on:
#   1. gpu_tests.txt, gpu_check.json, torch_nms.json   our kernels against the CPU and torchvision
#   2. compare-*.json        the CPU backend against CUDA (CPU letterbox), same images and model
#   3. trt.txt               --backend trt on a machine without TensorRT: its error
#   4. infer-big-cpu.json, bench-cpu.json   ~3000 fixture JPEGs at batch 32: infer's summary,
#                            and bench infer (end to end against inference only)
#   5. the same with --preprocess gpu (compare-640-cuda-gpu.json, infer-big-gpu.json,
#                            bench-gpu.json): the GPU letterbox inside infer; and infer with
#                            no --preprocess (auto: the GPU letterbox), its boxes and summary;
#                            then with ANYLABEL_GPU_UPLOAD=decode (compare-640-cuda-upload.json
#                            against the batcher-upload run, infer-big-upload.json,
#                            bench-upload.*): the decode threads upload their own images
#   6. bench-before-*.txt    where anylabel-before was staged (BEFORE=): bench infer with it,
#                            both letterboxes, in the same run, for a before and after
#   7. bench-12k-gpu.*, infer-12k-w*.json   the same 3008 JPEGs four times over (12032):
#                            bench infer with the GPU letterbox, and infer with 16 and 12
#                            decode threads: what the fixed costs of a run and the CPU's
#                            share of decoding do to the rate
#   8. nvJPEG (--decode gpu): compare-640-cuda-nvjpeg.json (its boxes against the CPU
#                            backend's), infer-big-nvjpeg.json and bench-nvjpeg-{100,50,0}.* on
#                            the 3008 JPEGs (end to end against inference only, in the same run
#                            as step 5's GPU letterbox with libjpeg-turbo), with all, half and
#                            none of the JPEGs for the GPU's JPEG engine (ANYLABEL_NVJPEG_HARDWARE);
#                            infer-big-*-t1.json: both decoders with one ONNX Runtime thread
#   9. bench-t0/t1*.*, timeline-*.txt   bench infer with ONNX Runtime's default intra-op
#                            threads and with one (and one with the decode threads' uploads,
#                            14 decode threads, the CPU letterbox); timelines (-vv's timed
#                            lines) of bench infer with each, and with nvJPEG
#  10. bench-{before,before-nvjpeg,now,nvjpeg,nvjpeg-0,now-cpu}.*, timeline-*.txt,
#                            infer-big-{cpu,gpu}.json: what a run leaves kept for the next
#                            (GPU letterboxes, page-locked buffers, nvJPEG), against the
#                            build before (BEFORE=), with both decoders; timelines; infer's
#                            whole run with each decoder
# Steps 2-5 need ONNX Runtime's GPU build (ORT_DYLIB_PATH, from unpack.sh). STEPS="4 5" runs
# only those (all by default), to spend the device's minutes on what is not yet proven.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$here/out}
work=$(mktemp -d)
mkdir -p "$out" "$work/kept"
exec > >(tee "$out/check.log") 2>&1
# NVRTC and nvJPEG: the toolkit's, after whatever unpack.sh put first; then the staged nvJPEG.
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}/usr/local/cuda-13.0/lib64:$here/lib"
status=0
save() { tar -czf "$out/results.tar.gz.tmp" -C "$work" . && mv "$out/results.tar.gz.tmp" "$out/results.tar.gz"; }
step() { save; echo "== $(date +%T) $*"; }
steps=" ${STEPS:-1 2 3 4 5 6 7 8 9 10} "
want() { [[ "$steps" == *" $1 "* ]]; }
nvidia-smi > "$work/nvidia-smi.txt" 2>&1
al="$here/anylabel"
"$al" --version > "$work/anylabel-version.txt" 2>&1

if want 1; then
step "1. GPU tests"
ANYLABEL_GPU_TEST_IMAGES="$here/images" timeout 90 "$here/gpu_tests" --test-threads=1 --nocapture \
    > "$work/gpu_tests.txt" 2>&1 || status=1
grep -E "^test |test result" "$work/gpu_tests.txt"
if [ -d "$here/boxes" ]; then
step "1. our kernels against the CPU"
timeout 60 "$here/gpu_check" --images "$here/images" --kept-dir "$work/kept" "$here"/boxes/boxes-*.csv \
    > "$work/gpu_check.json" 2> "$work/gpu_check.txt" || status=1
cat "$work/gpu_check.txt"
step "1. torchvision's NMS"
timeout 90 python3 "$here/bench/torch_nms.py" --kept-dir "$work/kept" "$here"/boxes/boxes-*.csv \
    > "$work/torch_nms.json" 2> "$work/torch_nms.txt" || status=1
cat "$work/torch_nms.txt"
fi
fi

if [ -z "${ORT_DYLIB_PATH:-}" ] || [ ! -f "$ORT_DYLIB_PATH" ]; then
    echo "no ONNX Runtime GPU build (ORT_DYLIB_PATH): steps 2-5 skipped" | tee "$work/no-ort.txt"
    step "check.sh: status 1"
    exit 1
fi
mkdir -p /opt/anylabel-home && cp -r "$here/models" /opt/anylabel-home/
export ANYLABEL_HOME=/opt/anylabel-home ANYLABEL_OFFLINE=1 ANYLABEL_CACHE=off
timeout 60 "$al" doctor --json > "$work/doctor.json" 2> "$work/doctor.txt"
grep -o '"jpeg_engine":[^}]*}*' "$work/doctor.json" # does this GPU's JPEG engine start

# infer NAME ARGS...: one run on the fixtures, records and summary kept.
infer() {
    local name=$1
    shift
    timeout 60 "$al" infer "$here/images" -m nudenet-320n --conf 0.1 --batch 8 "$@" \
        -o "$work/infer-$name.jsonl" --json "$work/infer-$name.json" 2> "$work/infer-$name.txt" || status=1
}
compare() {
    python3 "$here/bench/compare_records.py" "$work/infer-$1.jsonl" "$work/infer-$2.jsonl" \
        > "$work/compare-$2.json" || status=1
    cat "$work/compare-$2.json"
}
if want 2 || want 5; then
step "2. boxes: the CPU backend against CUDA"
for imgsz in 320 640; do
    infer "$imgsz-cpu" --imgsz $imgsz --backend cpu
    infer "$imgsz-cuda-cpu" --imgsz $imgsz --backend cuda --preprocess cpu
    compare "$imgsz-cpu" "$imgsz-cuda-cpu"
done
fi

if want 3; then
step "3. --backend trt without TensorRT"
timeout 60 "$al" infer "$here/images/people" -m nudenet-320n --backend trt -o /dev/null \
    > "$work/trt.txt" 2>&1
echo "exit code $?" >> "$work/trt.txt"
tail -n 2 "$work/trt.txt"
fi

step "4. 3008 fixture JPEGs (94 batches of 32), CPU letterbox"
big=$(mktemp -d)
mapfile -t jpegs < <(find "$here/images" -name '*.jpg' | sort)
for i in $(seq 0 3007); do
    ln "${jpegs[$((i % ${#jpegs[@]}))]}" "$big/$(printf %05d "$i").jpg"
done
big_run() { # big_run PREPROCESS
    timeout 60 "$al" infer "$big" -m nudenet-320n --imgsz 640 --backend cuda --preprocess "$1" \
        --batch 32 -o /dev/null --json "$work/infer-big-$1.json" 2> "$work/infer-big-$1.txt" || status=1
    cat "$work/infer-big-$1.json"
    echo
    step "   bench infer, --preprocess $1"
    timeout 90 "$al" bench infer --images "$big" --model nudenet-320n --imgsz 640 --backend cuda \
        --preprocess "$1" --batch 32 --json "$work/bench-$1.json" > "$work/bench-$1.txt" 2>&1 || status=1
    grep -E "throughput|inference only|latency median" "$work/bench-$1.txt"
}
want 4 && big_run cpu

if want 5; then
step "5. the GPU letterbox inside infer (--preprocess gpu)"
RUST_LOG=anylabel=trace infer "640-cuda-gpu" --imgsz 640 --backend cuda --preprocess gpu
compare "640-cpu" "640-cuda-gpu"
big_run gpu
infer "640-cuda-auto" --imgsz 640 --backend cuda
compare "640-cpu" "640-cuda-auto"
grep -o '"letterbox":"[a-z]*"' "$work/infer-640-cuda-auto.json"
step "5. the decode threads upload what they decode (ANYLABEL_GPU_UPLOAD=decode)"
# The same pixels reach the same kernel: the boxes are the batcher-upload run's.
ANYLABEL_GPU_UPLOAD=decode infer "640-cuda-upload" --imgsz 640 --backend cuda --preprocess gpu
compare "640-cuda-gpu" "640-cuda-upload"
uploaded() { # uploaded NAME: the summary's count, which must not be 0
    local n
    n=$(grep -o '"uploaded_by_decode_threads":[0-9]*' "$work/$1" | cut -d: -f2)
    echo "$1: ${n:-no} images uploaded by their decode threads"
    [ "${n:-0}" -gt 0 ] || status=1
}
uploaded infer-640-cuda-upload.json
cmp -s "$work/infer-640-cuda-gpu.jsonl" "$work/infer-640-cuda-upload.jsonl" &&
    echo "records byte-identical to the batcher's upload" ||
    echo "records not byte-identical to the batcher's upload (see compare-640-cuda-upload.json)"
ANYLABEL_GPU_UPLOAD=decode timeout 60 "$al" infer "$big" -m nudenet-320n --imgsz 640 \
    --backend cuda --preprocess gpu --batch 32 -o /dev/null --json "$work/infer-big-upload.json" \
    2> "$work/infer-big-upload.txt" || status=1
cat "$work/infer-big-upload.json"
echo
uploaded infer-big-upload.json
step "   bench infer, ANYLABEL_GPU_UPLOAD=decode"
ANYLABEL_GPU_UPLOAD=decode timeout 90 "$al" bench infer --images "$big" --model nudenet-320n \
    --imgsz 640 --backend cuda --preprocess gpu --batch 32 --json "$work/bench-upload.json" \
    > "$work/bench-upload.txt" 2>&1 || status=1
grep -E "throughput|inference only|waiting" "$work/bench-upload.txt"
fi

if want 6 && [ -x "$here/anylabel-before" ]; then
for pre in cpu gpu; do
    step "6. the earlier build: bench infer, --preprocess $pre"
    timeout 90 "$here/anylabel-before" bench infer --images "$big" --model nudenet-320n --imgsz 640 \
        --backend cuda --preprocess $pre --batch 32 --json "$work/bench-before-$pre.json" \
        > "$work/bench-before-$pre.txt" 2>&1 || status=1
    grep -E "throughput|inference only|latency median" "$work/bench-before-$pre.txt"
done
fi
if want 7; then
step "7. 12032 JPEGs (the 3008 four times over), GPU letterbox"
big4=$(mktemp -d)
for k in 0 1 2 3; do
    for f in "$big"/*.jpg; do ln "$f" "$big4/$k-$(basename "$f")"; done
done
timeout 120 "$al" bench infer --images "$big4" --model nudenet-320n --imgsz 640 --backend cuda \
    --preprocess gpu --batch 32 --json "$work/bench-12k-gpu.json" > "$work/bench-12k-gpu.txt" 2>&1 || status=1
grep -E "throughput|inference only|waiting" "$work/bench-12k-gpu.txt"
for workers in 16 12; do
    timeout 60 "$al" infer "$big4" -m nudenet-320n --imgsz 640 --backend cuda --batch 32 \
        --workers $workers -o /dev/null --json "$work/infer-12k-w$workers.json" \
        2> "$work/infer-12k-w$workers.txt" || status=1
    cat "$work/infer-12k-w$workers.json"
done
fi
if want 8; then
step "8. nvJPEG (--decode gpu): boxes against the CPU backend"
[ -f "$work/infer-640-cpu.jsonl" ] || infer "640-cpu" --imgsz 640 --backend cpu
infer "640-cuda-nvjpeg" --imgsz 640 --backend cuda --decode gpu
compare "640-cpu" "640-cuda-nvjpeg"
grep -o '"decoded_[a-z_]*":[0-9]*' "$work/infer-640-cuda-nvjpeg.json"
step "   3008 JPEGs, --decode gpu"
timeout 60 "$al" infer "$big" -m nudenet-320n --imgsz 640 --backend cuda --decode gpu \
    --batch 32 -o /dev/null --json "$work/infer-big-nvjpeg.json" 2> "$work/infer-big-nvjpeg.txt" || status=1
cat "$work/infer-big-nvjpeg.json"
echo
# The GPU's JPEG engine where it has one (ANYLABEL_NVJPEG_HARDWARE=100, the default), half
# the JPEGs to it, and none (nvJPEG's default backend on the decode threads).
for share in 100 50 0; do
    step "   bench infer, --decode gpu, ANYLABEL_NVJPEG_HARDWARE=$share"
    ANYLABEL_NVJPEG_HARDWARE=$share timeout 90 "$al" bench infer --images "$big" --model nudenet-320n \
        --imgsz 640 --backend cuda --decode gpu --batch 32 --json "$work/bench-nvjpeg-$share.json" \
        > "$work/bench-nvjpeg-$share.txt" 2>&1 || status=1
    grep -E "throughput|inference only|waiting" "$work/bench-nvjpeg-$share.txt"
    grep -o '[0-9]* of the images decoded by nvJPEG, [0-9]* of them by the GPU.s JPEG engine' \
        "$work/bench-nvjpeg-$share.json" | head -n 1
done
# ONNX Runtime's own CPU threads (one per core by default, spinning between runs) beside 16
# decode threads: the same run with one, both decoders.
for dec in cpu gpu; do
    timeout 60 "$al" infer "$big" -m nudenet-320n --imgsz 640 --backend cuda --decode $dec \
        --threads 1 --batch 32 -o /dev/null --json "$work/infer-big-$dec-t1.json" \
        2> "$work/infer-big-$dec-t1.txt" || status=1
    cat "$work/infer-big-$dec-t1.json"
    echo
done
fi
bench9() { # bench9 NAME ARGS...: bench infer on the 3008 JPEGs at batch 32, with $al
    local name=$1
    shift
    timeout 90 "$al" bench infer --images "$big" --model nudenet-320n --imgsz 640 --backend cuda \
        --batch 32 --json "$work/bench-$name.json" "$@" > "$work/bench-$name.txt" 2>&1 || status=1
    echo "$name: $(grep -E "throughput|inference only, batch 32 |waiting" "$work/bench-$name.txt" | tr -s ' ' | tr '\n' ';')"
}
# traced NAME ARGS...: bench infer as bench9 does, its -vv timeline (RUST_LOG) in
# timeline-NAME.txt (bench/timeline.py sums it) and its table in bench-trace-NAME.txt.
traced() {
    local name=$1
    shift
    RUST_LOG=anylabel::pipeline=trace,anylabel::gpu=trace timeout 90 "$al" bench infer \
        --images "$big" --model nudenet-320n --imgsz 640 --backend cuda --batch 32 "$@" \
        > "$work/bench-trace-$name.txt" 2> "$work/timeline-$name.txt" || status=1
    grep -E "throughput" "$work/bench-trace-$name.txt"
}
if want 9; then
# What keeps end to end below inference alone: ONNX Runtime's intra-op threads (one per core
# by default) and the decode threads' count, each in bench infer on the 3008 JPEGs; then
# timelines (-vv's timed lines: each image decoded, each batch in hand, handed over, run,
# written) of bench infer with each thread count, and with nvJPEG.
step "9. threads: bench infer with ONNX Runtime's default threads, then one"
bench9 t0 --preprocess gpu
bench9 t1 --preprocess gpu --threads 1
ANYLABEL_GPU_UPLOAD=decode bench9 t1-upload --preprocess gpu --threads 1
bench9 t1-w14 --preprocess gpu --threads 1 --workers 14
bench9 t1-cpu --preprocess cpu --threads 1
step "9. timelines of bench infer"
for t in 0 1; do
    traced "t$t" --preprocess gpu --threads $t
done
traced nvjpeg --decode gpu --threads 1
fi
if want 10; then
# Each run after the first takes up what the run before left: the GPU letterboxes, the
# page-locked buffers, the output's shape and nvJPEG; against the build before
# (anylabel-before) in the same run, with libjpeg-turbo and with nvJPEG. bench infer
# notes any run whose records differ from its first run's.
step "10. bench infer: the build before and this build; --decode gpu: the JPEG engine, nvJPEG's default backend"
if [ -x "$here/anylabel-before" ]; then
    al="$here/anylabel-before" bench9 before --preprocess gpu
    al="$here/anylabel-before" bench9 before-nvjpeg --preprocess gpu --decode gpu
fi
bench9 now --preprocess gpu
bench9 nvjpeg --preprocess gpu --decode gpu
ANYLABEL_NVJPEG_HARDWARE=0 bench9 nvjpeg-0 --preprocess gpu --decode gpu
bench9 now-cpu --preprocess cpu
grep -h "unlike run 1" "$work"/bench-now*.txt "$work"/bench-nvjpeg*.txt || echo "every run's records equal its first run's"
step "10. timelines"
traced now --preprocess gpu
traced nvjpeg --decode gpu
step "10. infer, one run each (model load included)"
for dec in cpu gpu; do
    timeout 60 "$al" infer "$big" -m nudenet-320n --imgsz 640 --backend cuda --decode $dec \
        --batch 32 -o /dev/null --json "$work/infer-big-$dec.json" 2> "$work/infer-big-$dec.txt" || status=1
    head -n 1 "$work/infer-big-$dec.txt"
done
fi
step "check.sh: status $status"
exit $status
