#!/usr/bin/python3
"""The baseline users would otherwise pick (the project's seed design): NumPy draws a batch of
windows at once (vectorised over the batch), h5py writes them with gzip, one image per chunk.

  /usr/bin/python3 bench/baseline_numpy_h5py.py [--count 10000] [--batch 256] [--candles FILE]

Debian's python3-numpy and python3-h5py. Same shape and arrays as bench/storage.ts: seqLen 100,
height 500, images + sequences + timestamps + labels/returns for horizons [1, 5, 15], uint8 and
float32. --candles takes the benchmark's candle series (open, high, low, close, open time as
consecutive float64 columns, as bench/run.ts writes it); without it a random walk with the synthetic sample's
volatility is generated here. The clock runs from creating the file to closing it, as in
storage.ts; a run during which other processes used the CPU is repeated (up to 3 times).
"""
import argparse
import os
import resource
import shutil
import sys
import tempfile
import time

import h5py
import numpy as np

SEQ_LEN = 100
HEIGHT = 500
WIDTH = 4 * SEQ_LEN
HORIZONS = [1, 5, 15]
FOREIGN_LIMIT = 0.15


def machine_busy_s():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = v[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def random_walk(n, seed=1):
    rng = np.random.default_rng(seed)
    sigma = 0.8 * np.sqrt(60_000 / (365.25 * 86_400_000))
    log_close = np.log(40_000) + np.cumsum(sigma * rng.standard_normal(n))
    close = np.exp(log_close)
    open_ = np.concatenate([[40_000.0], close[:-1]])
    high = np.maximum(open_, close) * np.exp(np.abs(rng.standard_normal(n)) * sigma * 0.5)
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.standard_normal(n)) * sigma * 0.5)
    return open_, high, low, close


def draw(o, h, l, c, starts, dtype):
    """docs/IMAGE.md for a batch of windows, vectorised with NumPy."""
    b = len(starts)
    idx = starts[:, None] + np.arange(SEQ_LEN)[None, :]
    po, ph, pl, pc = o[idx], h[idx], l[idx], c[idx]
    prices = np.stack([po, ph, pl, pc], axis=2)
    lo = prices.min(axis=(1, 2))[:, None]
    hi = prices.max(axis=(1, 2))[:, None]
    flat = (hi == lo)[:, 0]
    span = np.where(hi == lo, 1.0, hi - lo)

    def row(p):
        r = np.floor((hi - p) / span * (HEIGHT - 1) + 0.5).astype(np.int64)
        r[flat] = (HEIGHT - 1) // 2
        return r

    rh, rl, ro, rc = row(ph), row(pl), row(po), row(pc)
    top, bottom = np.minimum(rh, rl), np.maximum(rh, rl)
    img = np.ones((b, HEIGHT, WIDTH), dtype=dtype)
    rows = np.arange(HEIGHT)[None, :, None]
    line = (rows >= top[:, None, :]) & (rows <= bottom[:, None, :])
    img[:, :, 0::4][line] = 0
    bi = np.arange(b)[:, None]
    bar = np.arange(SEQ_LEN)[None, :]
    img[bi, ro, 4 * bar + 1] = 0
    img[bi, rc, 4 * bar + 2] = 0
    return img, prices


def labels_for(c, times, starts):
    e = starts + SEQ_LEN - 1
    k = len(HORIZONS)
    labels = np.full((len(starts), k), -1, dtype=np.int8)
    returns = np.full((len(starts), k), np.nan)
    for j, hz in enumerate(HORIZONS):
        ok = e + hz < len(c)
        r = c[e[ok] + hz] / c[e[ok]] - 1
        returns[ok, j] = r
        labels[ok, j] = (r > 0).astype(np.int8)
    return times[e], labels, returns


def run(series, count, batch, dtype, path):
    o, h, l, c, times = series
    t0 = time.perf_counter()
    draw_s = 0.0
    with h5py.File(path, "w") as f:
        images = f.create_dataset("images", (count, HEIGHT, WIDTH), dtype=dtype, chunks=(1, HEIGHT, WIDTH), compression="gzip")
        seqs = f.create_dataset("sequences", (count, SEQ_LEN, 4), dtype="f8", compression="gzip")
        ts = f.create_dataset("timestamps", (count,), dtype="i8", compression="gzip")
        lab = f.create_dataset("labels", (count, len(HORIZONS)), dtype="i1", compression="gzip")
        ret = f.create_dataset("returns", (count, len(HORIZONS)), dtype="f8", compression="gzip")
        for done in range(0, count, batch):
            starts = np.arange(done, min(count, done + batch))
            d0 = time.perf_counter()
            img, prices = draw(o, h, l, c, starts, dtype)
            t_, lb, rt = labels_for(c, times, starts)
            draw_s += time.perf_counter() - d0
            end = done + len(starts)
            images[done:end] = img
            seqs[done:end] = prices
            ts[done:end] = t_
            lab[done:end] = lb
            ret[done:end] = rt
        f.attrs["seq_len"] = SEQ_LEN
        f.attrs["height"] = HEIGHT
    seconds = time.perf_counter() - t0
    return seconds, draw_s, os.path.getsize(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--candles")
    args = ap.parse_args()

    n = args.count + SEQ_LEN - 1 + max(HORIZONS)
    if args.candles:
        cols = np.fromfile(args.candles, dtype=np.float64)
        m = len(cols) // 5
        if m < n:
            sys.exit(f"{args.candles}: {m} candles, need {n}")
        o, h, l, c, t = (cols[i * m:(i + 1) * m].copy() for i in range(5))
        times = t.astype(np.int64)
        source = f"the benchmark's candle series ({m} candles)"
    else:
        o, h, l, c = random_walk(n)
        times = np.datetime64("2024-01-01", "ms").astype(np.int64) + 60_000 * np.arange(len(c), dtype=np.int64)
        source = "a NumPy random walk"
    series = (o, h, l, c, times)

    print(f"# NumPy {np.__version__} + h5py {h5py.__version__} (HDF5 {h5py.version.hdf5_version}), Python {sys.version.split()[0]}: "
          f"seqLen {SEQ_LEN}, height {HEIGHT}, {args.batch} windows per batch, gzip (level 4, h5py's default), one image per chunk; candles: {source}")
    print("| case | images | s | images/s | drawing s (NumPy) | writing s (h5py gzip) | peak RSS MB (process so far) | file MB | bytes/image | other load |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    tmp = tempfile.mkdtemp(prefix="ohlc-bench-numpy-")
    try:
        for dtype in ("uint8", "float32"):
            for attempt in range(4):
                path = os.path.join(tmp, f"{dtype}.h5")
                busy0, own0, wall0 = machine_busy_s(), time.process_time(), time.perf_counter()
                seconds, draw_s, size = run(series, args.count, args.batch, dtype, path)
                wall = time.perf_counter() - wall0
                foreign = max(0.0, (machine_busy_s() - busy0 - (time.process_time() - own0)) / wall)
                os.remove(path)
                if foreign <= FOREIGN_LIMIT or attempt == 3:
                    break
                time.sleep(5)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            rerun = f" ({attempt} re-run)" if attempt else ""
            print(f"| NumPy + h5py gzip, {dtype} | {args.count:,} | {seconds:.2f} | {args.count / seconds:,.0f} | {draw_s:.2f} | {seconds - draw_s:.2f} | "
                  f"{rss / 1e6:.1f} | {size / 1e6:.1f} | {size / args.count:,.0f} | {foreign:.2f}{rerun} |", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
