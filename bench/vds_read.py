"""Random single-image reads through an HDF5 master of virtual datasets against the same images
read from their shard files directly (bench/shards.ts writes both and runs this).

    /usr/bin/python3 bench/vds_read.py MASTER SHARD0 SHARD1 ... [--reads N] [--rounds R]

Prints one JSON line: images/s per way of reading (median of the rounds), with the same random
indices for each; files opened once, outside the timing; page cache warm (one untimed pass first).
"""
import json
import random
import sys
import time

import h5py
import numpy as np


def main() -> None:
    args = [a for a in sys.argv[1:]]
    reads = int(args[args.index("--reads") + 1]) if "--reads" in args else 4000
    rounds = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 3
    files = [a for i, a in enumerate(args) if not a.startswith("--") and (i == 0 or not args[i - 1].startswith("--"))]
    master_path, shard_paths = files[0], files[1:]
    master = h5py.File(master_path, "r")
    shards = [h5py.File(p, "r") for p in shard_paths]
    m_images = master["images"]
    s_images = [s["images"] for s in shards]
    offsets = np.cumsum([0] + [d.shape[0] for d in s_images])
    total = int(offsets[-1])
    assert total == m_images.shape[0], (total, m_images.shape)
    rng = random.Random(11)
    picks = [rng.randrange(total) for _ in range(reads)]
    where = [(int(np.searchsorted(offsets, i, side="right") - 1), i) for i in picks]
    where = [(k, i - int(offsets[k])) for k, i in where]

    def through_master() -> None:
        for i in picks:
            m_images[i]

    def direct() -> None:
        for k, j in where:
            s_images[k][j]

    def fresh_master() -> None:
        # A reader that opens the master per read (a DataLoader worker without a kept handle).
        for i in picks[: max(1, reads // 20)]:
            with h5py.File(master_path, "r") as f:
                f["images"][i]

    def fresh_direct() -> None:
        for k, j in where[: max(1, reads // 20)]:
            with h5py.File(shard_paths[k], "r") as f:
                f["images"][j]

    # Same pixels both ways (a check, untimed), and a warm page cache.
    for i, (k, j) in list(zip(picks, where))[:200]:
        assert np.array_equal(m_images[i], s_images[k][j])
    through_master()
    direct()
    out = {"reads": reads, "rounds": rounds, "images": total, "shards": len(shards), "shape": list(m_images.shape[1:])}
    for name, fn, n in [("direct", direct, reads), ("master", through_master, reads), ("direct_reopened", fresh_direct, max(1, reads // 20)), ("master_reopened", fresh_master, max(1, reads // 20))]:
        rates = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            fn()
            rates.append(n / (time.perf_counter() - t0))
        out[name] = sorted(rates)[len(rates) // 2]
    out["h5py"] = h5py.version.version
    out["hdf5"] = h5py.version.hdf5_version
    print(json.dumps(out))


if __name__ == "__main__":
    main()
