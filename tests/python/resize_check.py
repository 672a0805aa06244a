"""Checks anylabel's bilinear resize (src/resize.rs) against cv2.resize(INTER_LINEAR), bit for bit.

    cargo build --release --example resize_check
    /tmp/pyv2/bin/python tests/python/resize_check.py [--random 300] [--seed 1] [--bin PATH]

Sources: uniform noise, smooth gradients, and the real photos under fixtures/images (decoded
with cv2, as the reference pipeline does), cropped to each case's source size. Size pairs:
a fixed list (exact 2x downscales, tiny images, odd widths, widths that are and are not
multiples of 16/32, letterbox targets) plus random downscales (0.1-0.99), upscales (1.01-5x)
and non-uniform x/y factors. The example binary resizes every case in one batch; the script
reports, per case that differs, the number of differing pixels and the largest difference.
Everything is run twice: with the SIMD kernels and with the portable code (--portable).
Exit status 0 only when every case is identical in both runs.
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

FIXED_PAIRS = [
    # letterbox-typical
    ((1920, 1080), (640, 360)),
    ((1005, 1300), (492, 640)),
    ((142, 181), (502, 640)),
    ((4000, 3000), (640, 480)),
    ((3024, 4032), (480, 640)),
    ((1280, 720), (640, 360)),   # exact 0.5 (INTER_AREA fast path)
    ((640, 480), (320, 240)),    # exact 0.5
    ((7, 5), (3, 2)),            # not 0.5 in y... 5 -> 2
    ((6, 4), (3, 2)),            # exact 0.5, tiny
    ((2, 2), (1, 1)),            # exact 0.5, smallest
    ((1280, 720), (640, 361)),   # 0.5 in x only
    ((1280, 721), (640, 360)),   # almost 0.5
    ((640, 480), (1280, 960)),   # exact 2x up
    ((640, 480), (640, 480)),    # identity
    ((640, 480), (640, 240)),    # y only
    ((640, 480), (320, 480)),    # x only
    # tiny
    ((1, 1), (1, 1)),
    ((1, 1), (5, 7)),
    ((1, 7), (3, 2)),
    ((7, 1), (2, 3)),
    ((2, 3), (5, 9)),
    ((2, 3), (1, 1)),
    ((3, 2), (1, 1)),
    ((5, 5), (1, 1)),
    ((300, 200), (1, 1)),
    ((300, 200), (1, 50)),
    ((300, 200), (50, 1)),
    ((1, 300), (1, 17)),
    ((300, 1), (17, 1)),
    ((2, 1), (4, 1)),
    ((2, 2), (3, 3)),
    ((3, 3), (2, 2)),
    # widths around vector sizes (dst width * 3 bytes vs 16/32-byte vectors)
    ((100, 80), (16, 16)),
    ((100, 80), (32, 20)),
    ((100, 80), (15, 21)),
    ((100, 80), (17, 21)),
    ((100, 80), (31, 21)),
    ((100, 80), (33, 21)),
    ((100, 80), (48, 21)),
    ((100, 80), (63, 21)),
    ((100, 80), (64, 21)),
    ((100, 80), (65, 21)),
    ((20, 20), (5, 6)),
    ((20, 20), (6, 5)),
    ((20, 20), (11, 3)),
    ((33, 17), (128, 64)),
    ((33, 17), (129, 65)),
    ((513, 257), (255, 127)),
    ((1000, 1000), (333, 333)),
    ((999, 777), (640, 498)),
    ((640, 640), (639, 639)),
    ((640, 640), (641, 641)),
    ((481, 640), (640, 851)),
]


def random_pairs(rng, n):
    pairs = []
    for i in range(n):
        kind = i % 4
        sw, sh = int(rng.integers(1, 1600)), int(rng.integers(1, 1600))
        if kind == 0:    # downscale 0.1-0.99, same factor both ways
            f = rng.uniform(0.1, 0.99)
            fx = fy = f
        elif kind == 1:  # upscale 1.01-5x
            sw, sh = int(rng.integers(1, 400)), int(rng.integers(1, 400))
            f = rng.uniform(1.01, 5.0)
            fx = fy = f
        elif kind == 2:  # independent factors
            fx, fy = rng.uniform(0.1, 3.0), rng.uniform(0.1, 3.0)
            sw, sh = int(rng.integers(1, 800)), int(rng.integers(1, 800))
        else:            # letterbox: longest side to 640 (or 320/1280)
            target = int(rng.choice([320, 640, 1280]))
            r = min(target / sw, target / sh)
            fx = fy = r
        dw, dh = max(1, int(round(sw * fx))), max(1, int(round(sh * fy)))
        pairs.append(((sw, sh), (dw, dh)))
    return pairs


def load_photos():
    photos = []
    for path in sorted(glob.glob(os.path.join(ROOT, "fixtures", "images", "*", "*.jpg"))):
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is not None:
            photos.append((os.path.relpath(path, ROOT), img))
    return photos


def make_source(kind, sw, sh, rng, photos, index):
    if kind == "noise":
        return rng.integers(0, 256, (sh, sw, 3), dtype=np.uint8), "noise"
    if kind == "gradient":
        y, x = np.mgrid[0:sh, 0:sw].astype(np.float64)
        a = rng.uniform(0.5, 3.0, 3)
        img = np.stack([
            255 * x / max(sw - 1, 1),
            255 * y / max(sh - 1, 1),
            127.5 + 127.5 * np.sin(a[2] * (x + y) / max(sw, sh, 1) * np.pi + a[0]),
        ], axis=-1)
        return np.clip(np.rint(img), 0, 255).astype(np.uint8), "gradient"
    name, photo = photos[index % len(photos)]
    ph, pw = photo.shape[:2]
    if pw < sw or ph < sh:  # tile a small photo up to the size needed
        photo = np.tile(photo, (-(-sh // ph), -(-sw // pw), 1))
        ph, pw = photo.shape[:2]
    x0 = int(rng.integers(0, pw - sw + 1))
    y0 = int(rng.integers(0, ph - sh + 1))
    return np.ascontiguousarray(photo[y0:y0 + sh, x0:x0 + sw]), name


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "examples", "resize_check"))
    ap.add_argument("--random", type=int, default=300, help="number of random size pairs")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    a = ap.parse_args()

    rng = np.random.default_rng(a.seed)
    photos = load_photos()
    cases = []
    # every fixed pair with every kind of source; random pairs round-robin over the kinds
    for i, (s, d) in enumerate(FIXED_PAIRS):
        for kind in ("noise", "gradient", "photo"):
            cases.append((kind, s, d, i))
    kinds = ("noise", "gradient", "photo")
    for i, (s, d) in enumerate(random_pairs(rng, a.random)):
        cases.append((kinds[i % 3], s, d, i))
    # whole photos (no crop) to the letterbox size, as the pipeline does
    whole = []
    for name, photo in photos:
        ph, pw = photo.shape[:2]
        r = min(640 / ph, 640 / pw)
        whole.append((name, photo, (max(1, int(round(pw * r))), max(1, int(round(ph * r))))))

    tmp = tempfile.mkdtemp(prefix="resize_check_")
    manifest, expected, labels = [], [], []
    for n, (kind, (sw, sh), (dw, dh), idx) in enumerate(cases):
        img, src_name = make_source(kind, sw, sh, rng, photos, idx)
        manifest_entry(tmp, n, img, (dw, dh), manifest, expected)
        labels.append(f"{src_name} {sw}x{sh}->{dw}x{dh}")
    for name, photo, (dw, dh) in whole:
        n = len(labels)
        manifest_entry(tmp, n, photo, (dw, dh), manifest, expected)
        labels.append(f"{name} (whole) {photo.shape[1]}x{photo.shape[0]}->{dw}x{dh}")

    mpath = os.path.join(tmp, "manifest.txt")
    with open(mpath, "w") as f:
        f.write("\n".join(manifest) + "\n")
    total, any_bad = len(labels), False
    for variant in ([], ["--portable"]):
        subprocess.run([a.bin] + variant + ["--batch", mpath], check=True)
        bad = 0
        name = "portable" if variant else "simd"
        for n, (label, exp) in enumerate(zip(labels, expected)):
            got = np.fromfile(os.path.join(tmp, f"{n}.out"), dtype=np.uint8).reshape(exp.shape)
            os.remove(os.path.join(tmp, f"{n}.out"))
            if not np.array_equal(got, exp):
                bad += 1
                diff = np.abs(got.astype(np.int16) - exp.astype(np.int16))
                px = int(np.count_nonzero(diff.max(axis=-1)))
                print(f"DIFF [{name}] {label}: {px} of {exp.shape[0] * exp.shape[1]} pixels differ, "
                      f"max {int(diff.max())}")
        any_bad |= bad > 0
        print(f"[{name}] {total} cases, {total - bad} bit-exact, {bad} differ "
              f"({len(FIXED_PAIRS)} fixed pairs x 3 sources, {a.random} random pairs, {len(whole)} whole photos)")
    if not a.keep:
        for name in os.listdir(tmp):
            os.remove(os.path.join(tmp, name))
        os.rmdir(tmp)
    sys.exit(1 if any_bad else 0)


def manifest_entry(tmp, n, img, dsize, manifest, expected):
    sh, sw = img.shape[:2]
    inp, out = os.path.join(tmp, f"{n}.in"), os.path.join(tmp, f"{n}.out")
    np.ascontiguousarray(img).tofile(inp)
    manifest.append(f"{inp} {sw} {sh} {dsize[0]} {dsize[1]} {out}")
    expected.append(cv2.resize(img, dsize, interpolation=cv2.INTER_LINEAR))


if __name__ == "__main__":
    main()
