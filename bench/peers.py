"""anylabel against the tools a user would otherwise pick, in one run on one machine, and
one table of ratios.

- infer end to end, on the 50 fixtures and on 40 12-megapixel JPEGs (bench/make_12mp.py):
  `anylabel infer DIR --model M --no-cache` against the Python pipeline a user would write
  (tests/python/reference.py: OpenCV decode, Ultralytics-style letterbox, ONNX Runtime,
  NMSBoxesBatched), the same model file, input size and ONNX Runtime version and threads;
  whole processes, wall time, interleaved rounds, medians. Also the model's own rate
  (ONNX Runtime alone on inputs letterboxed in advance), to say what share of it each
  pipeline reaches.
- decode + letterbox to 640, one thread: anylabel (examples/prep_time.rs; large JPEGs
  decoded reduced, as infer does) against OpenCV (imdecode + resize), Pillow (open,
  convert, resize) and Pillow with draft() (its own reduced JPEG decoding).
- scan of a 200,000-file tree against fd (bench/scan_peers.py).
- NMS at 1k / 10k / 100k boxes against ONNX Runtime, OpenCV and powerboxes
  (bench/nms_peers.py).

It prints the table; --write-docs puts it, and the tables of the two scripts it runs, into
docs/performance.md, with the machine and the command.

    scripts/test.sh --test cli            # once: builds anylabel, the Python environment, the models
    target/test-python/bin/python bench/peers.py [--rounds 3] [--write-docs]
"""
import argparse
import glob
import io
import json
import os
import platform
import subprocess
import sys
import time

import cv2
import numpy as np
import onnxruntime as ort
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
import nms_peers  # noqa: E402
from docs_block import write_block  # noqa: E402
import scan_peers  # noqa: E402
from reference import letterbox  # noqa: E402

