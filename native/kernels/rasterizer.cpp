#include "kernels/rasterizer.hpp"

#include <cmath>
#include <limits>
#include <vector>

#include "cuda/raster_cuda.hpp"
#include "kernels/deflate/geometry_encoder.hpp"
#include "kernels/deflate/row_deflate.hpp"
#include "kernels/jkx_ink_runs.hpp"
#include "kernels/raster_jkx.hpp"

#if OHLC_HAVE_OPENMP
#include <omp.h>
#endif

namespace ohlc {

RasterSpec make_spec(Layout layout, uint32_t seq_len, uint32_t height, PixelType pixel, bool volume,
                     uint32_t ma) {
  RasterSpec s;
  s.layout = layout;
  s.shape.seq_len = seq_len;
  s.shape.height = height;
  s.shape.bar_width = layout == Layout::kJkx ? 3 : 4;
  s.pixel = pixel;
  if (layout == Layout::kJkx) {
    s.volume = volume;
    s.ma = ma;
  }
  return s;
}

InvalidWindowError::InvalidWindowError(size_t window, int64_t start, uint32_t seq_len, BadPrice bad)
    : std::runtime_error(describe_bad_window(window, start, seq_len, bad)),
      window(window),
      start(start),
      seq_len(seq_len),
      bad(bad) {}

InvalidWindowError::InvalidWindowError(size_t window, int64_t start, uint32_t seq_len,
                                       WindowStatus reason, BadPrice bad)
    : std::runtime_error(describe_jkx_window(window, start, seq_len, reason, bad)),
      window(window),
      start(start),
      seq_len(seq_len),
      reason(reason),
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

JkxColumns jkx_columns(const CandleColumns& c) {
  return JkxColumns{c.open, c.high, c.low, c.close, c.volume, c.count};
}

const uint8_t* sub_ma_ok(const WindowBatch& batch, size_t first) {
  return batch.ma_ok ? batch.ma_ok + first : nullptr;
}

// Window i's stored MA values, when the batch redraws stored images.
const double* given_ma(const WindowBatch& batch, size_t i, uint32_t seq_len) {
  return batch.ma_values ? batch.ma_values + i * seq_len : nullptr;
}

// Throws the exception matching a jkx outcome (nothing for kOk).
void throw_if_failed(const JkxOutcome& outcome, const WindowBatch& batch, size_t first,
                     uint32_t seq_len) {
  switch (outcome.status) {
    case JkxOutcome::kOk: return;
    case JkxOutcome::kCancelled: throw CancelledError();
    case JkxOutcome::kNotDrawn: {
      const size_t i = first + outcome.window;
      throw InvalidWindowError(batch.window_base + i, batch.windows.start(i), seq_len, outcome.reason, outcome.bad);
    }
    case JkxOutcome::kBadArgument: throw RasterError(outcome.message);
  }
}

// Per-thread scratch of the jkx geometry, kept from window to window.
struct JkxThreadScratch {
  std::vector<double> doubles;
  std::vector<JkxBar> bars;
  void fit(JkxShape shape) {
    doubles.resize(jkx_scratch_doubles(shape));
    bars.resize(shape.seq_len);
  }
};
JkxThreadScratch& jkx_thread_scratch(JkxShape shape) {
  thread_local JkxThreadScratch s;
  s.fit(shape);
  return s;
}

// The geometry of window i of `batch` into the scratch's bars; throws InvalidWindowError where
// the window cannot be drawn. On the calling thread: for draw_one and encode_one.
JkxWindow jkx_window_of(const WindowBatch& batch, size_t i, JkxShape shape, JkxThreadScratch& s) {
  const bool history_ok = batch.ma_ok ? batch.ma_ok[i] != 0 : true;
  const JkxWindow g = jkx_window_geometry(jkx_columns(batch.candles), batch.windows.start(i), shape, history_ok,
                                          s.doubles.data(), s.bars.data(), given_ma(batch, i, shape.seq_len));
  if (g.status != JkxStatus::kOk) {
    WindowList one = sub_list(batch.windows, i, 1);
    JkxOutcome r = jkx_not_drawn(jkx_columns(batch.candles), one, sub_ma_ok(batch, i), shape, 0);
    if (batch.ma_values) {  // the stored values were drawn from: the history is not read
      r.status = JkxOutcome::kNotDrawn;
      r.reason = g.status;
      r.bad.candle = g.bad_candle;
      r.bad.field = g.bad_field;
      r.bad.value = g.bad_value;
    }
    throw_if_failed(r, batch, i, shape.seq_len);
  }
  return g;
}

class CpuRasterizer final : public Rasterizer {
 public:
  CpuRasterizer(RasterSpec spec, int threads) : Rasterizer(spec), threads_(threads) {}

