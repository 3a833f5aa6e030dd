// A Sink is one file format's side of a dataset writer: how chunks are encoded (called from many
// threads at once) and where the encoded bytes go (called in order, one call at a time; the
// writer may make those calls from its write thread, never from two threads at once).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "storage/encode.hpp"
#include "storage/layout.hpp"

namespace ohlc::storage {

// Any failure of a writer or reader; the binding turns it into a JS Error with the message.
class StorageError : public std::runtime_error {
 public:
  explicit StorageError(const std::string& msg) : std::runtime_error(msg) {}
};

// a * b for sizes read from files: a StorageError naming `what` when the product overflows
// (a wrapped size would give a small buffer and a write past its end).
inline size_t checked_size(uint64_t a, uint64_t b, const std::string& what) {
  if (a != 0 && b > (uint64_t{1} << 62) / a) throw StorageError(what + ": sizes in the file are out of range");
  return static_cast<size_t>(a * b);
}

class Sink {
 public:
  virtual ~Sink() = default;

  // Encodes `bytes` raw bytes of array `a` (one image, or a chunk of rows). Thread-safe.
  virtual void encode(ArrayId a, const uint8_t* raw, size_t bytes, EncodeScratch& scratch,
                      std::vector<uint8_t>& out) const = 0;
  // True where a chunk at the end of an array is stored full size (HDF5, Zarr): the writer then
  // zero-pads it before encoding.
  virtual bool pads_edge_chunks() const { return true; }
  // The compressed form in which this sink stores an image as it is handed over (a rasterizer
  // that encodes from geometry then writes it without drawing), or kNone: images reach
  // encode() as pixels.
  virtual ImageStream image_stream() const { return ImageStream::kNone; }
  // True where write_chunk needs the CRC-32 of the raw bytes (zip members).
  virtual bool needs_crc() const { return false; }

  // The dataset now holds `rows` rows (called before the chunks of those rows are written).
  virtual void grow(uint64_t rows) = 0;
  // Chunk `index` of array `a` holds `rows` rows (rows * chunk_rows before it).
  virtual void write_chunk(ArrayId a, uint64_t index, uint64_t rows, const std::vector<uint8_t>& encoded,
                           size_t raw_bytes, uint32_t raw_crc) = 0;
  // Writes the metadata, completes the file(s) and moves them to their final name.
  virtual void finish(uint64_t rows, const DatasetMetadata& metadata) = 0;
  // Removes everything written so far. Must not throw.
  virtual void discard() noexcept = 0;
};

}  // namespace ohlc::storage
