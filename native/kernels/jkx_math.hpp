// The pixel rule of the `jkx` layout (docs/IMAGE-JKX.md), shared by the CPU kernels and the CUDA
// kernels. Everything here is float64 evaluated exactly as written, in the order the contract
// gives (the build disables fma contraction on both sides), so every backend lands on the same
// rows bit for bit.
//
// The geometry of a window is computed in phases, each written for "thread t of nt": the CPU
// runs them with (0, 1) through jkx_window_geometry(); the CUDA kernel (cuda/jkx_kernel.cuh)
// runs the very same functions with (threadIdx.x, blockDim.x) and joins them with barriers and
// block reductions. Every value (a scaled price, an MA value, a row) is computed by one
// function from the same inputs in the same order whoever runs it; the reductions are min/max,
// which do not depend on the order. So the pixels agree bit for bit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cfloat>
#include <cstring>

#include "kernels/raster_math.hpp"  // OHLC_HD, usable_price, PriceField

namespace ohlc {

// Field numbers of error reports: PriceField (open 0, high 1, low 2, close 3), then these.
constexpr int32_t kVolumeField = 4;
constexpr int32_t kMovingAverageField = 5;  // only for JkxStatus::kOverflow of an MA value

// Columnar candles with their volumes. `volume` may be null when the volume strip is off.
struct JkxColumns {
  const double* open = nullptr;
  const double* high = nullptr;
  const double* low = nullptr;
  const double* close = nullptr;
  const double* volume = nullptr;
  size_t count = 0;
};

struct JkxShape {
  uint32_t seq_len = 0;  // L, bars per image (>= 2)
  uint32_t height = 0;   // H, rows
  bool volume = false;   // volume strip at the bottom
  uint32_t ma = 0;       // moving-average length k; 0 = no line

