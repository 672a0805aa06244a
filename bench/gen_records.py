"""Writes N synthetic result records (random boxes in 1920x1080 images, 0-6 a record,
1,000 images a folder), seeded, for timing `anylabel export`:

    python3 bench/gen_records.py 100000 > r100k.jsonl
"""
import json
import random
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
random.seed(1)
names = ["person", "car", "dog", "cat", "chair"]
out = sys.stdout
for i in range(n):
    w, h = 1920, 1080
    dets = []
    for _ in range(random.randint(0, 6)):
        x1, y1 = random.uniform(0, w - 100), random.uniform(0, h - 100)
        c = random.randrange(5)
        dets.append({"class_id": c, "label": names[c], "score": round(random.random(), 5),
                     "bbox": [round(x1, 2), round(y1, 2), round(x1 + 90, 2), round(y1 + 80, 2)]})
    out.write(json.dumps({"path": f"d{i // 1000:03d}/img_{i:06d}.jpg", "width": w, "height": h,
                          "model": "m@sha256:00", "detections": dets, "error": None}) + "\n")
