"""Which HDF5 files a dataset path names, and the checks that they belong together.

Needs only h5py and numpy, so it works where PyTorch is not installed.
"""

import json
import os
import re

import h5py
import numpy as np

# Root attributes that the writer stores as JSON text (ts/storage/metadata.ts).
JSON_ATTRS = ("config", "sources", "skipped")

# Attributes every file of a batch set must agree on; `config_sha256` only where a file has it.
BATCH_KEYS = ("seq_len", "height", "width", "dtype", "horizons", "layout")
OPTIONAL_BATCH_KEYS = ("config_sha256",)

_FIRST_OF_SET = re.compile(r"^(?P<stem>.*)_00000\.h5$")


def resolve_files(path):
    """The files `path` names, in index order.

    - an existing `.h5` file: that file, or its whole batch set when it is named `<stem>_00000.h5`
      (a merged master of virtual datasets is an ordinary file here);
    - `<stem>` or `<stem>.h5` that does not exist, with `<stem>_00000.h5` beside it: the batch set
      `<stem>_00000.h5`, `<stem>_00001.h5`, ... up to the first missing number.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ValueError(f"{path} is a directory; give an .h5 file, a batch set's first file or its stem")
    if os.path.isfile(path):
        match = _FIRST_OF_SET.match(path)
        return _batch_set(match.group("stem")) if match else [path]
    stem = path[: -len(".h5")] if path.endswith(".h5") else path
    if os.path.isfile(f"{stem}_00000.h5"):
        return _batch_set(stem)
    raise FileNotFoundError(f"no dataset at {path} (neither that file nor a batch set {stem}_00000.h5, ...)")


def _batch_set(stem):
    files = []
    while os.path.isfile(f"{stem}_{len(files):05d}.h5"):
        files.append(f"{stem}_{len(files):05d}.h5")
    return files


def plain(value):
    """An attribute value as plain Python: str for text, int/float/bool, lists for arrays."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def decode_attrs(attrs):
    """Root attributes as a dict, with the JSON-text ones (`config`, `sources`, `skipped`) parsed."""
    out = {}
    for key, value in attrs.items():
        value = plain(value)
        if key in JSON_ATTRS and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                pass  # not JSON after all: keep the text
        out[key] = value
    return out


def check_batch_set(files, metadata):
    """Refuses a batch set whose files disagree on what shapes and labels the images.

    `metadata` holds each file's decoded root attributes, in the order of `files`.
    """
    first, reference = files[0], metadata[0]
    for path, meta in zip(files[1:], metadata[1:]):
        for key in BATCH_KEYS + OPTIONAL_BATCH_KEYS:
            if key in OPTIONAL_BATCH_KEYS and key not in reference and key not in meta:
                continue
            mine, theirs = meta.get(key, "<missing>"), reference.get(key, "<missing>")
            if mine != theirs:
                raise ValueError(
                    f"batch set mismatch: {path} has {key}={mine!r} but {first} has {key}={theirs!r}; "
                    "its files were not written by one build"
                )


def check_virtual_sources(path, dataset):
    """Refuses a virtual dataset with a missing source file.

    HDF5 reads the unmapped parts of a virtual dataset as its fill value without any error, so a
    merged master whose shard was moved would otherwise give zero labels and blank images.
    """
    if not dataset.is_virtual:
        return
    here = os.path.dirname(os.path.abspath(path))
    prefix = os.environ.get("HDF5_VDS_PREFIX")
    for source in dataset.virtual_sources():
        name = source.file_name
        if name == ".":  # the master file itself
            continue
        candidates = [name] if os.path.isabs(name) else [os.path.join(here, name), name]
        if prefix and not os.path.isabs(name):
            candidates.insert(0, os.path.join(prefix, name))
        if not any(os.path.isfile(c) for c in candidates):
            raise FileNotFoundError(
                f"{path}: {dataset.name} maps rows to {name}, which is missing "
                f"(looked beside the master file, in {here}); HDF5 would read those rows as fill values"
            )
