"""The reference anylabel is checked against: the pipeline a user would write in Python.

OpenCV decodes (cv2.imread, which applies EXIF orientation), an Ultralytics-style
letterbox (LetterBox(auto=False): aspect kept, cv2.resize INTER_LINEAR, centred padding
of 114), RGB, /255, NCHW; ONNX Runtime runs the model; a YOLOv8 head is decoded and
cv2.dnn.NMSBoxesBatched does class-aware NMS. None of it shares code with anylabel.

    python reference.py --model M.onnx --imgsz 640 640 [--conf 0.25] [--iou 0.45]
                        [--max-det 300] --root DIR NAME...          # JSONL on stdout
    python reference.py ... --interp area      # resize with INTER_AREA instead
    python reference.py --letterbox-only OUTDIR --imgsz 640 640 --root DIR NAME...

With --letterbox-only it writes each letterboxed image as raw RGB bytes (H×W×3) to
OUTDIR/<index>.rgb instead of running a model.
"""
import argparse
import json
import os
import sys

import cv2
import numpy as np


def letterbox(img, new_shape, interpolation=cv2.INTER_LINEAR):
    """Ultralytics' LetterBox(auto=False, scaleup=True, center=True) on a BGR image."""
    shape = img.shape[:2]  # h, w
    r = min(new_shape[0] / shape[0], new_shape[1] / shape[1])
    new_unpad = int(round(shape[1] * r)), int(round(shape[0] * r))
    dw, dh = (new_shape[1] - new_unpad[0]) / 2, (new_shape[0] - new_unpad[1]) / 2
    if shape[::-1] != new_unpad:
        img = cv2.resize(img, new_unpad, interpolation=interpolation)
    top, bottom = int(round(dh - 0.1)), int(round(dh + 0.1))
    left, right = int(round(dw - 0.1)), int(round(dw + 0.1))
    img = cv2.copyMakeBorder(img, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(114, 114, 114))
    return img, r, left, top


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model")
    ap.add_argument("--imgsz", type=int, nargs=2, required=True, metavar=("H", "W"))
    ap.add_argument("--conf", type=float, default=0.25)
    ap.add_argument("--iou", type=float, default=0.45)
    ap.add_argument("--max-det", type=int, default=300)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--root", required=True)
    ap.add_argument("--letterbox-only")
    # INTER_AREA: what large JPEGs decoded reduced by anylabel are checked against.
    ap.add_argument("--interp", choices=["linear", "area"], default="linear")
    ap.add_argument("names", nargs="+")
    a = ap.parse_args()

    sess = None
    if not a.letterbox_only:
        import onnxruntime as ort

        so = ort.SessionOptions()
        if a.threads:
            so.intra_op_num_threads = a.threads
        sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
        input_name = sess.get_inputs()[0].name

    for index, name in enumerate(a.names):
        img = cv2.imread(os.path.join(a.root, name), cv2.IMREAD_COLOR)
        if img is None:
            print(json.dumps({"path": name, "error": "cv2.imread could not read it"}))
            continue
        h0, w0 = img.shape[:2]
        interp = cv2.INTER_AREA if a.interp == "area" else cv2.INTER_LINEAR
        lb, r, left, top = letterbox(img, a.imgsz, interp)
        rgb = cv2.cvtColor(lb, cv2.COLOR_BGR2RGB)
        if a.letterbox_only:
            rgb.tofile(os.path.join(a.letterbox_only, f"{index}.rgb"))
            continue
        blob = (rgb.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
        out = sess.run(None, {input_name: np.ascontiguousarray(blob)})[0][0]  # [4+nc, N]
        pred = out.T
        scores = pred[:, 4:]
        cls = scores.argmax(1)
        conf = scores.max(1)
        keep = conf > a.conf
        xywh, conf, cls = pred[keep, :4], conf[keep], cls[keep]
        dets = []
        if len(conf):
            tl = np.stack([xywh[:, 0] - xywh[:, 2] / 2, xywh[:, 1] - xywh[:, 3] / 2, xywh[:, 2], xywh[:, 3]], 1)
            idx = cv2.dnn.NMSBoxesBatched(tl.tolist(), conf.tolist(), cls.tolist(), a.conf, a.iou)
            idx = sorted(np.array(idx).reshape(-1).tolist(), key=lambda i: -conf[i])[: a.max_det]
            for i in idx:
                x1, y1, w, h = tl[i]
                box = [
                    float(np.clip((x1 - left) / r, 0, w0)),
                    float(np.clip((y1 - top) / r, 0, h0)),
                    float(np.clip((x1 + w - left) / r, 0, w0)),
                    float(np.clip((y1 + h - top) / r, 0, h0)),
                ]
                dets.append({"class_id": int(cls[i]), "score": float(conf[i]), "bbox": box})
        print(json.dumps({"path": name, "width": w0, "height": h0, "detections": dets}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
