"""Peak memory of `anylabel infer` at 10,000 and 100,000 images: it must stay flat.

Writes N tiny distinct PNGs (24×16, the index in their pixels, so each has its own content
hash) under target/tmp/rss-N once, then runs `anylabel infer` over them with a small test
model (tests/models/yolov5_head.onnx at --imgsz 64: the model costs next to nothing, so
what is measured is anylabel's own memory: the walk, the queues, the cache, the writer)
and reads the peak RSS from GNU time. The result cache is on (a fresh one per run), as a
user runs it.

    cargo build --release
    python3 bench/peak_rss.py [--sizes 10000 100000] [--write-docs]
"""
import argparse
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from docs_block import write_block  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def png(w, h, seed):
    rows = b""
    for y in range(h):
        row = bytearray([0])
        for x in range(w):
            v = (seed >> ((x + y) % 24)) & 0xFF
            row += bytes([v, (x * 9 + seed) & 0xFF, (y * 13) & 0xFF])
        rows += bytes(row)

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b""))


def make(n):
    d = os.path.join(ROOT, "target", "tmp", f"rss-{n}")
    stamp = os.path.join(d, ".complete")
    if os.path.exists(stamp):
        return d
    os.makedirs(d, exist_ok=True)
    for i in range(n):
        sub = os.path.join(d, f"{i // 1000:04}")
        if i % 1000 == 0:
            os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, f"{i:07}.png"), "wb") as f:
            f.write(png(24, 16, i * 2654435761 & 0xFFFFFFFF))
    open(stamp, "w").close()
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--write-docs", action="store_true")
    a = ap.parse_args()
    anylabel = os.path.join(ROOT, "target", "release", "anylabel")
    model = os.path.join(ROOT, "tests", "models", "yolov5_head.onnx")
    rows = []
    for n in a.sizes:
        d = make(n)
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "out.jsonl")
            env = dict(os.environ, ANYLABEL_CACHE=os.path.join(tmp, "cache.db"))
            t = time.perf_counter()
            r = subprocess.run(["/usr/bin/time", "-f", "%M", anylabel, "infer", d, "--model", model,
                                "--imgsz", "64", "-q", "-o", out], env=env, capture_output=True, text=True)
            elapsed = time.perf_counter() - t
            if r.returncode != 0:
                sys.exit(f"anylabel infer failed on {n} images: {r.stderr}")
            peak_kb = int(r.stderr.strip().splitlines()[-1])
            lines = sum(1 for _ in open(out))
            assert lines == n, f"{lines} records for {n} images"
            rows.append((n, peak_kb / 1024, elapsed))
            print(f"{n:>9,} images: peak RSS {peak_kb / 1024:.1f} MB, {elapsed:.1f} s, {n / elapsed:.0f} images/s", flush=True)
    base = rows[0][1]
    table = "\n".join(["| images | peak RSS | vs the smallest run | time |", "| --- | --- | --- | --- |"] +
                      [f"| {n:,} | {mb:.1f} MB | {100 * (mb / base - 1):+.1f}% | {s:.1f} s |" for n, mb, s in rows])
    print(table)
    if a.write_docs:
        write_block("peak-rss", (f"{table}\n\n`python3 bench/peak_rss.py {' '.join(sys.argv[1:])}`, "
                 f"{os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}."))


if __name__ == "__main__":
    main()
