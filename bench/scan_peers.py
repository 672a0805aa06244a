"""`anylabel scan` against `fd` (Debian's fd-find) on the same tree, in one run.

Builds a tree of 200,000 empty image files (200 folders of 1,000, two levels deep, plus
some non-image files) under target/tmp/scan-tree once, then times, interleaved and with a
warm page cache, `anylabel scan TREE` and `fdfind -uu --type f -e <the same extensions>
TREE` and fd with no extension filter, both to /dev/null, and checks they list the same files. fd runs unsorted on all
cores; anylabel sorts. With --write-docs the table goes into docs/performance.md.

    cargo build --release
    python3 bench/scan_peers.py [--files 200000] [--rounds 7] [--write-docs]
"""
import argparse
import os
import platform
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from docs_block import write_block  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXTS = ["jpg", "jpeg", "jpe", "jfif", "png", "webp", "bmp", "gif", "tif", "tiff", "pbm", "pgm",
        "ppm", "pnm", "tga", "heic", "heif", "avif", "jxl"]


def build_tree(path, files):
    stamp = os.path.join(path, ".complete")
    if os.path.exists(stamp) and open(stamp).read() == str(files):
        return
    shutil.rmtree(path, ignore_errors=True)
    per = 1000
    for d in range(files // per):
        sub = os.path.join(path, f"part{d // 20:03}", f"dir{d:04}")
        os.makedirs(sub)
        for i in range(per):
            ext = EXTS[i % 4]
            open(os.path.join(sub, f"img_{i:05}.{ext}"), "wb").close()
        for i in range(20):
            open(os.path.join(sub, f"notes_{i}.txt"), "wb").close()
    open(stamp, "w").write(str(files))


def timed(cmd):
    t = time.perf_counter()
    out = subprocess.run(cmd, stdout=subprocess.PIPE, check=True).stdout
    return time.perf_counter() - t, out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--write-docs", action="store_true")
    a = ap.parse_args(argv)
    fd = shutil.which("fdfind") or shutil.which("fd")
    if not fd:
        sys.exit("fd is not installed: apt-get install fd-find")
    anylabel = os.path.join(ROOT, "target", "release", "anylabel")
    tree = os.path.join(ROOT, "target", "tmp", "scan-tree")
    build_tree(tree, a.files)
    ours_cmd = [anylabel, "scan", tree]
    fd_cmd = [fd, "-uu", "--type", "f"] + [x for e in EXTS for x in ("-e", e)] + [".", tree]
    # fd with no extension filter at all (it then lists the .txt files too): its fastest.
    fd_all_cmd = [fd, "-uu", "--type", "f", ".", tree]
    # Warm the page cache and check both list the same files.
    _, ours_out = timed(ours_cmd)
    _, fd_out = timed(fd_cmd)
    ours_set, fd_set = set(ours_out.split(b"\n")) - {b""}, set(fd_out.split(b"\n")) - {b""}
    same = ours_set == fd_set
    times = {"ours": [], "fd": [], "fd_all": []}
    cmds = {"ours": ours_cmd, "fd": fd_cmd, "fd_all": fd_all_cmd}
    for r in range(a.rounds):
        order = ["ours", "fd", "fd_all"] if r % 2 == 0 else ["fd_all", "fd", "ours"]
        for name in order:
            times[name].append(timed(cmds[name])[0])
    ours_t, fd_t, fd_all_t = times["ours"], times["fd"], times["fd_all"]
    med = lambda v: sorted(v)[len(v) // 2]
    version = subprocess.run([fd, "--version"], capture_output=True, text=True).stdout.strip()
    table = "\n".join([
        "| image files listed | anylabel scan (sorted) | fd, the same 19 extensions (unsorted) | fd, no filter (unsorted, every file) | anylabel / fd | anylabel / fd, no filter | same files |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        f"| {len(ours_set):,} | {med(ours_t) * 1e3:.0f} ms | {med(fd_t) * 1e3:.0f} ms | {med(fd_all_t) * 1e3:.0f} ms | "
        f"{med(ours_t) / med(fd_t):.2f} | {med(ours_t) / med(fd_all_t):.2f} | {'yes' if same else 'NO'} |",
    ])
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {version}"
    print(table)
    print(f"medians of {a.rounds} interleaved rounds, warm page cache; {machine}")
    if a.write_docs:
        write_block("scan-peers", (f"{table}\n\nMedians of {a.rounds} interleaved rounds, warm page cache, on {machine}; "
                 f"`python3 bench/scan_peers.py {' '.join(argv)}`, {time.strftime('%Y-%m-%d')}."))
    if not same:
        print(f"the listings differ: {len(ours_set - fd_set)} only in anylabel's, {len(fd_set - ours_set)} only in fd's",
              file=sys.stderr)
        sys.exit(1)
    return {"files": len(ours_set), "ours_ms": med(ours_t) * 1e3, "fd_ms": med(fd_t) * 1e3,
            "fd_all_ms": med(fd_all_t) * 1e3, "fd_version": version}


if __name__ == "__main__":
    main()
