"""`H5Dataset`: a PyTorch Dataset over ohlc-native HDF5 files (docs/DATASET.md)."""

import os

import h5py
import numpy as np

from .files import check_batch_set, check_virtual_sources, decode_attrs, resolve_files

try:
    import torch
    from torch.utils.data import Dataset as _Base
except ImportError:  # the package still imports; H5Dataset says what is missing when used
    torch = None
    _Base = object

SPLITS = {"train": 0, "val": 1, "test": 2}
IMAGE_DTYPES = ("uint8", "float32")


def _split_code(split):
    if split is None:
        return None
    if isinstance(split, str) and split in SPLITS:
        return SPLITS[split]
    if isinstance(split, (int, np.integer)) and not isinstance(split, bool) and int(split) in SPLITS.values():
        return int(split)
    raise ValueError(f"split must be None, 'train', 'val', 'test' or 0, 1, 2 (got {split!r})")


def to_ink(images, layout="ohlc-4px"):
    """Images as float32 with ink 1.0 on a 0.0 background, whatever the layout stores: IMAGE.md's
    0 ink on 1 (`ohlc-4px`), or the paper's 255 (uint8) / 1.0 (float32) ink on 0 (`jkx`)."""
    x = images.float()
    if layout == "jkx":
        return x / 255.0 if images.dtype == torch.uint8 else x
    return 1.0 - x


class H5Dataset(_Base):
    """Images and labels of an ohlc-native HDF5 dataset, one row per item.

    `dataset[i]` is `(image, label)`: `image` a tensor `[1, H, W]` of the file's dtype and values as
    stored (layout `ohlc-4px`: 1 = white background, 0 = ink; layout `jkx`: 0 = black background,
    255 = ink, or 1.0 in float32; `to_ink` makes either ink 1.0 on 0.0), passed through `transform` when
    one is given; `label` a Python int (1 up, 0 not up, -1 unknown), which DataLoader's default
    collate turns into a `torch.long` tensor.

    path:         an `.h5` file (a merged master of virtual datasets included), a batch set's first
                  file `<stem>_00000.h5`, or its stem `<stem>` (or `<stem>.h5`).
    split:        None for every row, or 'train' / 'val' / 'test' (0 / 1 / 2): the rows whose `split`
                  array holds that value.
    horizon:      which label column, by its horizon in bars (5 when `horizons` is [1, 5, 15]);
                  default the first one.
    drop_unknown: leave out rows whose label is -1 (the default).

    Files are opened lazily, once in each process that reads (DataLoader workers each open their
    own); building the index reads only the small arrays (`labels`, `split`, `symbol_index`), never
    `images`, and closes the files again.
    """

    def __init__(self, path, split=None, horizon=None, drop_unknown=True, transform=None):
        if torch is None:
            raise ImportError("H5Dataset needs PyTorch: pip install 'ohlc-native[torch]' (or apt install python3-torch)")
        self.files = resolve_files(path)
        self.transform = transform
        self.split = _split_code(split)
        self._pid = None
        self._handles = {}  # file number -> (h5py.File, its images dataset), in process self._pid

        metas, sizes, labels, splits, symbol_index = [], [], [], [], []
        for path in self.files:
            with h5py.File(path, "r") as f:
                meta = decode_attrs(f.attrs)
                images = f["images"]  # its shape and dtype only
                for name in ("images", "labels", "split", "symbol_index"):
                    if name in f:
                        check_virtual_sources(path, f[name])
                if images.dtype.name not in IMAGE_DTYPES:
                    raise ValueError(f"{path}: images are {images.dtype.name}, expected uint8 or float32")
                sizes.append(images.shape[0])
                metas.append(meta)
                if meta.get("horizons"):
                    if "labels" not in f:
                        raise ValueError(f"{path}: horizons are {meta['horizons']} but there is no labels array")
                    labels.append(f["labels"][()])
                if self.split is not None:
                    if "split" not in f:
                        raise ValueError(
                            f"{path} has no 'split' array (it was built without splits), so split={split!r} "
                            "selects nothing; use split=None, or rebuild with splits on"
                        )
                    splits.append(f["split"][()])
                if "symbol_index" in f:
                    symbol_index.append(f["symbol_index"][()])
        if len(self.files) > 1:
            check_batch_set(self.files, metas)

        self.metadata = metas[0]
        self.horizons = list(self.metadata.get("horizons") or [])
        self.layout = self.metadata.get("layout", "ohlc-4px")
        self.symbols = self.metadata.get("symbols")
        total = sum(sizes)
        self.horizon, all_labels = self._label_column(horizon, drop_unknown, labels, total)

        keep = np.ones(total, dtype=bool)
        if self.split is not None:
            keep &= np.concatenate(splits) == self.split
        if drop_unknown:
            keep &= all_labels != -1
        self.indices = np.flatnonzero(keep)
        self.labels = all_labels[self.indices]
        self.symbol_index = np.concatenate(symbol_index)[self.indices] if len(symbol_index) == len(self.files) else None

        starts = np.concatenate([[0], np.cumsum(sizes)])
        self._file_of = np.searchsorted(starts, self.indices, side="right") - 1
        self._row_in_file = self.indices - starts[self._file_of]

    def _label_column(self, horizon, drop_unknown, labels, total):
        if not self.horizons:
            if horizon is not None:
                raise ValueError(f"horizon={horizon!r}: this dataset has no labels (its horizons attribute is empty)")
            if drop_unknown:
                raise ValueError(
                    "this dataset has no labels (its horizons attribute is empty), so every row's label is -1 "
                    "and drop_unknown=True would leave none; pass drop_unknown=False to read its images"
                )
            return None, np.full(total, -1, dtype=np.int8)
        if horizon is None:
            horizon = self.horizons[0]
        if isinstance(horizon, bool) or horizon not in self.horizons:
            raise ValueError(
                f"horizon={horizon!r} is not one of this dataset's horizons {self.horizons} "
                "(a horizon is a number of bars ahead, not a column number)"
            )
        column = self.horizons.index(horizon)
        return self.horizons[column], np.concatenate([block[:, column] for block in labels])

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, item):
        images = self._images(self._file_of[item])
        image = torch.from_numpy(images[self._row_in_file[item]][None])
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[item])

    def _images(self, file_number):
        """The `images` dataset of one file, opened in this process on first use."""
        if self._pid != os.getpid():
            # Handles made in another process (before a fork) are not ours to use: drop them.
            self._handles = {}
            self._pid = os.getpid()
        handle = self._handles.get(file_number)
        if handle is None:
            f = h5py.File(self.files[file_number], "r")
            handle = self._handles[file_number] = (f, f["images"])
        return handle[1]

    def close(self):
        """Closes the files this process opened (they reopen on the next read)."""
        if self._pid == os.getpid():
            for f, _ in self._handles.values():
                f.close()
        self._handles = {}

    def __getstate__(self):
        # Pickled for spawned DataLoader workers: never carry an h5py handle across.
        state = self.__dict__.copy()
        state["_handles"] = {}
        state["_pid"] = None
        return state
