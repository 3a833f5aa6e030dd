#include "storage/sinks.hpp"

namespace ohlc::storage {

std::unique_ptr<Sink> make_sink(const DatasetLayout& layout, const SinkPaths& paths) {
  switch (layout.format) {
    case Format::kHdf5: return make_hdf5_sink(layout, paths);
    case Format::kNpz: return make_npz_sink(layout, paths);
    case Format::kZarr: return layout.zarr_format == 2 ? make_zarr2_sink(layout, paths) : make_zarr3_sink(layout, paths);
    case Format::kPng:
    case Format::kJpeg: return make_picture_sink(layout, paths);
  }
  throw StorageError("unknown format");
}

}  // namespace ohlc::storage
