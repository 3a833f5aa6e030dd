"""Small HDF5 datasets laid out as docs/DATASET.md describes, written here with h5py.

Each image's top row holds its global row number in binary (ink = 0 for a 1 bit), so a test can
tell which row a reader returned.
"""

import json

import h5py
import numpy as np

# A filter id no HDF5 build provides: an `images` array stored with it can be described (shape,
# dtype) but never read, which is how a test proves that a reader left it alone.
UNREADABLE_FILTER = 32123


def image_of(row, height, width, dtype="uint8"):
    image = np.ones((height, width), dtype=dtype)
    bits = [(row >> b) & 1 for b in range(width)]
    image[0] = [0 if bit else 1 for bit in bits]
    return image


def row_of(image):
    """The global row number encoded in an image by `image_of`."""
    top = np.asarray(image).reshape(-1, np.asarray(image).shape[-1])[0]
    return sum(1 << b for b, px in enumerate(top) if px == 0)


def labels_of(rows, horizons):
    """Deterministic labels with some -1: column k of row r is (r + k) % 3 - 1 mapped to -1, 0, 1."""
    rows = np.asarray(rows)
    return (((rows[:, None] + np.arange(len(horizons))[None, :]) % 3) - 1).astype(np.int8)


def write_dataset(
    path,
    n,
    *,
    first_row=0,
    seq_len=5,
    height=8,
    horizons=(1, 5, 15),
    dtype="uint8",
    split=None,
    symbol_index=None,
    symbols=None,
    unreadable_images=False,
    extra_attrs=None,
):
    """Writes `n` rows numbered from `first_row` and returns the labels written ([n, K] int8)."""
    width = 4 * seq_len
    rows = np.arange(first_row, first_row + n)
    labels = labels_of(rows, horizons)
    with h5py.File(path, "w") as f:
        if unreadable_images:
            images = f.create_dataset(
                "images", (n, height, width), dtype, chunks=(1, height, width),
                compression=UNREADABLE_FILTER, allow_unknown_filter=True,
            )
            for i, row in enumerate(rows):
                images.id.write_direct_chunk((i, 0, 0), image_of(row, height, width, dtype).tobytes())
        else:
            images = f.create_dataset(
                "images", (n, height, width), dtype, chunks=(1, height, width), compression="gzip",
                maxshape=(None, height, width),
            )
            images[...] = np.stack([image_of(row, height, width, dtype) for row in rows]) if n else 0
        f.create_dataset("sequences", data=np.random.default_rng(first_row).random((n, seq_len, 4)), compression="gzip")
        f.create_dataset("timestamps", data=(1_704_067_200_000 + 60_000 * rows).astype(np.int64), compression="gzip")
        if horizons:
            f.create_dataset("labels", data=labels, compression="gzip")
            f.create_dataset("returns", data=labels.astype(np.float64) / 100, compression="gzip")
        if split is not None:
            f.create_dataset("split", data=np.asarray(split, dtype=np.uint8), compression="gzip")
        if symbol_index is not None:
            f.create_dataset("symbol_index", data=np.asarray(symbol_index, dtype=np.uint16), compression="gzip")
        attrs = {
            "symbol": "TESTUSDT",
            "interval": "1m",
            "seq_len": np.int64(seq_len),
            "height": np.int64(height),
            "width": np.int64(width),
            "stride": np.int64(1),
            "dtype": dtype,
            "background": np.int64(1),
            "layout": "ohlc-4px",
            "horizons": np.asarray(horizons, dtype=np.int64),
            "generator": "ohlc-native test fixture",
            "config": json.dumps({"image": {"seq_len": seq_len}}),
            "sources": json.dumps([{"name": "TESTUSDT-1m-2024-01.zip", "sha256": "0" * 64}]),
            "skipped": json.dumps({"gap": 0, "invalid_price": 0}),
        }
        if symbols is not None:
            attrs["symbols"] = symbols
        attrs.update(extra_attrs or {})
        for key, value in attrs.items():
            f.attrs[key] = value
    return labels


def write_batch_set(stem, sizes, per_file=None, **options):
    """`<stem>_00000.h5`, ... with the given row counts; `per_file[i]` overrides options of file i.

    Returns the paths and the labels of all files, in order (None when the files' horizons differ).
    """
    paths, labels, first = [], [], 0
    for i, n in enumerate(sizes):
        path = f"{stem}_{i:05d}.h5"
        mine = {**options, **((per_file or {}).get(i, {}))}
        mine["extra_attrs"] = {"batch_index": np.int64(i), "first_index": np.int64(first), **mine.get("extra_attrs", {})}
        labels.append(write_dataset(path, n, first_row=first, **mine))
        paths.append(path)
        first += n
    same_horizons = len({block.shape[1] for block in labels}) == 1
    return paths, np.concatenate(labels) if same_horizons else None


def write_virtual_master(path, shards, names=("images", "labels", "split")):
    """A master file whose arrays are virtual datasets over `shards` (paths relative to the master)."""
    with h5py.File(path, "w") as master:
        first = None
        for name in names:
            sources, total = [], 0
            for shard in shards:
                with h5py.File(shard, "r") as f:
                    if name not in f:
                        break
                    ds = f[name]
                    sources.append((shard, ds.shape, ds.dtype))
                    total += ds.shape[0]
                    if first is None:
                        first = dict(f.attrs)
            else:
                shape = (total,) + sources[0][1][1:]
                layout = h5py.VirtualLayout(shape=shape, dtype=sources[0][2])
                at = 0
                for shard, shard_shape, _ in sources:
                    relative = shard.rsplit("/", 1)[-1]
                    layout[at : at + shard_shape[0]] = h5py.VirtualSource(relative, name, shape=shard_shape)
                    at += shard_shape[0]
                master.create_virtual_dataset(name, layout)
        for key, value in first.items():
            if key not in ("batch_index", "first_index"):
                master.attrs[key] = value
