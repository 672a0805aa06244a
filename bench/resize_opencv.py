"""Times cv2.resize(INTER_LINEAR) on one thread, for comparison with
`cargo run --release --example resize_check -- --bench SW SH DW DH 1000`.

    python bench/resize_opencv.py            # needs opencv-python-headless and numpy
"""
import time

import cv2
import numpy as np

cv2.setNumThreads(1)
rng = np.random.default_rng(0)
for sw, sh, dw, dh in [(1005, 1300, 492, 640), (1920, 1080, 640, 360), (4000, 3000, 640, 480)]:
    src = rng.integers(0, 256, (sh, sw, 3), dtype=np.uint8)
    for _ in range(20):
        cv2.resize(src, (dw, dh), interpolation=cv2.INTER_LINEAR)
    times = []
    for _ in range(1000):
        t = time.perf_counter()
        cv2.resize(src, (dw, dh), interpolation=cv2.INTER_LINEAR)
        times.append(time.perf_counter() - t)
    times.sort()
    print(f"cv2 {sw}x{sh} -> {dw}x{dh}: median {times[500] * 1e3:.3f} ms, min {times[0] * 1e3:.3f} ms")
