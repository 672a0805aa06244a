"""torchvision's CUDA NMS on the same box files as examples/gpu_check.rs, for the GPU check
(scripts/gpu-check-stage.sh, docs/gpu.md). Needs torch and torchvision with CUDA.

    python3 bench/torch_nms.py [--iou 0.45] [--repeat 11] [--kept-dir DIR] BOXES.csv...

For each file (`x1,y1,x2,y2,score,class_id`, as bench/nms_peers.py and anylabel nms read
them), times torchvision.ops.nms (agnostic) and torchvision.ops.batched_nms (class-aware)
on CUDA, medians of --repeat runs after a warm-up:

* `device_ms`: the call alone, boxes already on the GPU (how torchvision is usually timed);
* `host_ms`: from host arrays to the kept indices on the host (copies included), which is
  what examples/gpu_check.rs times for anylabel.

With --kept-dir (written by gpu_check), checks the kept indices against anylabel's CPU NMS
(`<stem>-agnostic.txt`, `<stem>-class-aware.txt`). batched_nms offsets boxes by class
below 20,000 coordinates (5,000 boxes), which can move IoUs by a rounding step, so a
class-aware difference there is torchvision's, and is reported, not hidden.
Prints one JSON object to stdout and a table to stderr.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torchvision


def median(v):
    return sorted(v)[len(v) // 2]


def timed(repeat, f):
    f()  # warm-up
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t) * 1e3)
    return median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--iou", type=float, default=0.45)
    ap.add_argument("--repeat", type=int, default=11)
    ap.add_argument("--kept-dir")
    a = ap.parse_args()
    dev = torch.device("cuda")
    rows = []
    for path in a.files:
        # float64 then float32: the same values as anylabel's f32 parse of these reprs.
        t = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64).reshape(-1, 6)
        b32 = np.ascontiguousarray(t[:, :4].astype(np.float32))
        s32 = np.ascontiguousarray(t[:, 4].astype(np.float32))
        cls = t[:, 5].astype(np.int64)
        boxes, scores, classes = (torch.from_numpy(x).to(dev) for x in (b32, s32, cls))
        stem = os.path.splitext(os.path.basename(path))[0]
        for mode in ("agnostic", "class-aware"):
            if mode == "agnostic":
                on_device = lambda: torchvision.ops.nms(boxes, scores, a.iou)

                def from_host():
                    b, s = torch.from_numpy(b32).to(dev), torch.from_numpy(s32).to(dev)
                    return torchvision.ops.nms(b, s, a.iou).cpu()
            else:
                on_device = lambda: torchvision.ops.batched_nms(boxes, scores, classes, a.iou)

                def from_host():
                    b, s = torch.from_numpy(b32).to(dev), torch.from_numpy(s32).to(dev)
                    c = torch.from_numpy(cls).to(dev)
                    return torchvision.ops.batched_nms(b, s, c, a.iou).cpu()
            kept = on_device().cpu().tolist()
            row = dict(file=path, boxes=len(s32), mode=mode, kept=len(kept),
                       device_ms=timed(a.repeat, on_device), host_ms=timed(a.repeat, from_host))
            if a.kept_dir:
                want_path = os.path.join(a.kept_dir, f"{stem}-{mode}.txt")
                if os.path.exists(want_path):
                    want = [int(x) for x in open(want_path).read().split()]
                    row["same_as_anylabel"] = kept == want
                    row["anylabel_kept"] = len(want)
            rows.append(row)
    out = dict(torch=torch.__version__, torchvision=torchvision.__version__,
               gpu=torch.cuda.get_device_name(0), iou=a.iou, repeat=a.repeat, nms=rows)
    print(json.dumps(out))
    print(f"torchvision {torchvision.__version__} on {out['gpu']}", file=sys.stderr)
    print(f"{'boxes':>8} {'mode':>12} {'kept':>7} {'device ms':>10} {'host ms':>10} {'same':>6}  file", file=sys.stderr)
    for r in rows:
        print(f"{r['boxes']:>8} {r['mode']:>12} {r['kept']:>7} {r['device_ms']:>10.3f} {r['host_ms']:>10.3f} "
              f"{str(r.get('same_as_anylabel', '-')):>6}  {r['file']}", file=sys.stderr)


if __name__ == "__main__":
    main()