  OHLC_HD uint32_t width() const { return 3u * seq_len; }
  // Hv: rows of the volume strip (0 without it).
  OHLC_HD uint32_t volume_rows() const { return volume ? height / 5u : 0u; }
  // Hp: rows of the price area, at the top; with the strip, one blank row separates the two.
  OHLC_HD uint32_t price_rows() const { return volume ? height - volume_rows() - 1u : height; }
  // Closes before the window that the MA line needs.
  OHLC_HD uint32_t history() const { return ma > 0 ? ma - 1u : 0u; }
  OHLC_HD size_t pixels() const { return static_cast<size_t>(height) * width(); }
};

// What became of one window.
enum class JkxStatus : uint8_t {
  kOk = 0,             // drawn
  kInvalidPrice = 1,   // a price (or an MA history close) is not finite and > 0
  kInvalidVolume = 2,  // a volume is not finite and >= 0 (volume strip on)
  kFlat = 3,           // hi == lo: nothing to scale
  kOverflow = 4,       // a scaled value (price / first close, or an MA sum) overflows float64
};

// Geometry of bar i. Price rows y count from the bottom of the price area (0) up; the image row
// (0 at the top) of price row y is Hp - 1 - y. Volume pixels fill image rows H - 1 - u for
// u = 0 .. volume - 1.
struct JkxBar {
  int32_t line_bottom;  // high-low line, price rows line_bottom .. line_top inclusive
  int32_t line_top;     // (a malformed candle with high < low still gets the line joining them)
  int32_t open;         // open tick: columns x_i - 1 and x_i
  int32_t close;        // close tick: column x_i + 1
  int32_t volume;       // pixels of the volume bar: max(n_i, 1); 0 without strip or when vmax == 0
  int32_t ma;           // price row of MA[i] when the line is drawn, else -1
};

// Whether the MA line is drawn for a window starting at `start`: the layout asks for it, the
// caller says the k - 1 candles before the window are there and contiguous (no gap), and the
// series reaches back that far.
OHLC_HD inline bool jkx_ma_drawn(JkxShape s, int64_t start, bool ma_history_ok) {
  return s.ma > 0 && ma_history_ok && start >= static_cast<int64_t>(s.ma) - 1;
}

OHLC_HD inline bool usable_volume(double v) {
  // Rejects NaN (comparison false), infinities and v < 0; -0.0 is accepted as 0.
  return v >= 0.0 && v <= 1.7976931348623157e308;
}

// usable_price and usable_volume on the bit patterns, without branches or floating-point
// compares (which the compiler must keep in order under -ftrapping-math), for screening whole
// columns: a double is finite and > 0 exactly when its bits, read as an unsigned integer, lie in
// 1 (the smallest subnormal) .. 0x7FEFFFFFFFFFFFFF (DBL_MAX); zeros, negative numbers,
// infinities and NaNs all fall outside. A volume may also be +0 or -0.
OHLC_HD inline uint64_t double_bits(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}
OHLC_HD inline uint32_t usable_price_bits(double p) {
  return static_cast<uint32_t>(double_bits(p) - 1u < 0x7FEFFFFFFFFFFFFFull);
}
OHLC_HD inline uint32_t usable_volume_bits(double v) {
  const uint64_t u = double_bits(v);
  return static_cast<uint32_t>(u <= 0x7FEFFFFFFFFFFFFFull) |
         static_cast<uint32_t>(u == 0x8000000000000000ull);
}

// round_half_even(x) for 0 <= x < 2^52, as rint(x) in the default rounding mode. The device
// uses rint (one cvt.rni). On the host, rint has to handle signs and |x| >= 2^52 too, which
// costs a dozen instructions and a branch per row; for the non-negative x of this layout the
// same IEEE operation is written out: x + 2^52 lies in [2^52, 2^53), where doubles are the
// integers, so the addition rounds x to an integer (to nearest, ties to even), and subtracting
// 2^52 again is exact. This needs float64 evaluated as float64 (FLT_EVAL_METHOD 0: SSE2,
// AArch64; not x87), no reassociation (no -ffast-math: the build says -fno-fast-math) and the
// default rounding mode, the same conditions under which rint is half-even.
OHLC_HD inline double jkx_round_half_even(double x) {
#if defined(__CUDA_ARCH__) || !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
  return rint(x);
#else
  const double two52 = 4503599627370496.0;
  return (x + two52) - two52;
#endif
}

// y(p) = round_half_even((p - lo) * ppu). The clamp is unreachable for p in [lo, hi]: then
// 0 <= p - lo <= hi - lo, and (hi - lo) * ((Hp - 1) / (hi - lo)) is within two ulps of Hp - 1,
// so y <= Hp - 1. It only keeps a caller's mistake in bounds.
OHLC_HD inline int32_t jkx_price_row(double p, double lo, double ppu, int32_t price_rows) {
  double y = jkx_round_half_even((p - lo) * ppu);
  const double top = static_cast<double>(price_rows - 1);
  y = y < top ? y : top;  // selects, not branches (minsd / maxsd)
  y = y > 0.0 ? y : 0.0;
  return static_cast<int32_t>(y);
}

// Pixels of a volume bar: max(round_half_even(v * ppv), 1), ppv = Hv / vmax. When vmax is so
// small that Hv / vmax overflows (vmax < Hv * 2^-1024, subnormal), v * ppv is +inf (drawn full
// height, the limit) or NaN for v = 0 (drawn as 0); otherwise the clamp to Hv never acts.
OHLC_HD inline int32_t jkx_volume_pixels(double v, double ppv, int32_t volume_rows) {
  const double n = v * ppv;
  int32_t r = 0;
  if (n >= static_cast<double>(volume_rows)) r = volume_rows;
  else if (n > 0.0) r = static_cast<int32_t>(jkx_round_half_even(n));
  return r < 1 ? 1 : r;
}

// ---------------------------------------------------------------------------------------------
// Phases of one window's geometry (thread t of nt).
// ---------------------------------------------------------------------------------------------

// Scratch of one window: jkx_scratch_doubles(shape) doubles, split as below.
OHLC_HD inline size_t jkx_scratch_doubles(JkxShape s) {
  return static_cast<size_t>(s.history()) + 5 * static_cast<size_t>(s.seq_len);
}

struct JkxScratch {
  double* close;  // history() + L scaled closes: close[j] is candle start - history() + j
  double* open;   // L scaled opens, highs, lows of the window
  double* high;
  double* low;
  double* ma;     // L MA values; NaN when the line is not drawn (what the dataset stores)
};

OHLC_HD inline JkxScratch jkx_scratch(double* base, JkxShape s) {
  const size_t hk = s.history(), len = s.seq_len;
  JkxScratch r;
  r.close = base;
  r.open = base + hk + len;
  r.high = r.open + len;
  r.low = r.high + len;
  r.ma = r.low + len;
  return r;
}

// What one window's phases share (on the GPU: in shared memory, filled by thread 0 or by all).
struct JkxWork {
  JkxColumns c;
  int64_t start = 0;
  JkxShape shape;
  bool ma_drawn = false;
  uint32_t hk = 0;  // history closes in use: k - 1 when the line is drawn, else 0
  JkxScratch s;
  JkxBar* bars = nullptr;  // L entries
  // Set by jkx_settle:
  double lo = 0, hi = 0, ppu = 0, ppv = 0;
};

OHLC_HD inline JkxWork jkx_work(const JkxColumns& c, int64_t start, JkxShape shape,
                                bool ma_history_ok, double* scratch, JkxBar* bars) {
  JkxWork w;
  w.c = c;
  w.start = start;
  w.shape = shape;
  w.ma_drawn = jkx_ma_drawn(shape, start, ma_history_ok);
  w.hk = w.ma_drawn ? shape.history() : 0u;
  w.s = jkx_scratch(scratch, shape);
  w.bars = bars;
  return w;
}

// The column of a field number (no array of pointers: on the GPU that would live on the stack).
OHLC_HD inline const double* jkx_field(const JkxColumns& c, uint32_t field) {
  switch (field) {
    case kOpen: return c.open;
    case kHigh: return c.high;
    case kLow: return c.low;
    case kClose: return c.close;
    default: return c.volume;
  }
}

// Phase 1, validation. Every input is visited in the order "candle by candle, fields open, high,
// low, close, volume", the history closes first (when the line is drawn); the key of an input
// is (candle - (start - hk)) * 8 + field, so the smallest key of all threads names the first
// unusable input. Returns the thread's smallest key, or kJkxNoBad.
constexpr uint64_t kJkxNoBad = ~uint64_t{0};

OHLC_HD inline uint64_t jkx_first_bad(const JkxWork& w, uint32_t t, uint32_t nt) {
  const uint64_t hk = w.hk;
#if !defined(__CUDA_ARCH__)  // the CPU's serial path (the GPU always runs many threads)
  if (nt == 1) {  // the CPU's walk: no strides to track
    // A branch-free screen first (it vectorises); the ordered search only when it fails.
    const int64_t len = w.shape.seq_len;
    const double* h0 = w.c.close + (w.start - static_cast<int64_t>(hk));
    const double* o = w.c.open + w.start;
    const double* hi = w.c.high + w.start;
    const double* lo = w.c.low + w.start;
    const double* c = w.c.close + w.start;
    uint32_t good = 1;
    for (uint64_t e = 0; e < hk; ++e) good &= usable_price_bits(h0[e]);
    for (int64_t j = 0; j < len; ++j)
      good &= usable_price_bits(o[j]) & usable_price_bits(hi[j]) & usable_price_bits(lo[j]) &
              usable_price_bits(c[j]);
    if (w.shape.volume) {
      const double* v = w.c.volume + w.start;
      for (int64_t j = 0; j < len; ++j) good &= usable_volume_bits(v[j]);
    }
    if (good) return kJkxNoBad;
    for (uint64_t e = 0; e < hk; ++e)
      if (!usable_price(w.c.close[w.start - static_cast<int64_t>(hk) + static_cast<int64_t>(e)]))
        return e * 8 + kClose;
    for (uint32_t j = 0; j < w.shape.seq_len; ++j) {
      const int64_t i = w.start + j;
      const uint64_t key = (hk + j) * 8;
      if (!usable_price(w.c.open[i])) return key + kOpen;
      if (!usable_price(w.c.high[i])) return key + kHigh;
      if (!usable_price(w.c.low[i])) return key + kLow;
      if (!usable_price(w.c.close[i])) return key + kClose;
      if (w.shape.volume && !usable_volume(w.c.volume[i])) return key + kVolumeField;
    }
    return kJkxNoBad;
  }
#endif
  for (uint64_t e = t; e < hk; e += nt)
    if (!usable_price(w.c.close[w.start - static_cast<int64_t>(hk) + static_cast<int64_t>(e)]))
      return e * 8 + kClose;
  // Window inputs: element r = j * F + f, walked with stride nt without dividing per element.
  const uint32_t fields = w.shape.volume ? 5u : 4u;
  const uint64_t total = static_cast<uint64_t>(w.shape.seq_len) * fields;
  const uint64_t first = t >= hk ? t - hk : (nt - (hk - t) % nt) % nt;  // first r >= 0 with r = t - hk (mod nt)
  if (first >= total) return kJkxNoBad;
  uint64_t j = first / fields;
  uint32_t f = static_cast<uint32_t>(first % fields);
  const uint64_t step_j = nt / fields;
  const uint32_t step_f = nt % fields;
  for (uint64_t r = first; r < total; r += nt) {
    const double v = jkx_field(w.c, f)[w.start + static_cast<int64_t>(j)];
    if (f == kVolumeField ? !usable_volume(v) : !usable_price(v)) return (hk + j) * 8 + f;
    j += step_j;
    f += step_f;
    if (f >= fields) {
      f -= fields;
      ++j;
    }
  }
  return kJkxNoBad;
}

// The offending input named by a key of jkx_first_bad.
OHLC_HD inline int64_t jkx_bad_candle(const JkxWork& w, uint64_t key) {
  return w.start - static_cast<int64_t>(w.hk) + static_cast<int64_t>(key / 8);
}
OHLC_HD inline int32_t jkx_bad_field(uint64_t key) { return static_cast<int32_t>(key % 8); }

// Running minimum and maximum of the scaled values (and the largest volume) a thread has seen.
struct JkxRange {
  double lo;
  double hi;
  double vmax;
};

OHLC_HD inline JkxRange jkx_empty_range() {
  JkxRange r;
  r.lo = static_cast<double>(INFINITY);
  r.hi = -static_cast<double>(INFINITY);
  r.vmax = 0.0;
  return r;
}

OHLC_HD inline void jkx_include(JkxRange& r, double p) {
  r.lo = p < r.lo ? p : r.lo;
  r.hi = p > r.hi ? p : r.hi;
}

OHLC_HD inline JkxRange jkx_merge(JkxRange a, const JkxRange& b) {
  a.lo = b.lo < a.lo ? b.lo : a.lo;
  a.hi = b.hi > a.hi ? b.hi : a.hi;
  a.vmax = b.vmax > a.vmax ? b.vmax : a.vmax;
  return a;
}

// Phase 2, scaling (after validation): every close the window and its MA use, and the window's
// opens, highs and lows, divided by c0 = close[start]. Returns the thread's part of the range
// of the window's scaled o, h, l, c and of its volumes.
OHLC_HD inline JkxRange jkx_scale(JkxWork& w, uint32_t t, uint32_t nt) {
  JkxRange r = jkx_empty_range();
  const double c0 = w.c.close[w.start];
  const uint32_t hk = w.hk, len = w.shape.seq_len;
  const int64_t base = w.start - static_cast<int64_t>(hk);
#if !defined(__CUDA_ARCH__)  // the CPU's serial path (the GPU always runs many threads)
  if (nt == 1) {
    // The same divisions, one array at a time (the loops vectorise), then the range with one
    // running min/max per field.
    double* __restrict__ sc = w.s.close;
    double* __restrict__ so = w.s.open;
    double* __restrict__ sh = w.s.high;
    double* __restrict__ sl = w.s.low;
    const double* cl = w.c.close + base;
    const double* op = w.c.open + w.start;
    const double* hp = w.c.high + w.start;
    const double* lp = w.c.low + w.start;
    for (uint32_t j = 0; j < hk + len; ++j) sc[j] = cl[j] / c0;
    for (uint32_t i = 0; i < len; ++i) so[i] = op[i] / c0;
    for (uint32_t i = 0; i < len; ++i) sh[i] = hp[i] / c0;
    for (uint32_t i = 0; i < len; ++i) sl[i] = lp[i] / c0;
    JkxRange ro = r, rh = r, rl = r, rc = r;
    const double* sw = sc + hk;
    for (uint32_t i = 0; i < len; ++i) {
      jkx_include(ro, so[i]);
      jkx_include(rh, sh[i]);
      jkx_include(rl, sl[i]);
      jkx_include(rc, sw[i]);
    }
    r = jkx_merge(jkx_merge(ro, rh), jkx_merge(rl, rc));
    if (w.shape.volume) {
      const double* v = w.c.volume + w.start;
      double vmax = 0.0;
      for (uint32_t i = 0; i < len; ++i) vmax = v[i] > vmax ? v[i] : vmax;
      r.vmax = vmax;
    }
    return r;
  }
#endif
  for (uint32_t j = t; j < hk + len; j += nt) {
    const double sc = w.c.close[base + j] / c0;
    w.s.close[j] = sc;
    if (j < hk) continue;
    const uint32_t i = j - hk;
    const int64_t candle = w.start + i;
    const double so = w.c.open[candle] / c0;
    const double sh = w.c.high[candle] / c0;
    const double sl = w.c.low[candle] / c0;
    w.s.open[i] = so;
    w.s.high[i] = sh;
    w.s.low[i] = sl;
    jkx_include(r, so);
    jkx_include(r, sh);
    jkx_include(r, sl);
    jkx_include(r, sc);
    if (w.shape.volume) {
      const double v = w.c.volume[candle];
      r.vmax = v > r.vmax ? v : r.vmax;
    }
  }
  return r;
}

// MA[i] = (s[i - k + 1] + ... + s[i]) / k, summed left to right, over the scaled closes.
OHLC_HD inline double jkx_moving_average(const double* scaled_closes, uint32_t i, uint32_t k) {
  // scaled_closes[0] is candle start - (k - 1): bar i's first term sits at index i.
  const double* p = scaled_closes + i;
  double sum = p[0];
  for (uint32_t q = 1; q < k; ++q) sum = sum + p[q];
  return sum / static_cast<double>(k);
}

// Phase 3 (after every scaled close is in place): the MA values, when the line is drawn, and the
// thread's part of their range.
OHLC_HD inline JkxRange jkx_averages(JkxWork& w, uint32_t t, uint32_t nt) {
  JkxRange r = jkx_empty_range();
  if (!w.ma_drawn) return r;
#if !defined(__CUDA_ARCH__)  // the CPU's serial path (the GPU always runs many threads)
  if (nt == 1) {
    // Eight bars' sums advance together, term by term: each MA[i] still adds s[i], s[i+1], ...
    // left to right and divides by k, exactly as jkx_moving_average does.
    double* __restrict__ ma = w.s.ma;
    const double* __restrict__ sc = w.s.close;
    const uint32_t len = w.shape.seq_len, k = w.shape.ma;
    constexpr uint32_t kLanes = 8;  // sums kept in registers, 8 independent chains
    uint32_t i = 0;
    for (; i + kLanes <= len; i += kLanes) {
      const double* const first = sc + i;  // bar i's first term; bar i + j's is first[j]
      double sum[kLanes];
      for (uint32_t j = 0; j < kLanes; ++j) sum[j] = first[j];
      for (const double* term = first + 1; term != first + k; ++term)
        for (uint32_t j = 0; j < kLanes; ++j) sum[j] = sum[j] + term[j];
      for (uint32_t j = 0; j < kLanes; ++j) ma[i + j] = sum[j];
    }
    for (; i < len; ++i) {
      double sum = sc[i];
      for (uint32_t q = 1; q < k; ++q) sum = sum + sc[i + q];
      ma[i] = sum;
    }
    const double kd = static_cast<double>(k);
    for (uint32_t i = 0; i < len; ++i) {
      ma[i] = ma[i] / kd;
      jkx_include(r, ma[i]);
    }
    return r;
  }
#endif
  for (uint32_t i = t; i < w.shape.seq_len; i += nt) {
    const double m = jkx_moving_average(w.s.close, i, w.shape.ma);
    w.s.ma[i] = m;
    jkx_include(r, m);
  }
  return r;
}

// Phase 4, on the whole window's range (every thread, same inputs): lo, hi, ppu, ppv.
OHLC_HD inline JkxStatus jkx_settle(JkxWork& w, const JkxRange& r) {
  w.lo = r.lo;
  w.hi = r.hi;
  // lo <= 1 <= hi always (the first close scales to exactly 1), so a non-finite hi is the only
  // way a scaled value can overflow, and hi - lo cannot overflow.
  if (!(r.hi <= 1.7976931348623157e308)) return JkxStatus::kOverflow;
  if (r.hi == r.lo) return JkxStatus::kFlat;
  w.ppu = (static_cast<double>(w.shape.price_rows()) - 1.0) / (r.hi - r.lo);
  w.ppv = (w.shape.volume && r.vmax > 0.0)
              ? static_cast<double>(w.shape.volume_rows()) / r.vmax
              : 0.0;
  return JkxStatus::kOk;
}

// Phase 5: the rows of every bar (and NaN for the MA values of a window without the line).
OHLC_HD inline void jkx_rows(JkxWork& w, uint32_t t, uint32_t nt) {
  // Locals: the stores below (ints, doubles) could otherwise alias `w` and force reloads.
  const int32_t hp = static_cast<int32_t>(w.shape.price_rows());
  const int32_t hv = static_cast<int32_t>(w.shape.volume_rows());
  const double lo = w.lo, ppu = w.ppu, ppv = w.ppv;
  const bool volume_bars = ppv > 0.0, ma_drawn = w.ma_drawn;
  const uint32_t len = w.shape.seq_len;
  const double* const so = w.s.open;
  const double* const sh = w.s.high;
  const double* const sl = w.s.low;
  const double* const sc = w.s.close + w.hk;
  const double* const v = w.c.volume + w.start;
  double* const ma = w.s.ma;
  JkxBar* const bars = w.bars;
  for (uint32_t i = t; i < len; i += nt) {
    JkxBar b;
    const int32_t yh = jkx_price_row(sh[i], lo, ppu, hp);
    const int32_t yl = jkx_price_row(sl[i], lo, ppu, hp);
    b.line_bottom = yl < yh ? yl : yh;
    b.line_top = yl < yh ? yh : yl;
    b.open = jkx_price_row(so[i], lo, ppu, hp);
    b.close = jkx_price_row(sc[i], lo, ppu, hp);
    b.volume = volume_bars ? jkx_volume_pixels(v[i], ppv, hv) : 0;
    if (ma_drawn) {
      b.ma = jkx_price_row(ma[i], lo, ppu, hp);
    } else {
      b.ma = -1;
      ma[i] = static_cast<double>(NAN);
    }
    bars[i] = b;
  }
}

// ---------------------------------------------------------------------------------------------
// One window, start to end, on one thread.
// ---------------------------------------------------------------------------------------------
struct JkxWindow {
  JkxStatus status = JkxStatus::kOk;
  bool ma_drawn = false;
  double lo = 0, hi = 0;  // range of the scaled values (kOk, kFlat)
  // kInvalidPrice / kInvalidVolume: the first unusable input (candle index into the columns,
  // field as in kVolumeField, raw value).
  int64_t bad_candle = -1;
  int32_t bad_field = 0;
  double bad_value = 0;
};

// The geometry of the window starting at `start`: fills `bars` (L entries) and the scratch
// (jkx_scratch_doubles(shape) doubles; its `ma` part then holds the L values to store, NaN
// without the line) when the status is kOk. `ma_history_ok`: the caller's word that the k - 1
// candles before the window exist with no gap; the function also requires start >= k - 1.
// Columns, start and shape must have passed check_jkx_arguments (kernels/raster_jkx.hpp).
//
// `given_ma` (nullable) redraws a stored image: the window's L MA values as the dataset's `ma`
// array holds them (NaN: no line), used instead of averaging the history, which is then not
// read. The values are the ones the line was drawn from, so the rows, and the pixels, are the same.
OHLC_HD inline JkxWindow jkx_window_geometry(const JkxColumns& c, int64_t start, JkxShape shape,
                                             bool ma_history_ok, double* scratch, JkxBar* bars,
                                             const double* given_ma = nullptr) {
  JkxWork w = jkx_work(c, start, shape, given_ma ? false : ma_history_ok, scratch, bars);
  JkxWindow g;
  const uint64_t bad = jkx_first_bad(w, 0, 1);
  if (bad != kJkxNoBad) {
    g.bad_candle = jkx_bad_candle(w, bad);
    g.bad_field = jkx_bad_field(bad);
    g.bad_value = jkx_field(c, static_cast<uint32_t>(g.bad_field))[g.bad_candle];
    g.status = g.bad_field == kVolumeField ? JkxStatus::kInvalidVolume : JkxStatus::kInvalidPrice;
    return g;
  }
  JkxRange r = jkx_scale(w, 0, 1);
  if (given_ma) {
    w.ma_drawn = shape.ma > 0 && given_ma[0] == given_ma[0];  // not NaN: the line was drawn
    for (uint32_t i = 0; w.ma_drawn && i < shape.seq_len; ++i) {
      w.s.ma[i] = given_ma[i];
      jkx_include(r, given_ma[i]);
    }
  } else {
    r = jkx_merge(r, jkx_averages(w, 0, 1));
  }
  g.ma_drawn = w.ma_drawn;
  g.status = jkx_settle(w, r);
  g.lo = w.lo;
  g.hi = w.hi;
  if (g.status != JkxStatus::kOk) return g;
  jkx_rows(w, 0, 1);
  return g;
}

// ---------------------------------------------------------------------------------------------
// Ink of one bar.
// ---------------------------------------------------------------------------------------------

// Plots (x, y) of the MA segment from bar i to bar i + 1 (price rows, bottom-up), as Pillow's
// line8 does, then its end point. dx is always 3.
template <typename Plot>
OHLC_HD inline void jkx_ma_segment(int32_t x0, int32_t y0, int32_t y1, const Plot& plot) {
  const int32_t dx = 3;
  const int32_t dy = y1 >= y0 ? y1 - y0 : y0 - y1;
  const int32_t sy = y1 >= y0 ? 1 : -1;
  int32_t x = x0, y = y0;
  if (dy == 0) {
    plot(x0, y);
    plot(x0 + 1, y);
    plot(x0 + 2, y);
  } else if (dx > dy) {
    int32_t e = 2 * dy - dx;
    for (int32_t n = 0; n < dx; ++n) {
      plot(x, y);
      if (e >= 0) {
        y += sy;
        e -= 2 * dx;
      }
      e += 2 * dy;
      x += 1;
    }
  } else {
    int32_t e = 2 * dx - dy;
    for (int32_t n = 0; n < dy; ++n) {
      plot(x, y);
      if (e >= 0) {
        x += 1;
        e -= 2 * dy;
      }
      e += 2 * dx;
      y += sy;
    }
  }
  plot(x0 + dx, y1);
}

// Image rows first..last (inclusive, first <= last) of one column.
struct JkxRowSpan {
  int32_t first;
  int32_t last;
};

// The rows jkx_ma_segment plots in column x0 + j (j = 0..3) of the segment from (x0, y0) to
// (x0 + 3, y1), as image rows (`top`: the image row of price row 0). With dx = 3 the segment is
// monotone and moves at most one column a step, so each column gets one run of rows, computed
// here in closed form rather than stepped (the small images' masks and the geometry encoder's
// runs draw from it). jkx_check compares it with jkx_ma_segment on every segment of a 64-row
// price area.
OHLC_HD inline JkxRowSpan jkx_ma_segment_column(int32_t j, int32_t y0, int32_t y1, int32_t top) {
  const int32_t dy = y1 >= y0 ? y1 - y0 : y0 - y1;
  const int32_t sy = y1 >= y0 ? 1 : -1;
  // The segment's steps n (row y0 + sy * n) that land in column j. dy <= 2 (flat or dx > dy):
  // one per column, n = round(dy * j / 3) with ties down, as line8's error term rounds. dy >= 3:
  // step n is in column floor((6n + dy) / (2dy)), so column j holds
  // n = ceil((2j - 1) dy / 6) .. ceil((2j + 1) dy / 6) - 1; the last column ends at the end
  // point, n = dy.
  const int32_t gentle = (2 * dy * j + 3) / 6;
  const int32_t first = dy <= 2 ? gentle : j == 0 ? 0 : ((2 * j - 1) * dy + 5) / 6;
  const int32_t last = dy <= 2 ? gentle : j == 3 ? dy : ((2 * j + 1) * dy + 5) / 6 - 1;
  const int32_t a = top - (y0 + sy * first), b = top - (y0 + sy * last);
  return a < b ? JkxRowSpan{a, b} : JkxRowSpan{b, a};
}

// Writes ink into one image (row-major, 0 at the top) at price rows or volume rows.
template <typename T>
struct JkxInk {
  T* image;
  uint32_t width;
  int32_t price_rows;
  int32_t height;
  T ink;
  // (x, y) in price rows, bottom-up.
  OHLC_HD void operator()(int32_t x, int32_t y) const {
    image[static_cast<size_t>(price_rows - 1 - y) * width + static_cast<uint32_t>(x)] = ink;
  }
};

// `n` pixels down a column from `p`, `step` elements apart (4 stores per loop turn: a line is
// often tens of pixels).
template <typename T>
OHLC_HD inline void jkx_column(T* p, int32_t n, ptrdiff_t step, T v) {
  for (; n >= 4; n -= 4, p += 4 * step) {
    p[0] = v;
    p[step] = v;
    p[2 * step] = v;
    p[3 * step] = v;
  }
  for (; n > 0; --n, p += step) *p = v;
}

// Every ink pixel of bar i: its high-low line, ticks and volume bar, and the MA segment to bar
// i + 1 (when drawn). Bars can be drawn in any order, or at once by different threads: pixels
// of neighbouring segments overlap only with the same value.
template <typename T>
OHLC_HD inline void jkx_draw_bar(const JkxBar* bars, uint32_t i, JkxShape shape, bool ma_drawn,
                                 const JkxInk<T>& ink) {
  // Copies, not references: a store through T = uint8_t may alias anything, and would make the
  // compiler reload the bar after every pixel.
  const JkxBar b = bars[i];
  const int32_t next_ma = (ma_drawn && i + 1 < shape.seq_len) ? bars[i + 1].ma : -1;
  const T v = ink.ink;
  const size_t w = ink.width;
  const int32_t x = static_cast<int32_t>(3 * i + 1);
  T* const col = ink.image + x;
  const int32_t top = ink.price_rows - 1;
  jkx_column(col + static_cast<size_t>(top - b.line_top) * w, b.line_top - b.line_bottom + 1,
             static_cast<ptrdiff_t>(w), v);
  T* const open = ink.image + static_cast<size_t>(top - b.open) * w + x;
  open[-1] = v;
  open[0] = v;
  ink.image[static_cast<size_t>(top - b.close) * w + x + 1] = v;
  jkx_column(col + static_cast<size_t>(ink.height - 1) * w, b.volume, -static_cast<ptrdiff_t>(w), v);
  if (next_ma >= 0) jkx_ma_segment(x, b.ma, next_ma, ink);
}

}  // namespace ohlc
