"""Writes the box files of the GPU check (scripts/gpu-check-stage.sh): clustered boxes as in
bench/nms_peers.py (clusters of about ten, density the same at every size, distinct
scores), with a class of 0..3 each, as `x1,y1,x2,y2,score,class_id` CSV that
examples/gpu_check.rs, bench/torch_nms.py and `anylabel nms` all read.

    python bench/gpu_boxes.py --out DIR [--classes 4] 1000 10000 100000
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nms_peers import clustered  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sizes", type=int, nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--classes", type=int, default=4)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for n in a.sizes:
        boxes, scores = clustered(n, seed=n)
        classes = np.random.default_rng(n + 1).integers(0, a.classes, n)
        with open(os.path.join(a.out, f"boxes-{n}.csv"), "w") as f:
            f.write("x1,y1,x2,y2,score,class_id\n")
            for b, s, k in zip(boxes.tolist(), scores.tolist(), classes.tolist()):
                f.write(f"{b[0]!r},{b[1]!r},{b[2]!r},{b[3]!r},{s!r},{k}\n")


if __name__ == "__main__":
    main()
