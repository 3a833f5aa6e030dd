#include "storage/dataset_writer.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <future>

#if OHLC_HAVE_OPENMP
#include <omp.h>
#endif

namespace ohlc::storage {

namespace {

int thread_index() {
#if OHLC_HAVE_OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// Runs body(i) for i in [0, n) on `threads` threads; the first exception (lowest i) is rethrown.
template <typename Body>
void parallel_for(size_t n, int threads, Body body) {
  std::vector<std::exception_ptr> errors(n > 0 ? 1 : 0);
  std::atomic<int64_t> first_error{static_cast<int64_t>(n)};
  (void)threads;
#if OHLC_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic, 4) num_threads(threads)
#endif
  for (int64_t i = 0; i < static_cast<int64_t>(n); ++i) {
    if (i > first_error.load(std::memory_order_relaxed)) continue;
    try {
      body(static_cast<size_t>(i));
    } catch (...) {
#if OHLC_HAVE_OPENMP
#pragma omp critical(ohlc_parallel_for_error)
#endif
      {
        if (i < first_error.load()) {
          first_error.store(i);
          errors[0] = std::current_exception();
        }
      }
    }
  }
  if (!errors.empty() && errors[0]) std::rethrow_exception(errors[0]);
}

// Default-layout images of candle windows of at least this many raw bytes are encoded from their
// geometry; smaller ones are drawn and row-encoded. Measured per image on one core
// (geometry_check --bench --shape, bench/RESULTS.md): drawing + the row encoder is 1.2-1.6x
// faster up to ~40 KB (a drawn image stays in L1, and the geometry encoder's per-row and
// per-image set-up weighs more than the pixels), about even at 100-200 KB uint8, and the
// geometry encoder 1.15-1.6x faster from ~60 KB float32 on. jkx images are drawn: their moving-
// average line and volume strip change most rows, so the geometry encoder has more tokens per
// pixel and was slower at every shape measured (bench/jkx.ts: 20x64 uint8 0.77x, 60x96 float32
// 0.75x, the writer end to end). The rule depends on the shape only, so a dataset's bytes (and
// its content digest) do not depend on the machine or its load.
constexpr size_t kGeometryMinImageBytes = size_t{64} << 10;

// The encoder for candle windows' images: OHLC_IMAGE_ENCODER=geometry or =pixels in the
// environment forces one (the benchmarks and the tests that compare both paths: their images
// decompress to the same pixels); unset or "auto" chooses by layout and size.
bool encode_from_geometry(const RasterSpec& spec) {
  const char* v = std::getenv("OHLC_IMAGE_ENCODER");
  if (!v || !*v || std::strcmp(v, "auto") == 0)
    return spec.layout == Layout::kOhlc4px && spec.image_bytes() >= kGeometryMinImageBytes;
  if (std::strcmp(v, "geometry") == 0) return true;
  if (std::strcmp(v, "pixels") == 0) return false;
  throw StorageError(std::string("OHLC_IMAGE_ENCODER must be geometry, pixels or auto, not '") + v + "'");
}

}  // namespace

DatasetWriter::DatasetWriter(DatasetLayout layout, std::unique_ptr<Sink> sink, int threads,
                             std::unique_ptr<Rasterizer> rasterizer)
    : layout_(std::move(layout)), sink_(std::move(sink)), rasterizer_(std::move(rasterizer)) {
  if (!rasterizer_ || rasterizer_->spec().image_bytes() != layout_.image_bytes() ||
      rasterizer_->spec().shape.seq_len != layout_.shape.seq_len ||
      rasterizer_->spec().shape.height != layout_.shape.height ||
      rasterizer_->spec().shape.bar_width != layout_.shape.bar_width)
    throw StorageError("the writer's rasterizer draws images of another shape");
  // More threads than the machine runs only adds scratch memory and contention.
  threads_ = threads > 0 ? std::min(threads, std::max(default_thread_count(), 1)) : default_thread_count();
  // The row encoder's short distance: a uint8 bar's width in bytes (a float32 pixel is already 4).
  const size_t period = layout_.pixel == PixelType::U8 ? layout_.shape.bar_width : 4;
  for (int t = 0; t < threads_; ++t) {
    scratch_.push_back(std::make_unique<EncodeScratch>());
    scratch_.back()->rows.set_period(period);
  }
  // Candle windows go from geometry to compressed image where the sink takes compressed images
  // and the image gains from it.
  geometry_stream_ = encode_from_geometry(rasterizer_->spec()) ? sink_->image_stream() : ImageStream::kNone;
}

DatasetWriter::~DatasetWriter() {
  if (state_ != State::kClosed) abort();
}

void DatasetWriter::check_open() const {
  if (state_ == State::kFailed) throw StorageError("the writer failed earlier and can only be aborted");
  if (state_ == State::kClosed) throw StorageError("the writer is closed");
  if (state_ == State::kSealed) throw StorageError("the writer is sealed: only its metadata can still be written");
}

void DatasetWriter::encode_images(const AppendBatch& batch, size_t first, size_t count,
                                  std::vector<std::vector<uint8_t>>& encoded,
                                  std::vector<uint32_t>& crcs, const std::atomic<bool>* cancel) {
  const size_t image_bytes = layout_.image_bytes();
  const bool given = batch.images != nullptr;
  const bool crc = sink_->needs_crc();
  if (!given && geometry_stream_ != ImageStream::kNone) {
    // Straight from the bars to the stream the sink stores: no pixel is drawn or read.
    parallel_for(count, threads_, [&](size_t k) {
      if (cancel && cancel->load(std::memory_order_relaxed)) throw CancelledError();
      EncodeScratch& scratch = *scratch_[thread_index()];
      const uint32_t c = rasterizer_->encode_one(batch.windows, first + k, geometry_stream_, scratch.geometry, encoded[k]);
      if (crc) crcs[k] = c;
    });
    return;
  }
  // A CPU rasterizer draws each image in the thread that encodes it (while it is in that core's
  // cache); a GPU rasterizer draws the whole slice first.
  const bool one_at_a_time = !given && rasterizer_->draws_one_at_a_time();
  if (!given && !one_at_a_time) {
    drawn_.resize(count * image_bytes);
    rasterizer_->draw(batch.windows, first, count, drawn_.data(), cancel);
  }
  parallel_for(count, threads_, [&](size_t k) {
    if (cancel && cancel->load(std::memory_order_relaxed)) throw CancelledError();
    EncodeScratch& scratch = *scratch_[thread_index()];
    const uint8_t* raw;
    if (given) {
      raw = batch.images + (first + k) * image_bytes;
    } else if (one_at_a_time) {
      scratch.image.resize(image_bytes);
      rasterizer_->draw_one(batch.windows, first + k, scratch.image.data());
      raw = scratch.image.data();
    } else {
      raw = drawn_.data() + k * image_bytes;
    }
    sink_->encode(kImages, raw, image_bytes, scratch, encoded[k]);
    if (crc) crcs[k] = crc32_of(raw, image_bytes);
  });
}

void DatasetWriter::write_images(const AppendBatch& batch, const std::atomic<bool>* cancel) {
  // Two slices in flight: while one thread hands slice s to the sink (libhdf5 is single-threaded;
  // its H5Dwrite_chunk is then off the encoding threads' path), all cores encode slice s + 1.
  // Each slice holds at most ~32 MiB of raw images (two of them: the ~64 MiB a single slice
  // had before), and its buffers are reused from slice to slice (freeing and reallocating large
  // buffers makes glibc keep ever more memory).
  const size_t image_bytes = layout_.image_bytes();
  const size_t slice = std::max<size_t>(static_cast<size_t>(threads_) * 2,
                                        std::min<size_t>((size_t{32} << 20) / image_bytes, 256));
  for (auto& side : slices_) {
    if (side.encoded.size() < slice) side.encoded.resize(slice);
    side.crcs.assign(slice, 0);
  }
  const uint64_t base = rows_;
  auto write_slice = [this, base, image_bytes](const Slice& s) {
    for (size_t k = 0; k < s.count; ++k) {
      sink_->write_chunk(kImages, base + s.first + k, 1, s.encoded[k], image_bytes, s.crcs[k]);
      digests_[kImages].update(s.encoded[k].data(), s.encoded[k].size());
    }
  };
  std::future<void> writing;  // the sink writing the other slice
  int side = 0;
  try {
    for (size_t first = 0; first < batch.count; first += slice, side ^= 1) {
      Slice& s = slices_[side];
      s.first = first;
      s.count = std::min(slice, batch.count - first);
      // This side was written two slices ago; its write finished before the last wait below.
      encode_images(batch, first, s.count, s.encoded, s.crcs, cancel);
      if (writing.valid()) writing.get();
      writing = std::async(std::launch::async, write_slice, std::cref(s));
    }
    if (writing.valid()) writing.get();
  } catch (...) {
    // Never leave the sink in use by another thread when the failure reaches the caller.
    if (writing.valid()) writing.wait();
    throw;
  }
}

void DatasetWriter::stage_rows(ArrayId a, const uint8_t* data, size_t count,
                               std::vector<PendingChunk>& ready) {
  const ArraySpec& spec = layout_.arrays[a];
  const size_t row_bytes = spec.row_bytes();
  const uint64_t per_chunk = spec.chunk_rows;
  digests_[a].update(data, count * row_bytes);
  size_t used = 0;
  // Top up the partial chunk first, then cut whole chunks straight from the input.
  while (used < count) {
    if (partial_rows_[a] == 0 && count - used >= per_chunk) {
      PendingChunk c{a, next_chunk_[a]++, per_chunk, {}};
      c.raw.assign(data + used * row_bytes, data + (used + per_chunk) * row_bytes);
      ready.push_back(std::move(c));
      used += per_chunk;
      continue;
    }
    const size_t take = std::min<size_t>(per_chunk - partial_rows_[a], count - used);
    partial_[a].insert(partial_[a].end(), data + used * row_bytes, data + (used + take) * row_bytes);
    partial_rows_[a] += take;
    used += take;
    if (partial_rows_[a] == per_chunk) {
      ready.push_back({a, next_chunk_[a]++, per_chunk, std::move(partial_[a])});
      partial_[a].clear();
      partial_rows_[a] = 0;
    }
  }
}

void DatasetWriter::write_chunks(std::vector<PendingChunk>& chunks) {
  std::vector<std::vector<uint8_t>> encoded(chunks.size());
  std::vector<uint32_t> crcs(chunks.size(), 0);
  const bool crc = sink_->needs_crc();
  parallel_for(chunks.size(), threads_, [&](size_t i) {
    EncodeScratch& scratch = *scratch_[thread_index()];
    sink_->encode(chunks[i].array, chunks[i].raw.data(), chunks[i].raw.size(), scratch, encoded[i]);
    if (crc) crcs[i] = crc32_of(chunks[i].raw.data(), chunks[i].raw.size());
  });
  for (size_t i = 0; i < chunks.size(); ++i) {
    sink_->write_chunk(chunks[i].array, chunks[i].index, chunks[i].rows, encoded[i],
                       chunks[i].raw.size(), crcs[i]);
  }
}

void DatasetWriter::append(const AppendBatch& batch, const std::atomic<bool>* cancel) {
  check_open();
  if (batch.count == 0) return;
  try {
    // Images are encoded and written a slice at a time, so memory stays bounded by the slice
    // (not the caller's batch) even where encoded images are large (compression 'none', float32).
    // The slice holds at most ~64 MiB of raw images, and its buffers are reused from slice to
    // slice (freeing and reallocating large buffers makes glibc keep ever more memory).
    sink_->grow(rows_ + batch.count);
    write_images(batch, cancel);

    std::vector<PendingChunk> ready;
    std::vector<double> gathered, volumes, ma;
    const double* sequences = batch.sequences;
    const double* volume_rows = batch.volumes;
    const double* ma_rows = batch.ma;
    const uint32_t len = layout_.shape.seq_len;
    if (!batch.images) {
      // Candle windows: every row array is taken from the candles, as the images were drawn.
      const CandleColumns& c = batch.windows.candles;
      gathered.resize(batch.count * len * 4);
      for (size_t i = 0; i < batch.count; ++i) {
        double* row = gathered.data() + i * len * 4;
        const int64_t s = batch.windows.windows.start(i);
        for (uint32_t j = 0; j < len; ++j) {
          row[4 * j + 0] = c.open[s + j];
          row[4 * j + 1] = c.high[s + j];
          row[4 * j + 2] = c.low[s + j];
          row[4 * j + 3] = c.close[s + j];
        }
      }
      sequences = gathered.data();
      if (layout_.has(kVolumes) && !volume_rows) {
        if (!c.volume) throw StorageError("the batch has no volume column, which this dataset stores");
        volumes.resize(batch.count * len);
        for (size_t i = 0; i < batch.count; ++i)
          std::memcpy(volumes.data() + i * len, c.volume + batch.windows.windows.start(i), len * sizeof(double));
        volume_rows = volumes.data();
      }
      if (layout_.has(kMa) && !ma_rows) {
        // The values the line was drawn from, computed by the same function that drew it.
        ma.resize(batch.count * len);
        rasterizer_->classify(batch.windows, 0, batch.count, nullptr, ma.data(), threads_);
        ma_rows = ma.data();
      }
    }
    stage_rows(kSequences, reinterpret_cast<const uint8_t*>(sequences), batch.count, ready);
    stage_rows(kTimestamps, reinterpret_cast<const uint8_t*>(batch.timestamps), batch.count, ready);
    if (layout_.has(kLabels)) {
      stage_rows(kLabels, reinterpret_cast<const uint8_t*>(batch.labels), batch.count, ready);
      stage_rows(kReturns, reinterpret_cast<const uint8_t*>(batch.returns), batch.count, ready);
    }
    const std::pair<ArrayId, const void*> optional[] = {
        {kSymbolIndex, batch.symbol_index}, {kSplit, batch.split}, {kVolumes, volume_rows}, {kMa, ma_rows}};
    for (const auto& [id, rows] : optional) {
      if (!layout_.has(id)) continue;
      if (!rows) throw StorageError(std::string("the batch has no ") + kArrayNames[id] + " rows, which this dataset stores");
      stage_rows(id, static_cast<const uint8_t*>(rows), batch.count, ready);
    }

    write_chunks(ready);
    rows_ += batch.count;
  } catch (...) {
    state_ = State::kFailed;
    throw;
  }
}

const ContentDigest& DatasetWriter::seal() {
  if (state_ == State::kSealed) return sealed_;
  check_open();
  try {
    std::vector<PendingChunk> tail;
    for (int a = kSequences; a < kArrayCount; ++a) {
      if (!layout_.has(static_cast<ArrayId>(a)) || partial_rows_[a] == 0) continue;
      PendingChunk c{static_cast<ArrayId>(a), next_chunk_[a]++, partial_rows_[a], std::move(partial_[a])};
      if (sink_->pads_edge_chunks())
        c.raw.resize(layout_.arrays[a].chunk_rows * layout_.arrays[a].row_bytes(), 0);
      tail.push_back(std::move(c));
      partial_rows_[a] = 0;
    }
    write_chunks(tail);
  } catch (...) {
    state_ = State::kFailed;
    throw;
  }
  Sha256 all;
  for (int a = 0; a < kArrayCount; ++a) {
    if (!layout_.has(static_cast<ArrayId>(a))) continue;
    sealed_.arrays.emplace_back(layout_.arrays[a].name, digests_[a].hex());
    const std::string line = sealed_.arrays.back().first + " " + sealed_.arrays.back().second + "\n";
    all.update(line.data(), line.size());
  }
  sealed_.content = all.hex();
  state_ = State::kSealed;
  return sealed_;
}

void DatasetWriter::close(const DatasetMetadata& metadata) {
  seal();
  try {
    sink_->finish(rows_, metadata);
    state_ = State::kClosed;
  } catch (...) {
    state_ = State::kFailed;
    throw;
  }
}

void DatasetWriter::abort() noexcept {
  if (state_ == State::kClosed) return;
  sink_->discard();
  state_ = State::kClosed;
}

}  // namespace ohlc::storage
