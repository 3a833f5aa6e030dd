#include "kernels/raster.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <sstream>

#if OHLC_HAVE_OPENMP
#include <omp.h>
#endif

namespace ohlc {

const char* price_field_name(int32_t field) {
  switch (field) {
    case kOpen: return "open";
    case kHigh: return "high";
    case kLow: return "low";
    case kClose: return "close";
    default: return "?";
  }
}

std::string format_price(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

std::string describe_bad_window(size_t window, int64_t start, uint32_t seq_len, const BadPrice& bad) {
  std::ostringstream msg;
  msg << "window " << window << " (candles " << start << ".." << start + seq_len - 1 << "): candle "
      << bad.candle << " has " << price_field_name(bad.field) << " = " << format_price(bad.value)
      << "; prices must be finite and > 0";
  return msg.str();
}

int default_thread_count() {
#if OHLC_HAVE_OPENMP
  return std::max(1, omp_get_max_threads());
#else
  return 1;
#endif
}

bool have_openmp() { return OHLC_HAVE_OPENMP != 0; }

bool window_range(const CandleColumns& c, int64_t start, uint32_t len, double* lo, double* hi,
                  BadPrice* bad) {
  double mn = std::numeric_limits<double>::infinity();
  double mx = 0.0;
  const double* fields[4] = {c.open, c.high, c.low, c.close};
  for (uint32_t k = 0; k < len; ++k) {
    const int64_t i = start + k;
    for (int32_t f = 0; f < 4; ++f) {
      const double p = fields[f][i];
      if (!usable_price(p)) {
        if (bad) {
          bad->candle = i;
          bad->field = f;
          bad->value = p;
        }
        return false;
      }
      mn = p < mn ? p : mn;
      mx = p > mx ? p : mx;
    }
  }
  *lo = mn;
  *hi = mx;
  return true;
}

void window_bar_rows(const CandleColumns& c, int64_t start, ImageShape shape, double lo,
                     double hi, BarRows* bars) {
  const int32_t h = static_cast<int32_t>(shape.height);
  for (uint32_t j = 0; j < shape.seq_len; ++j) {
    const int64_t i = start + j;
    bars[j] = bar_rows(c.open[i], c.high[i], c.low[i], c.close[i], hi, lo, h);
  }
}

namespace {

template <typename T>
void draw_typed(const CandleColumns& c, int64_t start, ImageShape shape, double lo, double hi,
                T background, T ink, T* out) {
  const size_t width = shape.width();
  std::fill(out, out + shape.pixels(), background);
  const int32_t h = static_cast<int32_t>(shape.height);
  for (uint32_t j = 0; j < shape.seq_len; ++j) {
    const int64_t i = start + j;
    const BarRows r = bar_rows(c.open[i], c.high[i], c.low[i], c.close[i], hi, lo, h);
    T* col = out + 4 * static_cast<size_t>(j);
    for (int32_t row = r.line_top; row <= r.line_bottom; ++row) col[row * width] = ink;
    col[r.open * width + 1] = ink;
    col[r.close * width + 2] = ink;
  }
}

}  // namespace

void draw_window(const CandleColumns& c, int64_t start, ImageShape shape, double lo, double hi,
                 PixelType type, void* out) {
  if (type == PixelType::U8) {
    draw_typed<uint8_t>(c, start, shape, lo, hi, 1, 0, static_cast<uint8_t*>(out));
  } else {
    draw_typed<float>(c, start, shape, lo, hi, 1.0f, 0.0f, static_cast<float*>(out));
  }
}

RasterOutcome check_raster_arguments(const CandleColumns& c, const WindowList& windows,
                                     ImageShape shape) {
  RasterOutcome r;
  auto fail = [&r](std::string msg) {
    r.status = RasterOutcome::kBadArgument;
    r.message = std::move(msg);
    return r;
  };
  if (shape.seq_len < 1) return fail("seqLen must be >= 1");
  if (shape.height < 2) return fail("height must be >= 2");
  if (shape.seq_len > (1u << 28) || shape.height > (1u << 28)) return fail("image too large");
  if (windows.count == 0) return r;
  if (!c.open || !c.high || !c.low || !c.close) return fail("candle arrays missing");
  const int64_t last_valid_start = static_cast<int64_t>(c.count) - shape.seq_len;
  if (last_valid_start < 0) return fail("fewer candles than seqLen");
  if (windows.starts) {
    for (size_t i = 0; i < windows.count; ++i) {
      const int64_t s = windows.starts[i];
      if (s < 0 || s > last_valid_start)
        return fail("starts[" + std::to_string(i) + "] = " + std::to_string(s) +
                    " is outside 0.." + std::to_string(last_valid_start));
    }
  } else {
    if (windows.stride < 1) return fail("stride must be >= 1");
    const int64_t first = windows.first;
    const int64_t span = static_cast<int64_t>(windows.count - 1);
    if (first < 0 || first > last_valid_start ||
        span > (last_valid_start - first) / windows.stride)
      return fail("windows run past the last candle");
  }
  return r;
}

RasterOutcome rasterize_cpu(const CandleColumns& c, const WindowList& windows, ImageShape shape,
                            PixelType type, void* out, int threads,
                            const std::atomic<bool>* cancel) {
  RasterOutcome outcome = check_raster_arguments(c, windows, shape);
  if (outcome.status != RasterOutcome::kOk || windows.count == 0) return outcome;

  const size_t image_bytes = shape.pixels() * pixel_bytes(type);
  const int64_t n = static_cast<int64_t>(windows.count);
  // Lowest failing window so far; n means none. Reported deterministically whatever the schedule.
  std::atomic<int64_t> first_bad{n};
  std::atomic<bool> cancelled{false};
  const int nthreads = threads > 0 ? threads : default_thread_count();
  (void)nthreads;

#if OHLC_HAVE_OPENMP
#pragma omp parallel for schedule(static) num_threads(nthreads)
#endif
  for (int64_t w = 0; w < n; ++w) {
    if (cancel && cancel->load(std::memory_order_relaxed)) {
      cancelled.store(true, std::memory_order_relaxed);
      continue;
    }
    if (w > first_bad.load(std::memory_order_relaxed)) continue;
    const int64_t start = windows.start(static_cast<size_t>(w));
    double lo = 0, hi = 0;
    if (!window_range(c, start, shape.seq_len, &lo, &hi, nullptr)) {
      int64_t cur = first_bad.load();
      while (w < cur && !first_bad.compare_exchange_weak(cur, w)) {
      }
      continue;
    }
    draw_window(c, start, shape, lo, hi, type,
                static_cast<uint8_t*>(out) + static_cast<size_t>(w) * image_bytes);
  }

  if (cancelled.load()) {
    outcome.status = RasterOutcome::kCancelled;
    return outcome;
  }
  const int64_t bad_window = first_bad.load();
  if (bad_window < n) {
    outcome.status = RasterOutcome::kInvalidPrice;
    outcome.window = static_cast<size_t>(bad_window);
    double lo, hi;
    window_range(c, windows.start(outcome.window), shape.seq_len, &lo, &hi, &outcome.bad);
  }
  return outcome;
}

}  // namespace ohlc
