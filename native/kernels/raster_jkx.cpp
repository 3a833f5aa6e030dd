#include "kernels/raster_jkx.hpp"

#include "kernels/jkx_column_masks.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <vector>

#if OHLC_HAVE_OPENMP
#include <omp.h>
#endif

namespace ohlc {

const char* jkx_status_name(JkxStatus s) {
  switch (s) {
    case JkxStatus::kOk: return "ok";
    case JkxStatus::kInvalidPrice: return "invalid_price";
    case JkxStatus::kInvalidVolume: return "invalid_volume";
    case JkxStatus::kFlat: return "flat";
    case JkxStatus::kOverflow: return "overflow";
  }
  return "?";
}

const char* jkx_field_name(int32_t field) {
  if (field == kVolumeField) return "volume";
  if (field == kMovingAverageField) return "moving average";
  return price_field_name(field);
}

namespace {

// For kOverflow: the first scaled price of the window that is infinite, else the first MA value
// (`ma`: the window's MA values, null when the line is not drawn).
BadPrice overflow_culprit(const JkxColumns& c, int64_t start, JkxShape shape, const double* ma) {
  BadPrice bad;
  const double c0 = c.close[start];
  const double* fields[4] = {c.open, c.high, c.low, c.close};
  for (uint32_t j = 0; j < shape.seq_len; ++j)
    for (int32_t f = 0; f < 4; ++f) {
      const double p = fields[f][start + j];
      if (std::isinf(p / c0)) {
        bad.candle = start + j;
        bad.field = f;
        bad.value = p;
        return bad;
      }
    }
  for (uint32_t j = 0; ma && j < shape.seq_len; ++j)
    if (std::isinf(ma[j])) {
      bad.candle = start + j;
      bad.field = kMovingAverageField;
      bad.value = ma[j];
      return bad;
    }
  return bad;
}

}  // namespace

std::string describe_jkx_window(size_t window, int64_t start, uint32_t seq_len, JkxStatus why,
                                const BadPrice& bad) {
  std::ostringstream msg;
  msg << "window " << window << " (candles " << start << ".." << start + seq_len - 1 << ")";
  switch (why) {
    case JkxStatus::kOk:
      msg << " is drawable";
      break;
    case JkxStatus::kInvalidPrice:
      msg << ": candle " << bad.candle << (bad.candle < start ? " (moving-average history)" : "")
          << " has " << jkx_field_name(bad.field) << " = " << format_price(bad.value)
          << "; prices must be finite and > 0";
      break;
    case JkxStatus::kInvalidVolume:
      msg << ": candle " << bad.candle << " has volume = " << format_price(bad.value)
          << "; volumes must be finite and >= 0";
      break;
    case JkxStatus::kFlat:
      msg << " is flat: every price (and moving-average value) is the same after scaling by the "
             "first close";
      break;
    case JkxStatus::kOverflow:
      if (bad.field == kMovingAverageField)
        msg << ": the moving average at candle " << bad.candle << " overflows float64";
      else
        msg << ": candle " << bad.candle << " has " << jkx_field_name(bad.field) << " = "
            << format_price(bad.value) << ", which divided by the first close overflows float64";
      break;
  }
  return msg.str();
}

void draw_jkx_window(const JkxBar* bars, bool ma_drawn, JkxShape shape, PixelType type,
                     void* out) {
  if (type == PixelType::U8 && jkx_fits_column_masks(shape)) {
    uint64_t masks[kJkxMaskColumns];  // room for the zeros up to a whole group
    jkx_column_masks(bars, ma_drawn, shape, masks);
    jkx_write_mask_rows(masks, shape.width(), shape.height, static_cast<uint8_t*>(out));
    return;
  }
  // Background 0 is all-zero bytes for both types; then only the ink is written.
  std::memset(out, 0, shape.pixels() * pixel_bytes(type));
  const int32_t hp = static_cast<int32_t>(shape.price_rows());
  const int32_t h = static_cast<int32_t>(shape.height);
  if (type == PixelType::U8) {
    const JkxInk<uint8_t> ink{static_cast<uint8_t*>(out), shape.width(), hp, h, 255};
    for (uint32_t i = 0; i < shape.seq_len; ++i) jkx_draw_bar(bars, i, shape, ma_drawn, ink);
  } else {
    const JkxInk<float> ink{static_cast<float*>(out), shape.width(), hp, h, 1.0f};
    for (uint32_t i = 0; i < shape.seq_len; ++i) jkx_draw_bar(bars, i, shape, ma_drawn, ink);
  }
}

JkxOutcome check_jkx_arguments(const JkxColumns& c, const WindowList& windows, JkxShape shape) {
  JkxOutcome r;
  auto fail = [&r](std::string msg) {
    r.status = JkxOutcome::kBadArgument;
    r.message = std::move(msg);
    return r;
  };
  if (shape.seq_len < 2) return fail("seqLen must be >= 2 for the jkx layout");
  if (shape.height < 2) return fail("height must be >= 2");
  if (shape.volume && shape.height < 5)
    return fail("height must be >= 5 with the volume strip (it takes floor(height / 5) rows)");
  // Each thread holds k - 1 + 5L doubles of scratch: bounded so that it stays small.
  if (shape.seq_len > (1u << 20) || shape.height > (1u << 28)) return fail("image too large");
  if (shape.ma > (1u << 20)) return fail("ma must be <= 1048576");
  if (windows.count == 0) return r;
  if (shape.volume && !c.volume) return fail("volume array missing");
  const RasterOutcome base = check_raster_arguments(
      CandleColumns{c.open, c.high, c.low, c.close, c.count}, windows,
      ImageShape{shape.seq_len, shape.height});
  if (base.status != RasterOutcome::kOk) return fail(base.message);
  return r;
}

JkxOutcome jkx_not_drawn(const JkxColumns& c, const WindowList& windows, const uint8_t* ma_ok,
                         JkxShape shape, size_t w) {
  JkxOutcome outcome;
  std::vector<double> scratch(jkx_scratch_doubles(shape));
  std::vector<JkxBar> bars(shape.seq_len);
  const int64_t start = windows.start(w);
  const JkxWindow g = jkx_window_geometry(c, start, shape, ma_ok ? ma_ok[w] != 0 : true,
                                          scratch.data(), bars.data());
  if (g.status == JkxStatus::kOk) return outcome;
  outcome.status = JkxOutcome::kNotDrawn;
  outcome.window = w;
  outcome.reason = g.status;
  outcome.not_drawn = 1;
  if (g.status == JkxStatus::kInvalidPrice || g.status == JkxStatus::kInvalidVolume) {
    outcome.bad.candle = g.bad_candle;
    outcome.bad.field = g.bad_field;
    outcome.bad.value = g.bad_value;
  } else if (g.status == JkxStatus::kOverflow) {
    outcome.bad = overflow_culprit(c, start, shape, g.ma_drawn ? jkx_scratch(scratch.data(), shape).ma : nullptr);
  }
  outcome.message = describe_jkx_window(w, start, shape.seq_len, g.status, outcome.bad);
  return outcome;
}

JkxOutcome rasterize_jkx_cpu(const JkxColumns& c, const WindowList& windows, const uint8_t* ma_ok,
                             JkxShape shape, PixelType type, void* out, int threads,
                             const std::atomic<bool>* cancel, double* ma_values,
                             JkxStatus* statuses) {
  JkxOutcome outcome = check_jkx_arguments(c, windows, shape);
  if (outcome.status != JkxOutcome::kOk || windows.count == 0) return outcome;

  const size_t len = shape.seq_len;
  const size_t image_bytes = shape.pixels() * pixel_bytes(type);
  const int64_t n = static_cast<int64_t>(windows.count);
  const int nthreads = threads > 0 ? threads : default_thread_count();
  // Per-thread scratch, allocated here: nothing inside the parallel region may throw. Each
  // thread's doubles and bars lie on cache lines of their own: a 5 x 32 window takes ~100 ns,
  // and two threads writing one line would pass it back and forth every window.
  constexpr size_t kLine = 64;
  auto whole_lines = [](size_t bytes) { return (bytes + kLine - 1) / kLine * kLine; };
  const size_t scratch_bytes = whole_lines(jkx_scratch_doubles(shape) * sizeof(double));
  const size_t thread_bytes = scratch_bytes + whole_lines(len * sizeof(JkxBar));
  std::vector<unsigned char> scratch(static_cast<size_t>(nthreads) * thread_bytes + kLine);
  unsigned char* const first_line = scratch.data() + (kLine - reinterpret_cast<uintptr_t>(scratch.data()) % kLine) % kLine;

  // Lowest window not drawn so far; n means none. Reported deterministically whatever the schedule.
  std::atomic<int64_t> first_bad{n};
  std::atomic<size_t> not_drawn{0};
  std::atomic<bool> cancelled{false};

#if OHLC_HAVE_OPENMP
#pragma omp parallel num_threads(nthreads)
#endif
  {
#if OHLC_HAVE_OPENMP
    const size_t me = static_cast<size_t>(omp_get_thread_num());
#else
    const size_t me = 0;
#endif
    unsigned char* const mine = first_line + me * thread_bytes;
    double* my_scratch = reinterpret_cast<double*>(mine);
    JkxBar* my_bars = reinterpret_cast<JkxBar*>(mine + scratch_bytes);
    const JkxScratch parts = jkx_scratch(my_scratch, shape);
#if OHLC_HAVE_OPENMP
#pragma omp for schedule(static)
#endif
    for (int64_t w = 0; w < n; ++w) {
      if (cancel && cancel->load(std::memory_order_relaxed)) {
        cancelled.store(true, std::memory_order_relaxed);
        continue;
      }
      if (!statuses && w > first_bad.load(std::memory_order_relaxed)) continue;
      const int64_t start = windows.start(static_cast<size_t>(w));
      const bool history_ok = ma_ok ? ma_ok[w] != 0 : true;
      const JkxWindow g = jkx_window_geometry(c, start, shape, history_ok, my_scratch, my_bars);
      if (statuses) statuses[w] = g.status;
      uint8_t* image = static_cast<uint8_t*>(out) + static_cast<size_t>(w) * image_bytes;
      double* ma_row = ma_values ? ma_values + static_cast<size_t>(w) * len : nullptr;
      if (g.status != JkxStatus::kOk) {
        not_drawn.fetch_add(1, std::memory_order_relaxed);
        int64_t cur = first_bad.load();
        while (w < cur && !first_bad.compare_exchange_weak(cur, w)) {
        }
        if (statuses) {
          std::memset(image, 0, image_bytes);
          if (ma_row) std::fill(ma_row, ma_row + len, std::numeric_limits<double>::quiet_NaN());
        }
        continue;
      }
      draw_jkx_window(my_bars, g.ma_drawn, shape, type, image);
      if (ma_row) std::memcpy(ma_row, parts.ma, len * sizeof(double));
    }
  }

  if (cancelled.load()) {
    outcome.status = JkxOutcome::kCancelled;
    return outcome;
  }
  const int64_t bad_window = first_bad.load();
  if (bad_window < n) {
    // The details, found again on this thread: the same function gives the same answer.
    outcome = jkx_not_drawn(c, windows, ma_ok, shape, static_cast<size_t>(bad_window));
    outcome.not_drawn = not_drawn.load();
  }
  return outcome;
}

}  // namespace ohlc