ANYLABEL = os.path.join(ROOT, "target", "release", "anylabel")
PREP_TIME = os.path.join(ROOT, "target", "release", "examples", "prep_time")
MEDIAN = lambda v: sorted(v)[len(v) // 2]  # noqa: E731


def home_env():
    env = dict(os.environ)
    env.setdefault("ANYLABEL_HOME", os.path.join(ROOT, "target", "tmp", "anylabel-home"))
    return env


def listed(folder):
    out = subprocess.run([ANYLABEL, "scan", folder], capture_output=True, text=True, check=True, env=home_env())
    return [os.path.relpath(p, folder) for p in out.stdout.split("\n") if p]


def wall(cmd, **kw):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t


def model_rate(model, folder, names, imgsz, repeat):
    """ONNX Runtime alone on the images letterboxed in advance: images/s (median of rounds)."""
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    blobs = []
    for n in names:
        img = cv2.imread(os.path.join(folder, n), cv2.IMREAD_COLOR)
        if img is None:
            continue
        lb = cv2.cvtColor(letterbox(img, (imgsz, imgsz))[0], cv2.COLOR_BGR2RGB)
        blobs.append(np.ascontiguousarray((lb.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]))
    sess.run(None, {name: blobs[0]})
    rates = []
    for _ in range(repeat):
        t = time.perf_counter()
        for b in blobs:
            sess.run(None, {name: b})
        rates.append(len(blobs) / (time.perf_counter() - t))
    return MEDIAN(rates), len(blobs)


def infer_peers(model_name, model, folder, imgsz, rounds):
    names = listed(folder)
    ours = [ANYLABEL, "infer", folder, "--model", model_name, "--imgsz", str(imgsz), "--no-cache", "-o", os.devnull, "-q"]
    theirs = [sys.executable, os.path.join(ROOT, "tests", "python", "reference.py"), "--model", model,
              "--imgsz", str(imgsz), str(imgsz), "--root", folder] + names
    env = home_env()
    wall(ours, env=env)  # warm the page cache and the runtime
    times = {"ours": [], "python": []}
    for r in range(rounds):
        order = ["ours", "python"] if r % 2 == 0 else ["python", "ours"]
        for k in order:
            times[k].append(wall(ours if k == "ours" else theirs, env=env))
    n = len(names)
    return {"images": n, "ours_ips": n / MEDIAN(times["ours"]), "python_ips": n / MEDIAN(times["python"])}


def python_prep(files, imgsz, repeat):
    """Per-file medians, averaged: OpenCV imdecode + resize; OpenCV's whole letterbox;
    Pillow open + convert + resize; the same with draft()."""
    cv2.setNumThreads(1)

    def cv_resize(b):
        img = cv2.imdecode(b, cv2.IMREAD_COLOR)
        h, w = img.shape[:2]
        r = min(imgsz / w, imgsz / h)
        cv2.resize(img, (round(w * r), round(h * r)), interpolation=cv2.INTER_LINEAR)

    def cv_letterbox(b):
        img = cv2.imdecode(b, cv2.IMREAD_COLOR)
        lb = cv2.cvtColor(letterbox(img, (imgsz, imgsz))[0], cv2.COLOR_BGR2RGB)
        np.ascontiguousarray((lb.astype(np.float32) / 255.0).transpose(2, 0, 1))

    def pil(raw, draft):
        im = Image.open(io.BytesIO(raw))
        if draft:
            im.draft("RGB", (imgsz, imgsz))
        im = im.convert("RGB")
        w, h = im.size
        r = min(imgsz / w, imgsz / h)
        im.resize((round(w * r), round(h * r)), Image.BILINEAR)

    out = {}
    for key, f in [("opencv", lambda raw, arr: cv_resize(arr)), ("opencv_letterbox", lambda raw, arr: cv_letterbox(arr)),
                   ("pillow", lambda raw, arr: pil(raw, False)), ("pillow_draft", lambda raw, arr: pil(raw, True))]:
        total = 0.0
        for raw in files:
            arr = np.frombuffer(raw, np.uint8)
            ts = []
            for _ in range(repeat):
                t = time.perf_counter()
                f(raw, arr)
                ts.append(time.perf_counter() - t)
            total += MEDIAN(ts)
        out[key] = total / len(files) * 1e3
    return out


def prep_peers(folder, imgsz, repeat, rounds):
    files = [open(p, "rb").read() for p in sorted(glob.glob(os.path.join(folder, "**", "*.jpg"), recursive=True))]
    files = [f for f in files if cv2.imdecode(np.frombuffer(f, np.uint8), cv2.IMREAD_COLOR) is not None]
    runs = {"ours": [], "python": []}
    for r in range(rounds):
        for k in (["ours", "python"] if r % 2 == 0 else ["python", "ours"]):
            if k == "ours":
                out = subprocess.run([PREP_TIME, "--imgsz", str(imgsz), "--repeat", str(repeat), folder],
                                     capture_output=True, text=True, check=True).stdout
                runs["ours"].append(json.loads(out))
            else:
                runs["python"].append(python_prep(files, imgsz, repeat))
    med = lambda rs, k: MEDIAN([r[k] for r in rs])  # noqa: E731
    res = {k: med(runs["python"], k) for k in runs["python"][0]}
    for k in ("prep_reduced_ms", "prep_exact_ms", "decode_reduced_ms", "decode_exact_ms"):
        res[k] = med(runs["ours"], k)
    res["files"] = runs["ours"][0]["files"]
    res["megapixels"] = runs["ours"][0]["megapixels"]
    res["reduced_files"] = runs["ours"][0]["reduced_files"]
    return res


def ratio(theirs, ours):
    return f"{theirs / ours:.2f}×"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="nudenet-320n")
    ap.add_argument("--imgsz", type=int, default=640)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=5, help="runs per file in the decode timing")
    ap.add_argument("--skip", nargs="*", default=[], choices=["infer", "prep", "scan", "nms"])
    ap.add_argument("--write-docs", action="store_true")
    a = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "anylabel", "--example", "prep_time",
                    "--example", "nms_time"], cwd=ROOT, check=True)
    model = subprocess.run([ANYLABEL, "models", "path", a.model], capture_output=True, text=True, check=True,
                           env=home_env()).stdout.strip()
    fixtures = os.path.join(ROOT, "fixtures", "images")
    big = os.path.join(ROOT, "target", "tmp", "mp12")
    if len(glob.glob(os.path.join(big, "*.jpg"))) < 40:
        subprocess.run([sys.executable, os.path.join(HERE, "make_12mp.py"), big, "--count", "40"], check=True)
    rows = []  # (what, ours, theirs, ratio, goal)
    if "infer" not in a.skip:
        for label, folder in [("the 50 fixtures", fixtures), ("40 12-megapixel JPEGs", big)]:
            r = infer_peers(a.model, model, folder, a.imgsz, a.rounds)
            print(f"infer, {label}: {r}", file=sys.stderr)
            goal = "≥ 1.1×" if folder == fixtures else "≥ 1.5×"
            rows.append((f"`infer` end to end, {label} (images/s)", f"{r['ours_ips']:.2f}", f"{r['python_ips']:.2f} (Python pipeline)",
                         ratio(r["ours_ips"], r["python_ips"]), goal))
            if folder == fixtures:
                rate, n = model_rate(model, folder, listed(folder), a.imgsz, a.rounds)
                print(f"model alone: {rate:.2f} images/s over {n} images", file=sys.stderr)
                rows.append(("share of the model's own rate, the fixtures (ONNX Runtime alone: "
                             f"{rate:.2f} images/s)", f"{100 * r['ours_ips'] / rate:.0f}%",
                             f"{100 * r['python_ips'] / rate:.0f}% (Python pipeline)", "", "≥ 90%"))
    if "prep" not in a.skip:
        for label, folder in [("12-megapixel JPEGs", big), ("fixture JPEGs", fixtures)]:
            r = prep_peers(folder, a.imgsz, a.repeat, a.rounds)
            print(f"prep, {label}: {r}", file=sys.stderr)
            goal = "≥ 1.5×" if folder == big else ""
            what = f"decode + letterbox to {a.imgsz}, {r['files']} {label} ({r['megapixels']:.2f} MP; ms per image, one thread)"
            rows.append((what, f"{r['prep_reduced_ms']:.1f}", f"{r['opencv']:.1f} (OpenCV imdecode + resize)",
                         ratio(r["opencv"], r["prep_reduced_ms"]), goal))
            rows.append(("", "", f"{r['opencv_letterbox']:.1f} (OpenCV, the whole letterbox)",
                         ratio(r["opencv_letterbox"], r["prep_reduced_ms"]), ""))
            rows.append(("", "", f"{r['pillow']:.1f} (Pillow open + convert + resize)",
                         ratio(r["pillow"], r["prep_reduced_ms"]), ""))
            rows.append(("", "", f"{r['pillow_draft']:.1f} (Pillow, with draft())",
                         ratio(r["pillow_draft"], r["prep_reduced_ms"]), ""))
            if r["reduced_files"]:
                rows.append(("", f"{r['prep_exact_ms']:.1f} (`--exact-decode`)", f"{r['opencv']:.1f} (OpenCV imdecode + resize)",
                             ratio(r["opencv"], r["prep_exact_ms"]), ""))
    if "scan" not in a.skip:
        s = scan_peers.main(["--rounds", "7"] + (["--write-docs"] if a.write_docs else []))
        rows.append((f"`scan`, {s['files']:,} files (ms)", f"{s['ours_ms']:.0f}", f"{s['fd_ms']:.0f} (fd, same extensions)",
                     ratio(s["fd_ms"], s["ours_ms"]), "≥ 1× (no slower)"))
        rows.append(("", "", f"{s['fd_all_ms']:.0f} (fd, no filter)", ratio(s["fd_all_ms"], s["ours_ms"]), ""))
    if "nms" not in a.skip:
        n = nms_peers.main(["--repeat", "7"] + (["--write-docs"] if a.write_docs else []))
        for r in n:
            peers = {"ONNX Runtime": r["ort"], "OpenCV": r["opencv"], "powerboxes": r["powerboxes"], "powerboxes R-tree": r["rtree"]}
            best = min(peers, key=peers.get)
            rows.append((f"NMS, {r['n']:,} boxes (ms)", f"{r['anylabel']:.3f}", f"{peers[best]:.3f} ({best}, the fastest peer)",
                         ratio(peers[best], r["anylabel"]), ""))
    lines = ["| what | anylabel | peer | peer / anylabel (higher: anylabel faster) | goal |",
             "| --- | --- | --- | --- | --- |"]
    lines += [f"| {w} | {o} | {t} | {x} | {g} |" for w, o, t, x, g in rows]
    table = "\n".join(lines)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
    machine = (f"{cpu}, {os.cpu_count()} CPUs; ONNX Runtime {ort.__version__} (both), OpenCV {cv2.__version__}, "
               f"Pillow {Image.__version__}; model {a.model} at {a.imgsz}")
    print(table)
    print(machine)
    if a.write_docs:
        write_block("peers", (f"{table}\n\nOne run on {machine}; infer: medians of {a.rounds} interleaved rounds of whole "
                 f"processes; decoding: per-file medians of {a.repeat} runs, medians of {a.rounds} rounds; "
                 f"`target/test-python/bin/python bench/peers.py {' '.join(sys.argv[1:])}`, {time.strftime('%Y-%m-%d')}."))


if __name__ == "__main__":
    main()
