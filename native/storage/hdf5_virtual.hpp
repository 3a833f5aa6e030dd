// An HDF5 master file over shard files: each dataset of the shards becomes one virtual dataset
// (VDS, libhdf5 >= 1.10) that lays the shards' rows end to end, with no data copied. Readers
// (h5py, h5dump, ...) open the shards through it by the file names stored in the mapping.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "storage/layout.hpp"

namespace ohlc::storage {

struct VirtualSource {
  // Where this process opens the shard now (to read its datasets' types and shapes).
  std::string open_path;
  // The name stored in the mapping: relative to the master's folder, so the folder can move.
  std::string stored_path;
};

struct VirtualResult {
  uint64_t rows = 0;
  std::vector<uint64_t> rows_per_source;
  std::vector<std::string> datasets;
};

// Creates `temp_path` (which must not exist): one VDS per root dataset of the first source, each
// source checked to hold the same datasets with the same element type and row shape, plus the
// root attributes `metadata`. Throws StorageError naming the source and dataset that disagree;
// removes the file on any failure or when `cancel` is set.
VirtualResult write_virtual_hdf5(const std::string& temp_path, const std::vector<VirtualSource>& sources,
                                 const DatasetMetadata& metadata, const std::atomic<bool>* cancel);

}  // namespace ohlc::storage