  void draw(const WindowBatch& batch, size_t first, size_t count, void* out,
            const std::atomic<bool>* cancel) const override {
    const WindowList part = sub_list(batch.windows, first, count);
    if (spec_.layout == Layout::kJkx && batch.ma_values) {
      // Redrawing stored images (a verification sample): one at a time on this thread.
      for (size_t k = 0; k < count; ++k) {
        if (cancel && cancel->load(std::memory_order_relaxed)) throw CancelledError();
        draw_one(batch, first + k, static_cast<uint8_t*>(out) + k * spec_.image_bytes());
      }
      return;
    }
    if (spec_.layout == Layout::kJkx) {
      const JkxOutcome r = rasterize_jkx_cpu(jkx_columns(batch.candles), part, sub_ma_ok(batch, first),
                                             spec_.jkx(), spec_.pixel, out, threads_, cancel);
      throw_if_failed(r, batch, first, spec_.shape.seq_len);
      return;
    }
    const RasterOutcome r = rasterize_cpu(batch.candles, part, spec_.shape, spec_.pixel, out, threads_, cancel);
    throw_if_failed(r, batch, first, spec_.shape.seq_len);
  }

  bool draws_one_at_a_time() const override { return true; }

  void draw_one(const WindowBatch& batch, size_t i, void* out) const override {
    const int64_t start = batch.windows.start(i);
    if (spec_.layout == Layout::kJkx) {
      const JkxShape shape = spec_.jkx();
      JkxThreadScratch& s = jkx_thread_scratch(shape);
      const JkxWindow g = jkx_window_of(batch, i, shape, s);
      draw_jkx_window(s.bars.data(), g.ma_drawn, shape, spec_.pixel, out);
      return;
    }
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
    if (batch.ma_values) throw RasterError("stored moving-average values are redrawn on the CPU only");
    if (spec_.layout == Layout::kJkx) {
      const JkxOutcome r = cuda::rasterize_jkx_cuda(jkx_columns(batch.candles), part, sub_ma_ok(batch, first),
                                                    spec_.jkx(), spec_.pixel, out, cancel);
      throw_if_failed(r, batch, first, spec_.shape.seq_len);
      return;
    }
    const RasterOutcome r = cuda::rasterize_cuda(batch.candles, part, spec_.shape, spec_.pixel, out, cancel);
    throw_if_failed(r, batch, first, spec_.shape.seq_len);
  }
};

}  // namespace

