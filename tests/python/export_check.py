"""Reads anylabel's exports with the tools people use, and checks they see our boxes.

    export_check.py RECORDS.jsonl IMAGES COCO.json YOLO_DIR VOC_DIR LABELME_DIR

- pycocotools loads the COCO file, and COCOeval of its annotations (with their scores)
  against itself gives mAP 1.0;
- supervision's DetectionDataset.from_coco, from_yolo and from_pascal_voc load the COCO,
  YOLO and VOC exports with the records' boxes and class names;
- every LabelMe file has every key AnyLabeling / X-AnyLabeling's LabelFile.load reads;
- Ultralytics, trained on the YOLO export's data.yaml, finds every listed image and its
  label file by Ultralytics' own rule (`img2label_paths`, restated below: Ultralytics
  itself needs torch, too big for CI), with the record's boxes.

Only the images directly in IMAGES are checked (supervision does not walk subfolders).
Prints one line per check; exits non-zero on the first mismatch.
"""
import contextlib
import io
import json
import os
import sys

import numpy as np
import supervision as sv
import yaml
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

records_path, images, coco_path, yolo_dir, voc_dir, labelme_dir = sys.argv[1:7]
records = [json.loads(l) for l in open(records_path, encoding="utf-8") if l.strip()]
flat = {r["path"]: r for r in records if "/" not in r["path"] and r["error"] is None}
assert flat, "no records of images directly in the images folder"


def expect(name, boxes, labels, tol):
    """Compares one image's loaded boxes and labels with its record, in order."""
    r = flat[name]
    want = np.array([d["bbox"] for d in r["detections"]], dtype=float).reshape(-1, 4)
    got = np.asarray(boxes, dtype=float).reshape(-1, 4)
    assert got.shape == want.shape, f"{name}: {len(got)} boxes, the record has {len(want)}"
    if len(want):
        err = np.abs(got - want).max()
        assert err <= tol, f"{name}: boxes differ by {err} px\n{got}\n{want}"
    assert list(labels) == [d["label"] for d in r["detections"]], f"{name}: {labels}"


def check_dataset(kind, ds, tol):
    seen = 0
    for path, _image, det in ds:
        name = os.path.relpath(path, images)
        if name not in flat:
            continue
        labels = [ds.classes[c] for c in det.class_id]
        expect(name, det.xyxy, labels, tol)
        seen += 1
    assert seen == len(flat), f"{kind}: supervision loaded {seen} images, expected {len(flat)}"
    print(f"supervision {kind}: {seen} images, {sum(len(r['detections']) for r in flat.values())} boxes match")


# pycocotools: load, then evaluate the annotations as detections against themselves.
with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO(coco_path)
    dets = [
        {k: a[k] for k in ("image_id", "category_id", "bbox", "score")}
        for a in gt.dataset["annotations"]
    ]
    dt = gt.loadRes(dets)
    e = COCOeval(gt, dt, "bbox")
    e.evaluate()
    e.accumulate()
    e.summarize()
assert len(gt.getImgIds()) == len([r for r in records if r["error"] is None]), "COCO image count"
assert abs(e.stats[0] - 1.0) < 1e-9, f"COCOeval mAP {e.stats[0]}"
print(f"pycocotools: {len(gt.getImgIds())} images, {len(dets)} annotations, mAP {e.stats[0]:.3f}")

check_dataset(
    "coco",
    sv.DetectionDataset.from_coco(images_directory_path=images, annotations_path=coco_path),
    0.011,
)
check_dataset(
    "yolo",
    sv.DetectionDataset.from_yolo(
        images_directory_path=images,
        annotations_directory_path=os.path.join(yolo_dir, "labels"),
        data_yaml_path=os.path.join(yolo_dir, "data.yaml"),
    ),
    0.02,
)
# Ultralytics 8.4 (ultralytics/data/utils.py): data.yaml's `train` (a .txt list, absolute
# here) names the images; an image's label is its path with the last /images/ replaced by
# /labels/ and its extension by .txt.
def img2label_path(x):
    sa, sb = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    return sb.join(x.rsplit(sa, 1)).rsplit(".", 1)[0] + ".txt"


