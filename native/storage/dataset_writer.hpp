// Streams batches of images and their row arrays into a Sink: images (given, or drawn here from
// candle windows) and full chunks of row arrays are encoded on all cores, then written in order.
// Memory is bounded by one batch plus one partial chunk per row array.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/raster.hpp"
#include "storage/layout.hpp"
#include "storage/sink.hpp"

namespace ohlc::storage {

// A window with an unusable price met while drawing from candles.
class InvalidWindowError : public StorageError {
 public:
  InvalidWindowError(const std::string& msg, size_t window, BadPrice bad)
      : StorageError(msg), window(window), bad(bad) {}
  size_t window;
  BadPrice bad;
};

class CancelledError : public StorageError {
 public:
  CancelledError() : StorageError("The operation was aborted") {}
};

struct AppendBatch {
  size_t count = 0;
  // Images as raw bytes (count * image_bytes) ...
  const uint8_t* images = nullptr;
  // ... or drawn from candle windows starting at `starts`.
  CandleColumns candles;
  const int64_t* starts = nullptr;
  // Row arrays; sequences may be null when drawing from candles (gathered from them).
  const double* sequences = nullptr;
  const int64_t* timestamps = nullptr;
  const int8_t* labels = nullptr;
  const double* returns = nullptr;
  // Added to window numbers in error messages (the caller split its batch).
  size_t window_base = 0;
};

class DatasetWriter {
 public:
  DatasetWriter(DatasetLayout layout, std::unique_ptr<Sink> sink, int threads);
  ~DatasetWriter();

  // Throws StorageError (InvalidWindowError, CancelledError); after a throw the writer is failed
  // and only abort() is allowed.
  void append(const AppendBatch& batch, const std::atomic<bool>* cancel);
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

  // Encodes images [first, first + count) of the batch into encoded[0..count).
  void encode_images(const AppendBatch& batch, size_t first, size_t count,
                     std::vector<std::vector<uint8_t>>& encoded, std::vector<uint32_t>& crcs,
                     const std::atomic<bool>* cancel);
  void stage_rows(ArrayId a, const uint8_t* data, size_t count, std::vector<PendingChunk>& ready);
  void write_chunks(std::vector<PendingChunk>& chunks);
  void check_open() const;

  DatasetLayout layout_;
  std::unique_ptr<Sink> sink_;
  int threads_;
  uint64_t rows_ = 0;
  enum class State { kOpen, kFailed, kClosed } state_ = State::kOpen;
  // Rows of each row array waiting for a full chunk.
  std::vector<uint8_t> partial_[kArrayCount];
  uint64_t partial_rows_[kArrayCount] = {};
  uint64_t next_chunk_[kArrayCount] = {};
  std::vector<std::unique_ptr<EncodeScratch>> scratch_;
  // Encoded images of the slice being written, kept from append to append.
  std::vector<std::vector<uint8_t>> encoded_;
  std::vector<uint32_t> crcs_;
};

}  // namespace ohlc::storage
