"""Python readers for ohlc-native datasets (docs/DATASET.md)."""

from .dataset import H5Dataset, to_ink
from .files import decode_attrs, resolve_files

__all__ = ["H5Dataset", "decode_attrs", "resolve_files", "to_ink"]
__version__ = "0.1.0"
