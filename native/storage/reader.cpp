// What the readers check before allocating for an array: the bytes its shape declares, against
// what the member or file holding it can hold (a header is a few bytes anyone can edit).
#include <string>

#include "storage/reader.hpp"

namespace ohlc::storage {
namespace {

std::string shape_text(const std::vector<uint64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

}  // namespace

uint64_t declared_bytes(const std::vector<uint64_t>& shape, ElemType type, const std::string& what) {
  uint64_t bytes = elem_size(type);
  for (uint64_t d : shape) bytes = checked_size(bytes, d, what + " (shape " + shape_text(shape) + ")");
  return bytes;
}

void check_declared_size(const std::string& what, const std::vector<uint64_t>& shape, ElemType type,
                         uint64_t capacity, const std::string& where) {
  const uint64_t bytes = declared_bytes(shape, type, what);
  if (bytes <= capacity) return;
  throw StorageError(what + " declares shape " + shape_text(shape) + " of " + elem_type_name(type) + " (" +
                     std::to_string(bytes) + " bytes), more than the " + std::to_string(capacity) + " bytes " +
                     where + "; the file is damaged or was not written by ohlc-native");
}

}  // namespace ohlc::storage
