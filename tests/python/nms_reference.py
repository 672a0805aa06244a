"""OpenCV's NMS on a box table, the reference `tests/nms.rs` checks `anylabel nms` against.

    nms_reference.py BOXES.csv IOU [--agnostic]

Reads the CSV (header x1,y1,x2,y2,score,class_id) as float32, as anylabel does, runs
cv2.dnn.NMSBoxesBatched (class-aware) or cv2.dnn.NMSBoxes (--agnostic) on one thread with
a score threshold of 0 (every score here is above it), and prints the kept row indices, highest score first.
"""
import sys

import cv2
import numpy as np


def main():
    path, iou = sys.argv[1], float(sys.argv[2])
    agnostic = "--agnostic" in sys.argv[3:]
    cv2.setNumThreads(1)
    t = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2).astype(np.float32)
    boxes, scores, classes = t[:, :4], t[:, 4], t[:, 5].astype(np.int32)
    xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], 1).astype(np.float64)
    s = scores.astype(np.float64)
    if agnostic:
        kept = cv2.dnn.NMSBoxes(xywh, s, 0.0, iou)
    else:
        kept = cv2.dnn.NMSBoxesBatched(xywh, s, classes, 0.0, iou)
    kept = np.array(kept, dtype=np.int64).reshape(-1).tolist()
    kept.sort(key=lambda i: (-scores[i], i))
    print("\n".join(str(i) for i in kept))


if __name__ == "__main__":
    main()
