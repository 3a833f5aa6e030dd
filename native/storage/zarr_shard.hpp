// One shard file of Zarr format 3's sharding_indexed codec, written front to back: the encoded
// inner chunks one after another, then the index (docs/DATASET.md): for each inner chunk in C
// order an (offset, nbytes) pair of little-endian uint64, both 2^64 - 1 for a chunk never
// written, followed by the CRC-32C of those pairs (the index codecs bytes + crc32c). The file is
// built under a hidden temporary name beside its key and renamed to the key when complete, so a
// key always names a whole shard.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/fs_util.hpp"

namespace ohlc::storage {

class ShardFile {
 public:
  // A shard of `slots` inner chunks, to be stored at `key_path` (its folder must exist).
  ShardFile(std::string key_path, uint64_t slots);
  ~ShardFile();
  ShardFile(const ShardFile&) = delete;
  ShardFile& operator=(const ShardFile&) = delete;

  // Appends inner chunk `slot` (each slot at most once).
  void add(uint64_t slot, const std::vector<uint8_t>& encoded);
  // Writes the index and renames the file to its key.
  void finish();

 private:
  std::string key_path_;
  std::string temp_path_;
  File file_;
  std::vector<uint64_t> index_;  // offset, nbytes per slot
  uint64_t size_ = 0;
  bool done_ = false;
};

}  // namespace ohlc::storage
