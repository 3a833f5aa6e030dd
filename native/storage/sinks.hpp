// One factory per format. Every sink writes under `temp_path` and moves the result to
// `final_path` in finish(); discard() removes whatever it wrote.
#pragma once

#include <memory>
#include <string>

#include "storage/layout.hpp"
#include "storage/sink.hpp"

namespace ohlc::storage {

struct SinkPaths {
  std::string final_path;
  std::string temp_path;
  bool overwrite = false;
};

std::unique_ptr<Sink> make_hdf5_sink(const DatasetLayout& layout, const SinkPaths& paths);
std::unique_ptr<Sink> make_npz_sink(const DatasetLayout& layout, const SinkPaths& paths);
std::unique_ptr<Sink> make_zarr2_sink(const DatasetLayout& layout, const SinkPaths& paths);
std::unique_ptr<Sink> make_zarr3_sink(const DatasetLayout& layout, const SinkPaths& paths);
std::unique_ptr<Sink> make_picture_sink(const DatasetLayout& layout, const SinkPaths& paths);

std::unique_ptr<Sink> make_sink(const DatasetLayout& layout, const SinkPaths& paths);

}  // namespace ohlc::storage
