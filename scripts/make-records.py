#!/usr/bin/env python3
"""Writes a realistic results.jsonl for measuring `anylabel filter`: N records (default
100000) of 1920x1080 images, 0 to 10 detections each (5 on average) over the 80 COCO
classes, a third of them `person`, highest score first, as `infer` writes them.

    scripts/make-records.py 100000 > r100k.jsonl
"""
import json
import random
import sys

NAMES = ["person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
         "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat",
         "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack",
         "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball",
         "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket",
         "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
         "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair",
         "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse",
         "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
         "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier",
         "toothbrush"]

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
random.seed(1)
out = sys.stdout
for i in range(n):
    w, h = 1920, 1080
    dets = []
    for _ in range(random.randint(0, 10)):
        c = 0 if random.random() < 0.3 else random.randrange(80)
        x1 = round(random.uniform(0, w - 50), 2)
        y1 = round(random.uniform(0, h - 50), 2)
        x2 = round(min(w, x1 + random.uniform(10, 600)), 2)
        y2 = round(min(h, y1 + random.uniform(10, 600)), 2)
        dets.append({"class_id": c, "label": NAMES[c], "score": round(random.uniform(0.25, 1), 5),
                     "bbox": [x1, y1, x2, y2]})
    dets.sort(key=lambda d: -d["score"])
    out.write(json.dumps({"path": f"sub{i // 1000:03d}/img_{i:06d}.jpg", "width": w, "height": h,
                          "model": "yolov8n@sha256:1a2b3c4d5e6f7a8b", "detections": dets,
                          "error": None}, separators=(",", ":")) + "\n")
