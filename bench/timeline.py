#!/usr/bin/env python3
"""Where a run's time went, from the timed lines of `-vv` (or RUST_LOG=anylabel::pipeline=trace):

    RUST_LOG=anylabel::pipeline=trace,anylabel::gpu=trace \
        anylabel bench infer --images DIR --backend cuda --batch 32 2> timeline.txt
    python3 bench/timeline.py timeline.txt

Each line reads `trace: SECONDS THREAD [TARGET] message`. For each pipeline run in the file
(a `run:` line starts one) it prints the run's length; the decode threads' images and their
summed decoding time; when the first batch was in hand and the first and last model runs
ended; the model's runs (their sum, median, and the time they waited for the GPU
letterbox); and, per 100 ms, how many decode threads were decoding and what share of the
time the model was running. A model busy all the time is the limit; decode threads busy
all the time are; neither means the hand-over between them is.
"""
import re
import statistics
import sys

LINE = re.compile(r"\w+: (\d+\.\d+) (\S+) \[(\S+)\] (.*)")
RAN = re.compile(r"batch ran in ([\d.]+) ms, ([\d.]+)")
DECODED = re.compile(r"decoded in ([\d.]+) ms")


def runs(lines):
    """The events of each run, as (seconds, thread, target, message)."""
    out, cur = [], None
    for line in lines:
        m = LINE.match(line)
        if not m:
            continue
        t, thread, target, msg = float(m.group(1)), m.group(2), m.group(3), m.group(4)
        if msg.startswith("run: ") and "decode threads" in msg:
            cur = []
            out.append(cur)
        if cur is not None:
            cur.append((t, thread, target, msg))
    return out


def busy(intervals, start, end, width=0.1):
    """How much of each `width`-second window the intervals cover (summed over them)."""
    n = int((end - start) / width) + 1
    windows = [0.0] * n
    for a, b in intervals:
        first, last = int((a - start) / width), int((b - start) / width)
        for k in range(max(first, 0), min(last, n - 1) + 1):
            lo = start + k * width
            windows[k] += max(0.0, min(b, lo + width) - max(a, lo))
    return [w / width for w in windows]


def report(events):
    t0 = events[0][0]
    done = [t for t, _, _, m in events if m.startswith("run: done")]
    end = done[0] if done else events[-1][0]
    decodes = [(t, float(DECODED.search(m).group(1))) for t, _, g, m in events
               if g.endswith("::decode") and DECODED.search(m)]
    ran = [(t, float(r.group(1)), float(r.group(2))) for t, _, _, m in events
           if (r := RAN.search(m))]
    in_hand = [t for t, _, _, m in events if "images in hand" in m]
    ms = lambda t: f"+{(t - t0) * 1e3:.1f} ms"  # noqa: E731
    print(f"run of {end - t0:.3f} s")
    if decodes:
        total = sum(d for _, d in decodes)
        print(f"  {len(decodes)} images decoded on the CPU, {total / 1e3:.2f} s summed, "
              f"{total / len(decodes):.2f} ms each")
    if in_hand:
        print(f"  first batch in hand {ms(in_hand[0])}")
    if ran:
        times = [r[1] for r in ran]
        print(f"  {len(ran)} model runs: first ended {ms(ran[0][0])}, last {ms(ran[-1][0])}; "
              f"{sum(times):.1f} ms summed, median {statistics.median(times):.2f} ms, "
              f"{sum(r[2] for r in ran):.1f} ms of it waiting for the GPU letterbox")
    dec = busy([(t - d / 1e3, t) for t, d in decodes], t0, end)
    model = busy([(t - d / 1e3, t) for t, d, _ in ran], t0, end)
    print("  decode threads decoding, per 100 ms: " + " ".join(f"{x:.1f}" for x in dec))
    print("  model running, share per 100 ms:     " + " ".join(f"{x:.2f}" for x in model))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
        found = runs(f.read().splitlines())
    if not found:
        sys.exit(f"{sys.argv[1]}: no timed `run:` line (run with RUST_LOG=anylabel::pipeline=trace)")
    for i, events in enumerate(found, 1):
        print(f"run {i}: ", end="")
        report(events)


if __name__ == "__main__":
    main()
