// What the two Zarr sinks (format 2: zarr_sink.cpp; format 3: zarr3_sink.cpp) share: JSON lists
// and whole small files written at once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/fs_util.hpp"

namespace ohlc::storage {

inline std::string json_list(const std::vector<uint64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

inline void write_text(const std::string& path, const std::string& text) {
  File f = File::create(path);
  f.write(text.data(), text.size());
  f.close();
}

// The gzip/zlib level a store's metadata names for `level` (Compression): informational, since
// decoding needs no level; the row-delta encoder's streams are closest to level 1.
inline int zarr_level_hint(int level) { return level < 1 ? 1 : (level > 9 ? 9 : level); }

}  // namespace ohlc::storage
