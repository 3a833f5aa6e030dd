#!/usr/bin/env python3
"""Read rate of ohlc_native.H5Dataset beside plain h5py reads of the same file.

    /usr/bin/python3 bench/torch_dataset.py [--quick] [--file PATH ...] [--rounds 3] [--batch-size 64]

Builds two fixture files laid out as docs/DATASET.md says (one image per `[1, H, W]` chunk, gzip
level 1, uint8 0/1 charts of random-walk OHLC bars): 20,000 images of 64x60 and 5,000 of 500x400
(`--quick`: a tenth). For each file it times, reading every image once:

- h5py sequential / random: `images[i]` in a loop (`images = f["images"]` opened once), in index
  order and in a random permutation;
- Dataset[i]: `H5Dataset(path, drop_unknown=False)[i]` in the same random order, no DataLoader;
- DataLoader, num_workers 0 / 1 / 2: `DataLoader(dataset, batch_size=64, shuffle=True)` (or
  `--batch-size`), from creating the iterator (worker start-up included) to the last batch; also
  the rate after the first batch arrived and how long that took (start-up).

Each figure is the median of `--rounds` runs. The files were just written, so the page cache is
warm for all rows alike. "other load" is the CPU other processes used during the run, in cores (from
/proc/stat minus this process and its reaped workers). Each run waits (up to a minute) for a
second in which other processes used at most 0.15 of a core; a run during which they used more is
repeated, up to 4 times in all, and the figure keeps the load it had.
"""

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time

import h5py
import numpy as np
import torch
from torch.utils.data import DataLoader

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from ohlc_native import H5Dataset  # noqa: E402

MAX_OTHER_LOAD = 0.15
ATTEMPTS = 4


def chart(rng, seq_len, height):
    """One ohlc-4px-like chart: per bar an open tick, a high-low line, a close tick, a gap column."""
    steps = rng.normal(0, 1, (seq_len, 4)).cumsum(axis=0).ravel()
    ohlc = steps.reshape(seq_len, 4)
    low, high = ohlc.min(axis=1), ohlc.max(axis=1)
    lo, hi = low.min(), high.max()
    scale = (height - 1) / (hi - lo if hi > lo else 1.0)
    rows = lambda v: (height - 1 - np.round((v - lo) * scale)).astype(int)  # noqa: E731
    image = np.ones((height, 4 * seq_len), dtype=np.uint8)
    y = np.arange(height)[:, None]
    line = (y >= rows(high)[None, :]) & (y <= rows(low)[None, :])
    image[:, 1::4][line] = 0
    bars = np.arange(seq_len)
    image[rows(ohlc[:, 0]), 4 * bars] = 0
    image[rows(ohlc[:, 3]), 4 * bars + 2] = 0
    return image


def write_fixture(path, count, seq_len, height, seed=0):
    rng = np.random.default_rng(seed)
    width = 4 * seq_len
    with h5py.File(path, "w") as f:
        images = f.create_dataset("images", (count, height, width), np.uint8, chunks=(1, height, width),
                                  compression="gzip", compression_opts=1)
        for start in range(0, count, 256):
            stop = min(count, start + 256)
            images[start:stop] = np.stack([chart(rng, seq_len, height) for _ in range(start, stop)])
        labels = rng.integers(-1, 2, (count, 1)).astype(np.int8)
        f.create_dataset("labels", data=labels, compression="gzip")
        f.create_dataset("timestamps", data=np.arange(count, dtype=np.int64) * 60_000, compression="gzip")
        for key, value in {"seq_len": seq_len, "height": height, "width": width}.items():
            f.attrs[key] = np.int64(value)
        f.attrs["dtype"] = "uint8"
        f.attrs["layout"] = "ohlc-4px"
        f.attrs["horizons"] = np.asarray([5], dtype=np.int64)


def busy_jiffies():
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields[:8]) - idle


def own_cpu_seconds():
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def measured(run):
    """One run of `run()`, which returns (images read, images in the first batch, when it came):
    images/s over the whole run, images/s after the first batch, first batch's wait in s, and
    the other load in cores."""
    tick = os.sysconf("SC_CLK_TCK")
    busy0, cpu0, t0 = busy_jiffies(), own_cpu_seconds(), time.perf_counter()
    count, first_count, first_at = run()
    end = time.perf_counter()
    other = ((busy_jiffies() - busy0) / tick - (own_cpu_seconds() - cpu0)) / (end - t0)
    after_first = (count - first_count) / (end - first_at) if first_at else count / (end - t0)
    return count / (end - t0), after_first, (first_at - t0) if first_at else None, max(0.0, other)


