#!/usr/bin/python3
"""The authors' approach to jkx images, end to end, as a careful Python user would write it:
candles in NumPy arrays -> each batch's scaled prices, moving averages, volumes and rows with
NumPy (vectorised over the batch, in the spec's float64 order: docs/IMAGE-JKX.md) -> Pillow
drawing one image at a time (test/helpers/pillow_jkx.py's draw_image, the same calls the
reference tests compare with) -> np.asarray -> images, prices, volumes, MA values, labels and
returns written to HDF5 with h5py (gzip, one image a chunk, as bench/baseline_numpy_h5py.py does
for the default layout) and the file closed.

  /usr/bin/python3 bench/jkx_pillow.py --candles FILE --count N [--seq-len 20] [--height 64]
      [--batch 1024] [--horizons 5,20] [--same-as OURS.h5]

FILE: open, high, low, close, volume as 5 consecutive float64 columns of equal length (what
bench/jkx.ts writes). Windows start at seq_len, seq_len + 1, ... (the MA over seq_len bars has
its history), volume strip on, MA = seq_len. --same-as: after the clock stops, compare every
image with the `images` of another file (ours, drawn from the same windows).

Prints a table line for people and, last, one JSON line for bench/jkx.ts: images/s for drawing
alone (NumPy arithmetic + Pillow + np.asarray, process CPU time; no file) and end to end (file
created to file closed, wall time and process CPU time), one core (Python runs on one).
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import h5py
import numpy as np
from PIL import __version__ as PIL_VERSION

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "helpers"))
from pillow_jkx import draw_image  # noqa: E402  (the one Pillow drawing of the tests)


def load_candles(path):
    cols = np.fromfile(path, dtype=np.float64)
    n = len(cols) // 5
    return tuple(cols[i * n:(i + 1) * n].copy() for i in range(5))


def geometry(candles, starts, seq_len, height):
    """Pillow rows of a batch of windows (volume strip on, MA over seq_len), as the spec says."""
    o, h, l, c, v = candles
    k = seq_len
    bars = starts[:, None] + np.arange(seq_len)[None, :]
    c0 = c[starts][:, None]
    so, sh, sl = o[bars] / c0, h[bars] / c0, l[bars] / c0
    closes = c[starts[:, None] + np.arange(-(k - 1), seq_len)[None, :]] / c0  # history, then the window
    total = closes[:, 0:seq_len].copy()  # MA[t] = closes[t] + ... + closes[t + k - 1], left to right
    for q in range(1, k):
        total = total + closes[:, q:q + seq_len]
    ma = total / k
    sc = closes[:, k - 1:]
    lo = np.minimum.reduce([so.min(1), sh.min(1), sl.min(1), sc.min(1), ma.min(1)])[:, None]
    hi = np.maximum.reduce([so.max(1), sh.max(1), sl.max(1), sc.max(1), ma.max(1)])[:, None]
    vol = v[bars]
    prices = np.stack([o[bars], h[bars], l[bars], c[bars]], axis=2)
    history = c[starts[:, None] + np.arange(-(k - 1), 0)[None, :]]
    usable = (np.isfinite(prices) & (prices > 0)).all(axis=(1, 2)) & (np.isfinite(history) & (history > 0)).all(1)
    usable &= (np.isfinite(vol) & (vol >= 0)).all(1)
    drawable = usable & np.isfinite(hi[:, 0]) & (hi[:, 0] != lo[:, 0])
    hv = height // 5
    hp = height - hv - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        ppu = (hp - 1.0) / (hi - lo)

        def rows(p):  # round half to even, then Pillow's row from the top
            return (hp - 1 - np.rint((p - lo) * ppu)).astype(np.int64)

        vmax = vol.max(1)
        raw = vol * (hv / vmax)[:, None]
        pixels = np.where(np.isnan(raw), 0, np.where(np.isinf(raw), hv, np.minimum(np.rint(raw), hv))).astype(np.int64)
    return {
        "low": rows(sl), "high": rows(sh), "open": rows(so), "close": rows(sc), "ma_rows": rows(ma),
        "volume": pixels, "vmax": vmax, "drawable": drawable,
        "sequences": prices, "volumes": vol, "ma": ma,
    }


def draw_batch(g, height, out):
    """Pillow, one image at a time, into out[i] (np.asarray of each image)."""
    for i in range(len(out)):
        if not g["drawable"][i]:
            out[i] = 0
            continue
        volume = g["volume"][i].tolist() if g["vmax"][i] != 0 else None
        im = draw_image(height, g["low"][i].tolist(), g["high"][i].tolist(), g["open"][i].tolist(),
                        g["close"][i].tolist(), g["ma_rows"][i].tolist(), volume)
        out[i] = np.asarray(im)


def labels_for(c, starts, seq_len, horizons):
    e = starts + seq_len - 1
    labels = np.full((len(starts), len(horizons)), -1, dtype=np.int8)
    returns = np.full((len(starts), len(horizons)), np.nan)
    for j, hz in enumerate(horizons):
        ok = e + hz < len(c)
        r = c[e[ok] + hz] / c[e[ok]] - 1
        returns[ok, j] = r
        labels[ok, j] = (r > 0).astype(np.int8)
    return labels, returns


def draw_only(candles, count, seq_len, height, batch):
    """Images in memory, no file: process CPU seconds."""
    out = np.zeros((batch, height, 3 * seq_len), dtype=np.uint8)
    t = time.process_time()
    for done in range(0, count, batch):
        starts = np.arange(done, min(count, done + batch)) + seq_len
        draw_batch(geometry(candles, starts, seq_len, height), height, out[:len(starts)])
    return time.process_time() - t


def end_to_end(candles, count, seq_len, height, batch, horizons, path):
    """Candles to a closed HDF5 file: wall and process CPU seconds."""
    width = 3 * seq_len
    w0, c0 = time.perf_counter(), time.process_time()
    with h5py.File(path, "w") as f:
        images = f.create_dataset("images", (count, height, width), dtype="u1", chunks=(1, height, width), compression="gzip")
        seqs = f.create_dataset("sequences", (count, seq_len, 4), dtype="f8", compression="gzip")
        ts = f.create_dataset("timestamps", (count,), dtype="i8", compression="gzip")
        vols = f.create_dataset("volumes", (count, seq_len), dtype="f8", compression="gzip")
        mas = f.create_dataset("ma", (count, seq_len), dtype="f8", compression="gzip")
        lab = f.create_dataset("labels", (count, len(horizons)), dtype="i1", compression="gzip")
        ret = f.create_dataset("returns", (count, len(horizons)), dtype="f8", compression="gzip")
        out = np.zeros((batch, height, width), dtype=np.uint8)
        for done in range(0, count, batch):
            starts = np.arange(done, min(count, done + batch)) + seq_len
            end = done + len(starts)
            g = geometry(candles, starts, seq_len, height)
            draw_batch(g, height, out[:len(starts)])
            images[done:end] = out[:len(starts)]
            seqs[done:end] = g["sequences"]
            ts[done:end] = starts
            vols[done:end] = g["volumes"]
            mas[done:end] = g["ma"]
            lab[done:end], ret[done:end] = labels_for(candles[3], starts, seq_len, horizons)
        f.attrs["layout"] = "jkx"
        f.attrs["seq_len"] = seq_len
        f.attrs["height"] = height
    return time.perf_counter() - w0, time.process_time() - c0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--candles", required=True)
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--seq-len", type=int, default=20)
    ap.add_argument("--height", type=int, default=64)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--horizons", default="5,20")
    ap.add_argument("--same-as")
    args = ap.parse_args()
    horizons = [int(h) for h in args.horizons.split(",") if h]
    candles = load_candles(args.candles)
    need = args.count + 2 * args.seq_len + max(horizons, default=0)
    if len(candles[0]) < need:
        sys.exit(f"{args.candles}: {len(candles[0])} candles, need {need}")

    draw_s = draw_only(candles, args.count, args.seq_len, args.height, args.batch)
    tmp = tempfile.mkdtemp(prefix="ohlc-bench-jkx-pillow-")
    try:
        path = os.path.join(tmp, "pillow.h5")
        wall, cpu = end_to_end(candles, args.count, args.seq_len, args.height, args.batch, horizons, path)
        size = os.path.getsize(path)
        same = None
        if args.same_as:
            with h5py.File(path, "r") as mine, h5py.File(args.same_as, "r") as ours:
                same = bool(np.array_equal(mine["images"][:], ours["images"][:]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"# NumPy {np.__version__}, Pillow {PIL_VERSION}, h5py {h5py.__version__}: {args.count} windows of "
          f"{args.seq_len}x{args.height}, volume, MA {args.seq_len}, batches of {args.batch}; draw {args.count / draw_s:,.0f} images/s, "
          f"end to end {args.count / wall:,.0f} images/s ({cpu / wall:.2f} cores), {size / args.count:,.0f} bytes/image"
          + ("" if same is None else f", images {'equal to' if same else 'DIFFERENT from'} {args.same_as}"), file=sys.stderr)
    print(json.dumps({"count": args.count, "draw_s": draw_s, "end_to_end_s": wall, "end_to_end_cpu_s": cpu,
                      "bytes": size, "same": same, "pillow": PIL_VERSION}))


if __name__ == "__main__":
    main()