data = yaml.safe_load(open(os.path.join(yolo_dir, "data.yaml"), encoding="utf-8"))
listed = [l.strip() for l in open(data["train"], encoding="utf-8") if l.strip()]
by_path = {os.path.relpath(p, data["path"]): p for p in listed}
exported = [r for r in records if r["error"] is None]
assert sorted(by_path) == sorted(r["path"] for r in exported), f"listed: {sorted(by_path)}"
boxes = 0
for r in exported:
    image = by_path[r["path"]]
    assert os.path.isfile(image), f"{image}: listed, not an image"
    label = img2label_path(image)
    assert os.path.isfile(label), f"{image}: Ultralytics looks for its label at {label}, not there"
    rows = [l.split() for l in open(label, encoding="utf-8") if l.strip()]
    w, h = r["width"], r["height"]
    want = [(d["class_id"], (d["bbox"][0] + d["bbox"][2]) / 2 / w, (d["bbox"][1] + d["bbox"][3]) / 2 / h) for d in r["detections"]]
    got = [(int(c), float(x), float(y)) for c, x, y, *_ in rows]
    assert len(got) == len(want) and all(
        g[0] == e[0] and abs(g[1] - e[1]) < 1e-5 and abs(g[2] - e[2]) < 1e-5 for g, e in zip(got, want)
    ), f"{label}: {got}, the record has {want}"
    boxes += len(rows)
print(f"ultralytics layout: {len(listed)} listed images, each label where Ultralytics looks, {boxes} boxes")

check_dataset(
    "pascal_voc",
    sv.DetectionDataset.from_pascal_voc(
        images_directory_path=images,
        annotations_directory_path=os.path.join(voc_dir, "Annotations"),
    ),
    0.011,
)

# LabelMe: the keys LabelFile.load reads (see src/export/labelme.rs for the sources).
top = ["version", "flags", "shapes", "imagePath", "imageData", "imageHeight", "imageWidth"]
shape_keys = ["label", "points", "group_id", "description", "difficult", "shape_type", "flags", "attributes", "score"]
files = 0
for dirpath, _, filenames in os.walk(labelme_dir):
    for f in filenames:
        if not f.endswith(".json"):
            continue
        data = json.load(open(os.path.join(dirpath, f), encoding="utf-8"))
        missing = [k for k in top if k not in data]
        assert not missing, f"{f}: no {missing}"
        image = os.path.normpath(os.path.join(dirpath, data["imagePath"]))
        assert os.path.isfile(image), f"{f}: imagePath {data['imagePath']} is not the image"
        for s in data["shapes"]:
            missing = [k for k in shape_keys if k not in s]
            assert not missing, f"{f}: a shape has no {missing}"
            assert s["shape_type"] == "rectangle" and len(s["points"]) == 2
        files += 1
assert files == len([r for r in records if r["error"] is None]), f"{files} LabelMe files"
print(f"labelme: {files} files have every key the loaders read")
# Where the GUIs look with the images' folder open and OUT as the output folder
# (X-AnyLabeling's, AnyLabeling's and labelme's load_file: OUT/<image's stem>.json, whatever
# subfolder the image is in), and the image X-AnyLabeling then opens: the file name of
# imagePath in the image's own folder.
for r in records:
    if r["error"] is not None:
        continue
    stem = os.path.splitext(os.path.basename(r["path"]))[0]
    f = os.path.join(labelme_dir, stem + ".json")
    assert os.path.isfile(f), f"{r['path']}: no {f}, where the GUIs look"
    data = json.load(open(f, encoding="utf-8"))
    image = os.path.join(images, os.path.dirname(r["path"]), os.path.basename(data["imagePath"]))
    assert os.path.isfile(image), f"{f}: X-AnyLabeling would open {image}"
print("labelme: every image's file is where the GUIs look for it")
