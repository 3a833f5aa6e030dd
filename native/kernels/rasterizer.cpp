#include "kernels/rasterizer.hpp"

#include "cuda/raster_cuda.hpp"

namespace ohlc {

InvalidWindowError::InvalidWindowError(size_t window, int64_t start, uint32_t seq_len, BadPrice bad)
    : std::runtime_error(describe_bad_window(window, start, seq_len, bad)),
      window(window),
      start(start),
      seq_len(seq_len),
      bad(bad) {}

void Rasterizer::draw_one(const WindowBatch&, size_t, void*) const {
  throw RasterError("this rasterizer draws whole batches only");
}

namespace {

// The part [first, first + count) of a window list, as a list of its own.
WindowList sub_list(const WindowList& w, size_t first, size_t count) {
  WindowList part = w;
  part.count = count;
  if (w.starts) part.starts = w.starts + first;
  else part.first = w.first + static_cast<int64_t>(first) * w.stride;
  return part;
}

class CpuRasterizer final : public Rasterizer {
 public:
  CpuRasterizer(RasterSpec spec, int threads) : Rasterizer(spec), threads_(threads) {}

  void draw(const WindowBatch& batch, size_t first, size_t count, void* out,
            const std::atomic<bool>* cancel) const override {
    const WindowList part = sub_list(batch.windows, first, count);
    const RasterOutcome r = rasterize_cpu(batch.candles, part, spec_.shape, spec_.pixel, out, threads_, cancel);
    throw_if_failed(r, batch, first, spec_.shape.seq_len);
  }

  bool draws_one_at_a_time() const override { return true; }

  void draw_one(const WindowBatch& batch, size_t i, void* out) const override {
    const int64_t start = batch.windows.start(i);
    double lo, hi;
    BadPrice bad;
    if (!window_range(batch.candles, start, spec_.shape.seq_len, &lo, &hi, &bad))
      throw InvalidWindowError(batch.window_base + i, start, spec_.shape.seq_len, bad);
    draw_window(batch.candles, start, spec_.shape, lo, hi, spec_.pixel, out);
  }

 private:
  int threads_;
};

class CudaRasterizer final : public Rasterizer {
 public:
  explicit CudaRasterizer(RasterSpec spec) : Rasterizer(spec) {}

  void draw(const WindowBatch& batch, size_t first, size_t count, void* out,
            const std::atomic<bool>* cancel) const override {
    const WindowList part = sub_list(batch.windows, first, count);
    const RasterOutcome r = cuda::rasterize_cuda(batch.candles, part, spec_.shape, spec_.pixel, out, cancel);
    throw_if_failed(r, batch, first, spec_.shape.seq_len);
  }
};

}  // namespace

std::unique_ptr<Rasterizer> make_rasterizer(const RasterSpec& spec, Device device, int threads) {
  if (device == Device::kCuda) {
    const cuda::DeviceInfo& info = cuda::probe();
    if (!info.available) throw RasterError("CUDA device not available: " + info.reason);
    return std::make_unique<CudaRasterizer>(spec);
  }
  return std::make_unique<CpuRasterizer>(spec, threads);
}

void throw_if_failed(const RasterOutcome& outcome, const WindowBatch& batch, size_t first,
                     uint32_t seq_len) {
  switch (outcome.status) {
    case RasterOutcome::kOk: return;
    case RasterOutcome::kCancelled: throw CancelledError();
    case RasterOutcome::kInvalidPrice: {
      const size_t i = first + outcome.window;
      throw InvalidWindowError(batch.window_base + i, batch.windows.start(i), seq_len, outcome.bad);
    }
    case RasterOutcome::kBadArgument: throw RasterError(outcome.message);
  }
}

}  // namespace ohlc
