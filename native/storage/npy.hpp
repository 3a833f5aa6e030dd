// The .npy header (NumPy format 1.0/2.0): what numpy.load reads before the raw array bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ohlc::storage::npy {

// Room an NPZ images member keeps for its .npy header (written last, when N is known): a
// stored deflate block of this many bytes (plus its 5-byte block header) at the member's start.
constexpr size_t kImagesHeaderBytes = 192;

// A complete header (magic, version, length, dict, padding) for a C-order array. When
// `min_total` > 0 the header is padded to at least that many bytes (so it can be rewritten in
// place later with a larger shape); the total is always a multiple of 64.
std::string header(const std::string& descr, const std::vector<uint64_t>& shape, size_t min_total = 0);

struct Header {
  std::string descr;
  bool fortran_order = false;
  std::vector<uint64_t> shape;
  size_t header_bytes = 0;  // where the data starts
};

// Parses a header from the start of `data`; throws StorageError (naming `what`) when malformed.
Header parse(const uint8_t* data, size_t size, const std::string& what);

// UTF-8 -> the UTF-32LE payload and descr ("<U<n>") of a 0-d unicode array.
std::string unicode_scalar(const std::string& utf8, std::string* descr);
std::string decode_unicode(const uint8_t* data, size_t bytes);

}  // namespace ohlc::storage::npy
