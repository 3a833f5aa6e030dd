// The parts of the ZIP format (with ZIP64) that NPZ files need: local headers, the central
// directory, and reading a central directory back. Members are deflated (8) or stored (0).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/fs_util.hpp"

namespace ohlc::storage::zip {

struct Entry {
  std::string name;
  uint16_t method = 8;
  uint32_t crc = 0;
  uint64_t compressed = 0;
  uint64_t uncompressed = 0;
  uint64_t header_offset = 0;  // of the local header
  bool zip64_local = false;    // the local header carries a ZIP64 sizes record
  uint64_t data_offset = 0;    // reading only: where the member data starts
};

// Size of a local header for `name` (with or without the ZIP64 sizes record).
size_t local_header_size(const std::string& name, bool zip64);
std::vector<uint8_t> local_header(const Entry& e, uint32_t dos_time);
// Central directory, ZIP64 end records where needed, and the end record.
std::vector<uint8_t> central_directory(const std::vector<Entry>& entries, uint64_t offset, uint32_t dos_time);
uint32_t dos_time_now();

// Reads the central directory of `file`; throws StorageError naming the file when it is not a
// ZIP archive or is truncated.
std::vector<Entry> read_directory(const File& file);
// Resolves e.data_offset from the member's local header.
void locate_data(const File& file, Entry& e);

}  // namespace ohlc::storage::zip
