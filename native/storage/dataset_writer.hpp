// Streams batches of images and their row arrays into a Sink. A batch is candle windows (drawn by
// the Rasterizer the writer was opened with, or encoded by it straight from their geometry where
// the sink takes compressed images) or finished images with their sequences; images and
// full chunks of row arrays are encoded on all cores, then written in order. Memory is bounded by
// two slices of images (one encoding, one being written) plus one partial chunk per row array.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kernels/rasterizer.hpp"
#include "kernels/sha256.hpp"
#include "storage/layout.hpp"
#include "storage/sink.hpp"

namespace ohlc::storage {

// One append, in one of two shapes: candle windows (`windows`; their sequences are gathered
// from the candles), or finished images as raw bytes (count * image_bytes) with their sequences.
struct AppendBatch {
  size_t count = 0;
  WindowBatch windows;               // used when images is null
  const uint8_t* images = nullptr;
  const double* sequences = nullptr;  // with images: count * seq_len * 4
  const int64_t* timestamps = nullptr;
  const int8_t* labels = nullptr;
  const double* returns = nullptr;
  // The optional arrays, one row per image, where the layout has them.
  const uint16_t* symbol_index = nullptr;
  const uint8_t* split = nullptr;
  const double* volumes = nullptr;  // count * seq_len
  const double* ma = nullptr;       // count * seq_len
};

// What a file holds, as digests: SHA-256 of each array in index order (images: their encoded
// chunks as stored; every other array: its raw little-endian rows), and one over all of them
// (of the lines "<name> <hex>\n" in array order). Encoding is deterministic, so the same input
// gives the same digest whatever the thread count.
struct ContentDigest {
  std::vector<std::pair<std::string, std::string>> arrays;
  std::string content;
};

class DatasetWriter {
 public:
  // `rasterizer` draws the candle windows of appends; its images must have the layout's shape.
  DatasetWriter(DatasetLayout layout, std::unique_ptr<Sink> sink, int threads,
                std::unique_ptr<Rasterizer> rasterizer);
  ~DatasetWriter();

  // Throws StorageError, InvalidWindowError or CancelledError; after a throw the writer is failed
  // and only abort() is allowed.
  void append(const AppendBatch& batch, const std::atomic<bool>* cancel);
  // Writes the last partial chunks and returns the digests; then only close() or abort().
  const ContentDigest& seal();
  // Seals (when not yet) and completes the file with its metadata.
  void close(const DatasetMetadata& metadata);
  void abort() noexcept;

  uint64_t rows() const { return rows_; }
  const DatasetLayout& layout() const { return layout_; }

 private:
  struct PendingChunk {
    ArrayId array;
    uint64_t index;
    uint64_t rows;
    std::vector<uint8_t> raw;
  };

  // Encodes images [first, first + count) of the batch into encoded[0..count) (drawing them
  // first when the batch is candle windows).
  void encode_images(const AppendBatch& batch, size_t first, size_t count,
                     std::vector<std::vector<uint8_t>>& encoded, std::vector<uint32_t>& crcs,
                     const std::atomic<bool>* cancel);
  // Encodes and writes the images of the batch, a slice at a time.
  void write_images(const AppendBatch& batch, const std::atomic<bool>* cancel);
  void stage_rows(ArrayId a, const uint8_t* data, size_t count, std::vector<PendingChunk>& ready);
  void write_chunks(std::vector<PendingChunk>& chunks);
  void check_open() const;

  DatasetLayout layout_;
  std::unique_ptr<Sink> sink_;
  int threads_;
  std::unique_ptr<Rasterizer> rasterizer_;
  // Images of the slice being encoded, for rasterizers that draw whole slices (the GPU).
  std::vector<uint8_t> drawn_;
  uint64_t rows_ = 0;
  enum class State { kOpen, kFailed, kSealed, kClosed } state_ = State::kOpen;
  Sha256 digests_[kArrayCount];
  ContentDigest sealed_;
  // Rows of each row array waiting for a full chunk.
  std::vector<uint8_t> partial_[kArrayCount];
  uint64_t partial_rows_[kArrayCount] = {};
  uint64_t next_chunk_[kArrayCount] = {};
  std::vector<std::unique_ptr<EncodeScratch>> scratch_;
  // Encoded images of the slices being encoded and written, kept from append to append.
  struct Slice {
    size_t first = 0;
    size_t count = 0;
    std::vector<std::vector<uint8_t>> encoded;
    std::vector<uint32_t> crcs;
  };
  Slice slices_[2];
  // How candle windows' images reach the sink compressed without being drawn (kNone: drawn,
  // then encoded from their pixels).
  ImageStream geometry_stream_ = ImageStream::kNone;
};

}  // namespace ohlc::storage
