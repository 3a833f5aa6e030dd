// CPU rasterizer: windows of candles -> OHLC bar images (docs/IMAGE.md).
// Plain C++ with OpenMP; no Node-API, so tools, tests and the storage writers use it directly.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/raster_math.hpp"

namespace ohlc {

// Columnar candles: four arrays of `count` float64 prices, and their volumes for layouts that
// draw them (null otherwise).
struct CandleColumns {
  const double* open = nullptr;
  const double* high = nullptr;
  const double* low = nullptr;
  const double* close = nullptr;
  size_t count = 0;
  const double* volume = nullptr;
};

enum class PixelType : int32_t { U8 = 0, F32 = 1 };

inline size_t pixel_bytes(PixelType t) { return t == PixelType::U8 ? 1 : 4; }

struct ImageShape {
  uint32_t seq_len = 0;    // L, bars per image
  uint32_t height = 0;     // H, rows
  uint32_t bar_width = 4;  // columns per bar: 4 (IMAGE.md), 3 (the jkx layout)
  uint32_t width() const { return bar_width * seq_len; }
  size_t pixels() const { return static_cast<size_t>(height) * width(); }
};

// Which windows: explicit starts, or start_i = first + i * stride.
struct WindowList {
  const int64_t* starts = nullptr;  // optional
  int64_t first = 0;
  int64_t stride = 1;
  size_t count = 0;
  int64_t start(size_t i) const {
    return starts ? starts[i] : first + static_cast<int64_t>(i) * stride;
  }
};

// The lowest and highest window start of a non-empty list: the candles [lo, hi + seq_len) are
// all that its windows read.
struct StartRange {
  int64_t lo;
  int64_t hi;
};
inline StartRange start_range(const WindowList& w) {
  StartRange r{w.start(0), w.start(0)};
  if (!w.starts) {
    r.hi = w.start(w.count - 1);
    return r;
  }
  for (size_t i = 1; i < w.count; ++i) {
    r.lo = w.starts[i] < r.lo ? w.starts[i] : r.lo;
    r.hi = w.starts[i] > r.hi ? w.starts[i] : r.hi;
  }
  return r;
}

// The first offending price of a window.
struct BadPrice {
  int64_t candle = -1;
  int32_t field = 0;  // PriceField
  double value = 0;
};

const char* price_field_name(int32_t field);

// "window 3 (candles 3..102): candle 57 has high = NaN; prices must be finite and > 0"
std::string describe_bad_window(size_t window, int64_t start, uint32_t seq_len, const BadPrice& bad);
// A value as messages show it: 17 significant digits, and NaN / Infinity / -Infinity as JS prints them.
std::string format_price(double v);

// Scans a window: false (with `bad` filled) when a price is not finite and > 0,
// else the window's lowest and highest price.
bool window_range(const CandleColumns& c, int64_t start, uint32_t len, double* lo, double* hi,
                  BadPrice* bad);

// Draws one image from a validated window into `out` (shape.pixels() elements of `type`).
void draw_window(const CandleColumns& c, int64_t start, ImageShape shape, double lo, double hi,
                 PixelType type, void* out);

// Fills `bars` (shape.seq_len entries) with the rows of each bar of a validated window.
void window_bar_rows(const CandleColumns& c, int64_t start, ImageShape shape, double lo,
                     double hi, BarRows* bars);

struct RasterOutcome {
  enum Status { kOk = 0, kInvalidPrice = 1, kCancelled = 2, kBadArgument = 3 };
  Status status = kOk;
  size_t window = 0;  // the lowest failing window, for kInvalidPrice
  BadPrice bad;
  std::string message;  // for kBadArgument
};

// Checks what the kernels rely on (sizes, every start in range); kOk or kBadArgument.
RasterOutcome check_raster_arguments(const CandleColumns& c, const WindowList& windows,
                                     ImageShape shape);

// Rasterizes every window into `out` (windows.count * shape.pixels() elements of `type`).
// threads <= 0 means all available. `cancel`, when given, is polled between windows.
RasterOutcome rasterize_cpu(const CandleColumns& c, const WindowList& windows, ImageShape shape,
                            PixelType type, void* out, int threads,
                            const std::atomic<bool>* cancel);

// Threads OpenMP would use for threads <= 0 (1 without OpenMP).
int default_thread_count();
bool have_openmp();

}  // namespace ohlc