void Rasterizer::classify(const WindowBatch& batch, size_t first, size_t count, WindowStatus* status,
                          double* ma_rows, int threads) const {
  const uint32_t len = spec_.shape.seq_len;
  const int64_t n = static_cast<int64_t>(count);
  const int nthreads = threads > 0 ? threads : default_thread_count();
  (void)nthreads;
  if (spec_.layout != Layout::kJkx) {
#if OHLC_HAVE_OPENMP
#pragma omp parallel for schedule(static) num_threads(nthreads)
#endif
    for (int64_t w = 0; w < n; ++w) {
      double lo, hi;
      BadPrice bad;
      const bool ok = window_range(batch.candles, batch.windows.start(first + w), len, &lo, &hi, &bad);
      if (status) status[w] = ok ? WindowStatus::kOk : WindowStatus::kInvalidPrice;
    }
    return;
  }
  const JkxShape shape = spec_.jkx();
  const JkxColumns cols = jkx_columns(batch.candles);
  const double nan = std::numeric_limits<double>::quiet_NaN();
#if OHLC_HAVE_OPENMP
#pragma omp parallel for schedule(static) num_threads(nthreads)
#endif
  for (int64_t w = 0; w < n; ++w) {
    // thread_local scratch: nothing inside the parallel region allocates once it has grown.
    JkxThreadScratch& s = jkx_thread_scratch(shape);
    const size_t i = first + static_cast<size_t>(w);
    const bool history_ok = batch.ma_ok ? batch.ma_ok[i] != 0 : true;
    const JkxWindow g = jkx_window_geometry(cols, batch.windows.start(i), shape, history_ok,
                                            s.doubles.data(), s.bars.data(), given_ma(batch, i, len));
    if (status) status[w] = g.status;
    if (ma_rows) {
      double* row = ma_rows + static_cast<size_t>(w) * len;
      const double* ma = jkx_scratch(s.doubles.data(), shape).ma;
      for (uint32_t j = 0; j < len; ++j) row[j] = g.status == JkxStatus::kOk ? ma[j] : nan;
    }
  }
}

uint32_t Rasterizer::encode_one(const WindowBatch& batch, size_t i, ImageStream stream,
                                deflate::GeometryEncoder& encoder, std::vector<uint8_t>& out) const {
  if (stream == ImageStream::kNone) throw RasterError("encode_one needs a compressed stream form");
  if (spec_.layout == Layout::kJkx) {
    const JkxShape shape = spec_.jkx();
    JkxThreadScratch& s = jkx_thread_scratch(shape);
    const JkxWindow g = jkx_window_of(batch, i, shape, s);
    // thread_local: a writer calls this for every image from its encoding threads.
    thread_local std::vector<deflate::InkRun> runs;
    jkx_ink_runs(s.bars.data(), g.ma_drawn, shape, runs);
    encoder.set_runs(runs.data(), runs.size(), shape.width(), shape.height, spec_.pixel,
                     spec_.shape.bar_width, deflate::InkPolarity::kLightOnDark);
  } else {
    const uint32_t len = spec_.shape.seq_len;
    const int64_t start = batch.windows.start(i);
    double lo, hi;
    BadPrice bad;
    if (!window_range(batch.candles, start, len, &lo, &hi, &bad))
      throw InvalidWindowError(batch.window_base + i, start, len, bad);
    thread_local std::vector<BarRows> bars;
    bars.resize(len);
    window_bar_rows(batch.candles, start, spec_.shape, lo, hi, bars.data());
    encoder.set_bars(bars.data(), spec_.shape, spec_.pixel);
  }
  out.clear();
  if (stream == ImageStream::kZlib) {
    encoder.append_zlib(out);
    return 0;
  }
  if (stream == ImageStream::kGzip) {
    // The deflate data is a piece closed by an empty final block.
    const auto header = deflate::gzip_header(0);
    out.assign(header.begin(), header.end());
    const uint32_t crc = encoder.append_piece(out);
    deflate::finish_stream(out);
    deflate::append_gzip_trailer(out, crc, spec_.image_bytes());
    return crc;
  }
  return encoder.append_piece(out);
}

std::unique_ptr<Rasterizer> make_rasterizer(const RasterSpec& spec, Device device, int threads) {
  if (spec.shape.bar_width != (spec.layout == Layout::kJkx ? 3u : 4u))
    throw RasterError("the spec's bar width does not match its layout (use make_spec)");
  if (spec.layout == Layout::kJkx) {
    const JkxOutcome check = check_jkx_arguments(JkxColumns{}, WindowList{}, spec.jkx());
    if (check.status != JkxOutcome::kOk) throw RasterError(check.message);
  }
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
