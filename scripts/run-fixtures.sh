#!/usr/bin/env bash
# Builds anylabel and labels the bundled fixtures with a catalogue model, printing one
# JSON record per image. ONNX Runtime and the model are fetched into ~/.anylabeling on
# the first run (ANYLABEL_HOME moves it). Extra arguments go to `anylabel infer`, e.g.
#   scripts/run-fixtures.sh --model yolov8n-doclaynet -o results.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/prereqs.sh
model=nudenet-320n
for a in "$@"; do case "$a" in -m|--model|--model=*) model="";; esac; done
exec cargo run --release --quiet $CARGO_FEATURES -- infer fixtures/images ${model:+--model "$model"} "$@"
