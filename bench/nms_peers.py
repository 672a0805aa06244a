"""NMS against its peers, in one run on one machine, one thread each: anylabel, the
`powerboxesrs` crate (plain and R-tree), ONNX Runtime's NonMaxSuppression operator and
OpenCV's cv2.dnn.NMSBoxesBatched, on the same box files (clustered boxes, one class,
distinct scores, IoU 0.45). Checks that all of them keep exactly the same boxes, prints a
table of times and ratios, and with --write-docs puts it into docs/performance.md.

    scripts/test.sh --test cli        # once: builds anylabel and the Python environment
    target/test-python/bin/python bench/nms_peers.py [--sizes 1000 10000 100000] [--repeat 5] [--write-docs]
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from docs_block import write_block  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def clustered(n, seed):
    """Boxes in clusters of about ten, the area growing with n so density stays the same."""
    rng = np.random.default_rng(seed)
    clusters = max(n // 10, 1)
    extent = np.sqrt(clusters) * 100.0
    centres = rng.uniform(0, extent, (clusters, 2))
    sizes = rng.uniform(30, 90, clusters)
    which = rng.integers(0, clusters, n)
    xy = centres[which] + rng.uniform(-8, 8, (n, 2))
    wh = sizes[which, None] * rng.uniform(0.9, 1.1, (n, 2))
    boxes = np.concatenate([xy - wh / 2, xy + wh / 2], 1).astype(np.float32)
    scores = (rng.permutation(n) + 1).astype(np.float32) / np.float32(n + 1)  # distinct
    return boxes, scores


def median_ms(repeat, f):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append((time.perf_counter() - t) * 1e3)
    return sorted(times)[len(times) // 2]


def ort_nms_session(iou):
    g = helper.make_graph(
        [helper.make_node("NonMaxSuppression", ["boxes", "scores", "max", "iou", "score"], ["selected"])],
        "nms",
        [
            helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [1, None, 4]),
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 1, None]),
            helper.make_tensor_value_info("max", TensorProto.INT64, [1]),
            helper.make_tensor_value_info("iou", TensorProto.FLOAT, [1]),
            helper.make_tensor_value_info("score", TensorProto.FLOAT, [1]),
        ],
        [helper.make_tensor_value_info("selected", TensorProto.INT64, [None, 3])],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--iou", type=float, default=0.45)
    ap.add_argument("--write-docs", action="store_true")
    a = ap.parse_args(argv)
    cv2.setNumThreads(1)
    subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "nms_time", "--bin", "anylabel"], cwd=ROOT, check=True)
    anylabel = os.path.join(ROOT, "target", "release", "anylabel")
    nms_time = os.path.join(ROOT, "target", "release", "examples", "nms_time")
    sess = ort_nms_session(a.iou)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in a.sizes:
            boxes, scores = clustered(n, seed=n)
            path = os.path.join(tmp, f"boxes-{n}.csv")
            with open(path, "w") as f:
                f.write("x1,y1,x2,y2,score,class_id\n")
                for b, s in zip(boxes.tolist(), scores.tolist()):
                    f.write(f"{b[0]!r},{b[1]!r},{b[2]!r},{b[3]!r},{s!r},0\n")
            # anylabel's kept rows, through the CLI (reading the same CSV back).
            ours = [int(x) for x in subprocess.run([anylabel, "nms", path, "--iou", str(a.iou)], capture_output=True, text=True, check=True).stdout.split()]
            rust = json.loads(subprocess.run([nms_time, "--iou", str(a.iou), "--repeat", str(a.repeat), path], capture_output=True, text=True, check=True).stdout)
            # The same boxes as the CSV holds (parsed back as float32, as anylabel reads them).
            back = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64).astype(np.float32).reshape(-1, 6)
            b32, s32 = back[:, :4].copy(), back[:, 4].copy()
            feeds = {
                "boxes": b32[None],
                "scores": s32[None, None],
                "max": np.array([n], np.int64),
                "iou": np.array([a.iou], np.float32),
                "score": np.array([0.0], np.float32),
            }
            sel = None

            def run_ort():
                nonlocal sel
                sel = sess.run(None, feeds)[0]

            ort_ms = median_ms(a.repeat, run_ort)
            ort_kept = sel[:, 2].tolist()
            xywh = np.concatenate([b32[:, :2], b32[:, 2:] - b32[:, :2]], 1).astype(np.float64)
            cls = np.zeros(n, np.int32)
            cvk = None

            def run_cv():
                nonlocal cvk
                cvk = cv2.dnn.NMSBoxesBatched(xywh, s32.astype(np.float64), cls, 0.0, a.iou)

            cv_ms = median_ms(a.repeat, run_cv)
            cv_kept = sorted(np.array(cvk).reshape(-1).tolist(), key=lambda i: -s32[i])
            same = ours == ort_kept == cv_kept and rust["same_as_powerboxes"] and rust["kept"] == len(ours)
            rows.append(dict(n=n, kept=len(ours), anylabel=rust["anylabel_ms"], ort=ort_ms, opencv=cv_ms,
                             powerboxes=rust["powerboxes_ms"], rtree=rust["powerboxes_rtree_ms"], same=same))
            if not same:
                print(f"{n}: KEPT SETS DIFFER: anylabel {len(ours)}, ONNX Runtime {len(ort_kept)}, OpenCV {len(cv_kept)}, "
                      f"powerboxes same: {rust['same_as_powerboxes']}", file=sys.stderr)
    lines = [
        "| boxes | kept | anylabel | ONNX Runtime NonMaxSuppression | OpenCV NMSBoxesBatched | powerboxes | powerboxes R-tree | fastest peer / anylabel | same kept set |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        fastest = min(r["ort"], r["opencv"], r["powerboxes"], r["rtree"])
        lines.append(
            f"| {r['n']:,} | {r['kept']:,} | {r['anylabel']:.3f} ms | {r['ort']:.3f} ms | {r['opencv']:.3f} ms | "
            f"{r['powerboxes']:.3f} ms | {r['rtree']:.3f} ms | {fastest / r['anylabel']:.1f}× | {'yes' if r['same'] else 'NO'} |"
        )
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; ONNX Runtime {ort.__version__}, OpenCV {cv2.__version__}"
    table = "\n".join(lines)
    print(table)
    print(machine)
    if a.write_docs:
        write_block("nms-peers", (f"{table}\n\nMedians of {a.repeat} runs, one thread each, IoU {a.iou}, on {machine}; "
                 f"`{' '.join(['bench/nms_peers.py'] + argv)}`, {time.strftime('%Y-%m-%d')}."))
    if not all(r["same"] for r in rows):
        sys.exit(1)
    return rows


if __name__ == "__main__":
    main()
