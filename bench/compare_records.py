#!/usr/bin/env python3
"""How far two `anylabel infer` outputs agree: a reference (the CPU backend, say) and
another run of the same images (CUDA). Per image, each reference box, best score first, is
matched to the unmatched box of the other run with the same class and the highest IoU, if
that IoU is at least --iou. Boxes of either run left unmatched count against agreement:

    agreement = matched / max(reference boxes, other boxes)

Prints one JSON object (boxes, matched, agreement, the largest score difference between
matched boxes, images only one run has) and exits 1 when agreement is below --min.

    python3 bench/compare_records.py cpu.jsonl cuda.jsonl [--iou 0.9] [--min 0.99]
"""
import argparse
import json
import sys


def load(path):
    out = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                out[r["path"]] = r.get("detections") or []
    return out


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def compare(ref, got, threshold):
    matched = 0
    score_diff = 0.0
    for ra in sorted(ref, key=lambda d: -d["score"]):
        best, best_iou = None, threshold
        for i, gb in enumerate(got):
            if gb is None or gb["class_id"] != ra["class_id"]:
                continue
            v = iou(ra["bbox"], gb["bbox"])
            if v >= best_iou:
                best, best_iou = i, v
        if best is not None:
            matched += 1
            score_diff = max(score_diff, abs(got[best]["score"] - ra["score"]))
            got = got[:best] + [None] + got[best + 1:]
    return matched, score_diff


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("reference")
    ap.add_argument("other")
    ap.add_argument("--iou", type=float, default=0.9)
    ap.add_argument("--min", type=float, default=0.99)
    a = ap.parse_args()
    ref, got = load(a.reference), load(a.other)
    n_ref = n_got = matched = 0
    worst = 0.0
    for path in sorted(set(ref) | set(got)):
        r, g = ref.get(path, []), got.get(path, [])
        m, d = compare(r, list(g), a.iou)
        n_ref, n_got, matched = n_ref + len(r), n_got + len(g), matched + m
        worst = max(worst, d)
    agreement = matched / max(n_ref, n_got) if max(n_ref, n_got) else 1.0
    result = {
        "reference": a.reference,
        "other": a.other,
        "images": len(ref),
        "images_in_one_only": sorted(set(ref) ^ set(got)),
        "reference_boxes": n_ref,
        "other_boxes": n_got,
        "matched": matched,
        "iou_threshold": a.iou,
        "agreement": round(agreement, 5),
        "max_score_difference": round(worst, 5),
    }
    print(json.dumps(result))
    return 0 if agreement >= a.min and not result["images_in_one_only"] else 1


if __name__ == "__main__":
    sys.exit(main())
