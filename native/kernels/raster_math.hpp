// The pixel rule of docs/IMAGE.md, shared by the CPU kernels and the CUDA kernels.
// Everything here is float64 evaluated exactly as written (the build disables fma contraction),
// so every backend lands on the same rows bit for bit.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define OHLC_HD __host__ __device__
#else
#define OHLC_HD
#endif

namespace ohlc {

// Field order used for rows and error reports.
enum PriceField : int32_t { kOpen = 0, kHigh = 1, kLow = 2, kClose = 3 };

OHLC_HD inline bool usable_price(double p) {
  // Rejects NaN (comparison false), infinities and p <= 0.
  return p > 0.0 && p <= 1.7976931348623157e308;
}

// row(p) = floor((hi - p) / (hi - lo) * (H - 1) + 0.5); a flat window (hi == lo) puts every
// price on row (H - 1) div 2. Row 0 is the top (highest price).
OHLC_HD inline int32_t price_row(double p, double hi, double lo, int32_t height) {
  if (hi == lo) return (height - 1) / 2;
  const double scaled = (hi - p) / (hi - lo) * static_cast<double>(height - 1) + 0.5;
  int32_t row = static_cast<int32_t>(floor(scaled));
  // Unreachable for p in [lo, hi]; keeps a caller's mistake from writing out of bounds.
  if (row < 0) row = 0;
  if (row > height - 1) row = height - 1;
  return row;
}

// Rows of one bar: the high-low line spans [line_top, line_bottom] inclusive.
struct BarRows {
  int32_t line_top;
  int32_t line_bottom;
  int32_t open;
  int32_t close;
};

OHLC_HD inline BarRows bar_rows(double o, double h, double l, double c, double hi, double lo,
                                int32_t height) {
  const int32_t rh = price_row(h, hi, lo, height);
  const int32_t rl = price_row(l, hi, lo, height);
  BarRows r;
  // A malformed candle (high < low) still gets a line between its two rows.
  r.line_top = rh < rl ? rh : rl;
  r.line_bottom = rh < rl ? rl : rh;
  r.open = price_row(o, hi, lo, height);
  r.close = price_row(c, hi, lo, height);
  return r;
}

}  // namespace ohlc