def wait_for_quiet(max_wait=60):
    """Waits (up to max_wait s) until other processes use at most MAX_OTHER_LOAD cores for 1 s."""
    tick, deadline = os.sysconf("SC_CLK_TCK"), time.monotonic() + max_wait
    while time.monotonic() < deadline:
        busy0 = busy_jiffies()
        time.sleep(1.0)
        if (busy_jiffies() - busy0) / tick <= MAX_OTHER_LOAD:
            return


def quiet_run(run):
    for _ in range(ATTEMPTS):
        wait_for_quiet()
        result = measured(run)
        if result[-1] <= MAX_OTHER_LOAD:
            break
    return result


def h5py_loop(path, order):
    def run():
        with h5py.File(path, "r") as f:
            images = f["images"]
            for i in order:
                images[i]
        return len(order), 0, None
    return run


def dataset_loop(path, order):
    def run():
        ds = H5Dataset(path, drop_unknown=False)
        for i in order:
            ds[i]
        ds.close()
        return len(order), 0, None
    return run


def loader_run(path, workers, batch_size):
    def run():
        ds = H5Dataset(path, drop_unknown=False)
        loader = DataLoader(ds, batch_size=batch_size, shuffle=True, num_workers=workers)
        seen, first = 0, None
        for images, _ in loader:
            if first is None:
                first = (len(images), time.perf_counter())
            seen += len(images)
        del loader  # joins the workers, so their CPU time is counted
        return (seen, *first)
    return run


def bench_file(path, rounds, batch_size):
    with h5py.File(path, "r") as f:
        count, height, width = f["images"].shape
        stored = f["images"].id.get_storage_size()
    order = np.random.default_rng(1).permutation(count)
    cases = [
        ("h5py images[i], sequential", h5py_loop(path, np.arange(count))),
        ("h5py images[i], random", h5py_loop(path, order)),
        ("Dataset[i], random", dataset_loop(path, order)),
    ] + [(f"DataLoader, num_workers {w}", loader_run(path, w, batch_size)) for w in (0, 1, 2)]
    rows = []
    for name, run in cases:
        results = [quiet_run(run) for _ in range(rounds)]
        rates = [r[0] for r in results]
        firsts = [r[2] for r in results if r[2] is not None]
        rows.append((
            name, statistics.median(rates), min(rates), max(rates), statistics.median(r[1] for r in results),
            statistics.median(firsts) if firsts else None, max(r[3] for r in results),
        ))
    return {"path": path, "count": count, "height": height, "width": width, "bytes_per_image": stored / count}, rows


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a tenth of the images (a smoke run)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64, help="DataLoader batch size")
    p.add_argument("--file", action="append", default=[], help="also measure this existing .h5 file")
    args = p.parse_args()

    print(f"machine: {os.cpu_count()} CPUs, {platform.platform()}, load average {os.getloadavg()[0]:.2f}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, h5py {h5py.__version__} "
          f"(HDF5 {h5py.version.hdf5_version}), torch {torch.__version__}")
    scale = 10 if args.quick else 1
    with tempfile.TemporaryDirectory(prefix="ohlc-torch-bench-") as tmp:
        files = []
        for count, seq_len, height in ((20_000, 15, 64), (5_000, 100, 500)):
            path = os.path.join(tmp, f"fixture_{height}x{4 * seq_len}.h5")
            t0 = time.perf_counter()
            write_fixture(path, count // scale, seq_len, height)
            print(f"wrote {path}: {count // scale} images of {height}x{4 * seq_len} in {time.perf_counter() - t0:.1f} s")
            files.append(path)
        summary = []
        for path in files + args.file:
            info, rows = bench_file(path, args.rounds, args.batch_size)
            print(f"\n{os.path.basename(path)}: {info['count']} images of {info['height']}x{info['width']}, "
                  f"{info['bytes_per_image']:.0f} bytes stored per image; DataLoader batches of {args.batch_size}; "
                  f"median of {args.rounds} runs\n")
            print("| read | images/s | min | max | after the first batch | first batch after | other load |")
            print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
            for name, median, low, high, steady, first, other in rows:
                first = f"{first * 1000:.0f} ms" if first is not None else ""
                print(f"| {name} | {median:,.0f} | {low:,.0f} | {high:,.0f} | {steady:,.0f} | {first} | {other:.2f} |")
            keys = ("read", "median", "min", "max", "after_first_batch", "first_batch_s", "other_load")
            summary.append({**info, "rows": [dict(zip(keys, r)) for r in rows]})
    print("\n" + json.dumps(summary))


if __name__ == "__main__":
    main()
