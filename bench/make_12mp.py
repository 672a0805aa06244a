#!/usr/bin/env python3
"""Makes 12-megapixel JPEGs (4000×3000) from the fixture photos, for the benchmarks.

Each fixture JPEG is cropped to 4:3, enlarged with bicubic interpolation and given a little
sensor-like noise (a fixed seed), so the files cost to decode what a phone or camera photo
costs (3-5 MB at quality 92, 4:2:0), not what a smooth enlargement would. Encoded by
OpenCV (libjpeg-turbo). The same command always writes the same files.

    target/test-python/bin/python bench/make_12mp.py OUT_DIR [--count 40]
"""
import argparse
import pathlib

import cv2
import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=pathlib.Path)
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--fixtures", type=pathlib.Path, default=pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "images")
    ap.add_argument("--quality", type=int, default=92)
    args = ap.parse_args()
    sources = sorted(p for p in args.fixtures.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
    images = []
    for p in sources:
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is not None and min(img.shape[:2]) >= 200:
            images.append((p, img))
    if not images:
        raise SystemExit(f"no fixture JPEGs under {args.fixtures}")
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(12)
    total = 0
    for i in range(args.count):
        src_path, img = images[i % len(images)]
        h, w = img.shape[:2]
        # Landscape or portrait by the source's own shape; crop to 4:3 (or 3:4).
        W, H = (4000, 3000) if w >= h else (3000, 4000)
        if w * H > h * W:
            cw = h * W // H
            img = img[:, (w - cw) // 2:(w - cw) // 2 + cw]
        else:
            ch = w * H // W
            img = img[(h - ch) // 2:(h - ch) // 2 + ch]
        big = cv2.resize(img, (W, H), interpolation=cv2.INTER_CUBIC)
        noise = rng.normal(0.0, 5.0, size=big.shape).astype(np.float32)
        big = np.clip(big.astype(np.float32) + noise, 0, 255).astype(np.uint8)
        ok, buf = cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, args.quality])
        assert ok
        out = args.out / f"{i:03d}_{src_path.stem}.jpg"
        out.write_bytes(buf.tobytes())
        total += len(buf)
    print(f"wrote {args.count} JPEGs of 12 megapixels to {args.out} ({total / 1e6:.0f} MB, {total / args.count / 1e6:.1f} MB each)")


if __name__ == "__main__":
    main()
