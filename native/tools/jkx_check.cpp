// jkx_check: the jkx layout's CPU kernel (kernels/raster_jkx.cpp) against docs/IMAGE-JKX.md.
// Standalone (no Node, no GPU): built by CMake next to the addon. Run with --help.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <limits>
#include <string>
#include <vector>

#include "cuda/jkx_layout.hpp"
#include "cuda/raster_cuda.hpp"
#include "kernels/deflate/geometry_encoder.hpp"
#include "kernels/deflate/row_deflate.hpp"
#include "kernels/jkx_column_masks.hpp"
#include "kernels/jkx_ink_runs.hpp"
#include "kernels/raster.hpp"
#include "kernels/raster_jkx.hpp"
#include "tools/tool_support.hpp"

using namespace ohlc;
using namespace ohlc::tools;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitMismatch = 1;
constexpr int kExitUsage = 2;
constexpr int kExitCudaError = 3;
constexpr int kExitNoGpu = 4;

const char* kHelp = R"(jkx_check: the jkx layout's CPU rasterizer against the contract (docs/IMAGE-JKX.md).

usage: jkx_check [options]
  --seed N      random seed (default 1); every case is reproducible from it
  --cases N     random cases (default 1000, ~60 windows each)
  --case K      run only random case K (with its seed), printing it and its windows
  --quick       --cases 150
  --emit N      print N random windows and this kernel's images and MA values as JSON (for
                test/jkx-reference.test.ts) instead of checking
  --bench       also time the paper's shapes (5 x 32, 20 x 64, 60 x 96; volume, MA = seqLen)
                against the default layout at about the same pixel count (4, 15, 45 bars),
                one thread and all threads
                (with --gpu: the same two on the GPU, device to host included)
  --gpu         also run every case through the CUDA kernel (rasterize_jkx_cuda) when a usable
                device is found, against the CPU kernel: every pixel and the outcome
  --require-gpu like --gpu, and exit 4 when no usable CUDA device is found
  --help        this text

What it does:
  1. the worked example of IMAGE-JKX.md (L 5, H 32, volume, MA 5): both pictures, exactly; and
     the host's round-half-even (jkx_round_half_even) against rint on ~10 million values; the
     closed-form MA segments of the small images' column masks (jkx_ma_segment_masks) against
     jkx_ma_segment's stepping on every segment of 64 rows;
  2. fixed and random cases (L 5/20/60 and 2..120; heights from the smallest legal one to ~1000;
     with and without volume strip and MA; zero and all-zero volumes; MA history cut by the
     caller or by the start of the series; flat, one-ulp, huge and tiny prices; malformed
     candles; invalid prices and volumes; overflowing scales; rounding ties): every window of
     rasterize_jkx_cpu (all threads) against a separate scalar implementation of the spec in
     this file (pixel-by-pixel plotting, Bresenham as the spec writes it): status, every pixel,
     every MA value, and the call's outcome (lowest window not drawn, reason, candle, field);
  3. uint8 against float32 (255 <-> 1.0, 0 <-> 0.0) and one thread against all threads;
  4. the CUDA kernel's per-thread code (cuda/jkx_layout.hpp, kernels/jkx_math.hpp phases) run
     on the CPU for block sizes 1..256 in the kernel's order, against the CPU images.

  5. every drawn window encoded from its geometry (jkx_ink_runs + the geometry encoder, the
     writer's path): zlib stream and deflate piece inflated by zlib against the image of step 2,
     Adler-32 and CRC-32 against zlib's; bytes against the row encoder and zlib level 6.

  6. with --gpu on a GPU: the CUDA kernel itself, against the CPU images of step 2.

exit codes: 0 all passed, 1 a mismatch (described with --seed/--case to rerun it), 2 bad usage,
3 a CUDA error, 4 --require-gpu and no usable CUDA device
)";



struct Series {
  std::vector<double> open, high, low, close, volume;
  explicit Series(size_t n = 0) : open(n), high(n), low(n), close(n), volume(n) {}
  size_t size() const { return open.size(); }
  JkxColumns columns() const {
    return JkxColumns{open.data(), high.data(), low.data(), close.data(), volume.data(), size()};
  }
  double* field(int f) {
    switch (f) {
      case 0: return open.data();
      case 1: return high.data();
      case 2: return low.data();
      case 3: return close.data();
      default: return volume.data();
    }
  }
};

std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// ---------------------------------------------------------------------------------------------
// The spec, written out once more, as plainly as possible. Not shared with the kernel.
// ---------------------------------------------------------------------------------------------
struct Reference {
  JkxStatus status = JkxStatus::kOk;
  int64_t bad_candle = -1;
  int32_t bad_field = 0;
  double bad_value = 0;
  std::vector<uint8_t> image;  // H * 3L, 0 / 255
  std::vector<double> ma;      // L, NaN without the line
  bool line = false;
};

bool finite_positive(double p) { return std::isfinite(p) && p > 0; }

Reference reference_window(const Series& s, int64_t start, JkxShape shape, bool history_ok) {
  Reference ref;
  const int L = static_cast<int>(shape.seq_len);
  const int H = static_cast<int>(shape.height);
  const int W = 3 * L;
  const int k = static_cast<int>(shape.ma);
  ref.line = k > 0 && history_ok && start >= k - 1;
  ref.ma.assign(L, std::nan(""));

  auto fail = [&](JkxStatus why, int64_t candle, int field, double value) {
    ref.status = why;
    ref.bad_candle = candle;
    ref.bad_field = field;
    ref.bad_value = value;
    ref.ma.assign(L, std::nan(""));
    return ref;
  };
  // Inputs, in the order of the report: history closes, then candle by candle o, h, l, c, v.
  if (ref.line)
    for (int64_t q = start - (k - 1); q < start; ++q)
      if (!finite_positive(s.close[q])) return fail(JkxStatus::kInvalidPrice, q, 3, s.close[q]);
  for (int j = 0; j < L; ++j) {
    const int64_t q = start + j;
    const double fields[4] = {s.open[q], s.high[q], s.low[q], s.close[q]};
    for (int f = 0; f < 4; ++f)
      if (!finite_positive(fields[f])) return fail(JkxStatus::kInvalidPrice, q, f, fields[f]);
    if (shape.volume && !(std::isfinite(s.volume[q]) && s.volume[q] >= 0))
      return fail(JkxStatus::kInvalidVolume, q, 4, s.volume[q]);
  }

  // 1. Scaling.
  const double c0 = s.close[start];
  std::vector<double> o(L), h(L), l(L), c(L);
  for (int j = 0; j < L; ++j) {
    o[j] = s.open[start + j] / c0;
    h[j] = s.high[start + j] / c0;
    l[j] = s.low[start + j] / c0;
    c[j] = s.close[start + j] / c0;
  }
  // 2. Moving average: for every bar, its k closes added one after the other.
  if (ref.line) {
    for (int t = 0; t < L; ++t) {
      double sum = s.close[start + t - k + 1] / c0;
      for (int q = t - k + 2; q <= t; ++q) sum += s.close[start + q] / c0;
      ref.ma[t] = sum / k;
    }
  }
  // 4. Price rows.
  std::vector<double> all;
  for (int j = 0; j < L; ++j) {
    all.push_back(o[j]);
    all.push_back(h[j]);
    all.push_back(l[j]);
    all.push_back(c[j]);
    if (ref.line) all.push_back(ref.ma[j]);
  }
  const double lo = *std::min_element(all.begin(), all.end());
  const double hi = *std::max_element(all.begin(), all.end());
  if (!std::isfinite(hi)) {
    for (int j = 0; j < L; ++j)
      for (int f = 0; f < 4; ++f) {
        const double* col[4] = {s.open.data(), s.high.data(), s.low.data(), s.close.data()};
        if (std::isinf(col[f][start + j] / c0)) return fail(JkxStatus::kOverflow, start + j, f, col[f][start + j]);
      }
    for (int j = 0; j < L; ++j)
      if (std::isinf(ref.ma[j])) return fail(JkxStatus::kOverflow, start + j, kMovingAverageField, ref.ma[j]);
    return fail(JkxStatus::kOverflow, -1, 0, 0);
  }
  if (hi == lo) return fail(JkxStatus::kFlat, -1, 0, 0);

  const int Hv = shape.volume ? H / 5 : 0;
  const int Hp = shape.volume ? H - Hv - 1 : H;
  const double ppu = (Hp - 1.0) / (hi - lo);
  auto Y = [&](double p) { return static_cast<int>(std::nearbyint((p - lo) * ppu)); };

  ref.image.assign(static_cast<size_t>(H) * W, 0);
  bool out_of_bounds = false;
  auto plot = [&](int x, int row) {
    if (x < 0 || x >= W || row < 0 || row >= H) {
      out_of_bounds = true;
      return;
    }
    ref.image[static_cast<size_t>(row) * W + x] = 255;
  };
  auto plot_price = [&](int x, int y) {  // y bottom-up in the price area
    if (y < 0 || y >= Hp) out_of_bounds = true;
    plot(x, Hp - 1 - y);
  };
  // 5. Bars.
  for (int i = 0; i < L; ++i) {
    const int x = 3 * i + 1;
    const int a = std::min(Y(l[i]), Y(h[i])), b = std::max(Y(l[i]), Y(h[i]));
    for (int y = a; y <= b; ++y) plot_price(x, y);
    plot_price(x - 1, Y(o[i]));
    plot_price(x, Y(o[i]));
    plot_price(x + 1, Y(c[i]));
  }
  // 6. Moving-average line, Bresenham exactly as the spec writes it.
  if (ref.line) {
    for (int i = 0; i + 1 < L; ++i) {
      const int x0 = 3 * i + 1, y0 = Y(ref.ma[i]), x1 = 3 * (i + 1) + 1, y1 = Y(ref.ma[i + 1]);
      const int dx = x1 - x0, dy = std::abs(y1 - y0), sy = y1 >= y0 ? 1 : -1;
      int x = x0, y = y0;
      if (dy == 0) {
        plot_price(x0, y);
        plot_price(x0 + 1, y);
        plot_price(x0 + 2, y);
      } else if (dx > dy) {
        int e = 2 * dy - dx;
        for (int n = 0; n < dx; ++n) {
          plot_price(x, y);
          if (e >= 0) {
            y += sy;
            e -= 2 * dx;
          }
          e += 2 * dy;
          x += 1;
        }
      } else {
        int e = 2 * dx - dy;
        for (int n = 0; n < dy; ++n) {
          plot_price(x, y);
          if (e >= 0) {
            x += 1;
            e -= 2 * dy;
          }
          e += 2 * dx;
          y += sy;
        }
      }
      plot_price(x1, y1);
    }
  }
  // 7. Volume strip.
  if (shape.volume) {
    double vmax = 0;
    for (int i = 0; i < L; ++i) vmax = std::max(vmax, s.volume[start + i]);
    if (vmax != 0) {
      const double ppv = Hv / vmax;
      for (int i = 0; i < L; ++i) {
        double n = std::nearbyint(s.volume[start + i] * ppv);
        if (std::isnan(n)) n = 0;  // 0 * inf: vmax subnormal (IMAGE-JKX.md, docs)
        if (n > Hv) n = Hv;
        const int pixels = std::max(static_cast<int>(n), 1);
        for (int u = 0; u < pixels; ++u) plot(3 * i + 1, H - 1 - u);
      }
    }
  }
  if (out_of_bounds) {
    std::fprintf(stderr, "jkx_check: the reference plotted outside the image (window at %" PRId64 ")\n", start);
    std::exit(kExitMismatch);
  }
  return ref;
}

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------
Series random_walk(size_t n, Rng& r, double price, double vol) {
  Series s(n);
  double p = price;
  for (size_t i = 0; i < n; ++i) {
    const double o = p;
    const double c = o * std::exp((r.uniform() - 0.5) * 2 * vol);
    s.open[i] = o;
    s.close[i] = c;
    s.high[i] = std::max(o, c) * (1 + r.uniform() * vol);
    s.low[i] = std::min(o, c) * (1 - r.uniform() * vol);
    s.volume[i] = std::floor(r.uniform() * 1000) / 8;
    p = c;
  }
  return s;
}

enum class Kind { kWalk, kFlat, kNearlyFlat, kExtreme, kMalformed, kTiny, kHuge, kTies, kCount };
const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kWalk: return "random walk";
    case Kind::kFlat: return "piecewise flat";
    case Kind::kNearlyFlat: return "one-ulp";
    case Kind::kExtreme: return "extreme magnitudes";
    case Kind::kMalformed: return "malformed candles";
    case Kind::kTiny: return "tiny prices";
    case Kind::kHuge: return "huge prices";
    case Kind::kTies: return "rounding ties";
    default: return "?";
  }
}

Series make_series(Kind kind, size_t n, Rng& r) {
  switch (kind) {
    case Kind::kWalk:
      return random_walk(n, r, std::pow(10.0, r.uniform() * 8 - 4), std::pow(10.0, -4 + 3 * r.uniform()));
    case Kind::kFlat: {
      Series s = random_walk(n, r, 1, 0.01);
      double level = std::pow(10.0, r.uniform() * 8 - 4);
      for (size_t i = 0; i < n; ++i) {
        if (r.chance(0.02)) level = std::pow(10.0, r.uniform() * 8 - 4);
        s.open[i] = s.high[i] = s.low[i] = s.close[i] = level;
      }
      return s;
    }
    case Kind::kNearlyFlat: {
      Series s = random_walk(n, r, 1, 0.01);
      const double base = std::pow(10.0, r.uniform() * 10 - 5);
      for (size_t i = 0; i < n; ++i)
        for (int f = 0; f < 4; ++f) {
          double v = base;
          for (uint64_t k = r.below(3); k > 0; --k) v = std::nextafter(v, 2 * v);
          s.field(f)[i] = v;
        }
      return s;
    }
    case Kind::kExtreme: {
      Series s = random_walk(n, r, 1, 0.01);
      for (size_t i = 0; i < n; ++i)
        for (int f = 0; f < 4; ++f) {
          double v = std::pow(10.0, r.uniform() * 600 - 300);
          const uint64_t u = r.below(40);
          if (u == 0) v = std::numeric_limits<double>::denorm_min();
          if (u == 1) v = std::numeric_limits<double>::max();
          if (u == 2) v = std::numeric_limits<double>::min();
          s.field(f)[i] = v;
        }
      return s;
    }
    case Kind::kMalformed: {
      Series s = random_walk(n, r, 100, 0.02);
      for (size_t i = 0; i < n; ++i) {
        const uint64_t u = r.below(5);
        if (u == 0) std::swap(s.high[i], s.low[i]);
        if (u == 1) s.open[i] = s.high[i] * (1 + r.uniform());
        if (u == 2) s.close[i] = s.low[i] * r.uniform() + 1e-9;
      }
      return s;
    }
    case Kind::kTiny:
      return random_walk(n, r, 1e-300 * (1 + r.uniform()), std::pow(10.0, -14 + 12 * r.uniform()));
    case Kind::kHuge:
      return random_walk(n, r, 1e300 * (1 + r.uniform()), std::pow(10.0, -14 + 12 * r.uniform()));
    case Kind::kTies: {
      // Quarters in [1, 5] with a first close of 1 in every window: with lo 1, hi 5 and Hp 9
      // (H 9, or H 12 with the strip), ppu = 2 and y = rint(2 (p - 1)) has ties at every
      // eighth... quarter: 1.25 -> 0.5 -> 0, 1.75 -> 1.5 -> 2, 2.25 -> 2.5 -> 2.
      Series s(n);
      for (size_t i = 0; i < n; ++i) {
        for (int f = 0; f < 4; ++f) s.field(f)[i] = 1 + 0.25 * static_cast<double>(r.below(17));
        s.close[i] = r.chance(0.5) ? 1.0 : s.close[i];
        s.high[i] = r.chance(0.3) ? 5.0 : s.high[i];
        s.low[i] = r.chance(0.3) ? 1.0 : s.low[i];
        s.volume[i] = static_cast<double>(r.below(5));  // Hv 2, vmax 4: ppv 0.5, ties at 1 and 3
      }
      return s;
    }
    default:
      return Series(n);
  }
}

// Volumes: mostly as made, sometimes zeros, all zero, tiny, huge or -0.
void shape_volumes(Series& s, Rng& r) {
  const uint64_t u = r.below(10);
  for (size_t i = 0; i < s.size(); ++i) {
    double& v = s.volume[i];
    switch (u) {
      case 0: v = 0; break;                                            // all zero
      case 1: if (r.chance(0.3)) v = 0; break;                         // some zero
      case 2: v = r.chance(0.5) ? std::numeric_limits<double>::denorm_min() * static_cast<double>(r.below(4)) : 0; break;
      case 3: v = std::numeric_limits<double>::max() * r.uniform(); break;
      case 4: v = r.chance(0.2) ? -0.0 : v; break;
      case 5: v = std::pow(10.0, r.uniform() * 40 - 20); break;
      case 6: v = std::floor(r.uniform() * 5); break;
      default: break;
    }
  }
}

void inject_invalid(Series& s, Rng& r, int howmany) {
  const double bad_price[] = {std::nan(""), INFINITY, -INFINITY, 0.0, -0.0, -1.0, -1e-300};
  const double bad_volume[] = {std::nan(""), INFINITY, -INFINITY, -1.0, -1e-300};
  for (int k = 0; k < howmany; ++k) {
    const size_t i = r.below(s.size());
    if (r.chance(0.25)) s.volume[i] = bad_volume[r.below(5)];
    else s.field(static_cast<int>(r.below(4)))[i] = bad_price[r.below(7)];
  }
}

struct Case {
  std::string name;
  Series series;
  JkxShape shape;
  std::vector<int64_t> starts;  // empty: stride mode
  int64_t first = 0, stride = 1;
  size_t count = 0;
  std::vector<uint8_t> ma_ok;  // empty: nullptr
  PixelType type = PixelType::U8;

  WindowList windows() const {
    WindowList w;
    w.starts = starts.empty() ? nullptr : starts.data();
    w.first = first;
    w.stride = stride;
    w.count = count;
    return w;
  }
  const uint8_t* flags() const { return ma_ok.empty() ? nullptr : ma_ok.data(); }
  bool history_ok(size_t w) const { return ma_ok.empty() || ma_ok[w] != 0; }
  std::string describe() const {
    char buf[400];
    std::snprintf(buf, sizeof buf,
                  "%s: %zu windows, seqLen %u, height %u, volume %s, ma %u, %s, %s, %zu candles, ma_ok %s",
                  name.c_str(), count, shape.seq_len, shape.height, shape.volume ? "on" : "off",
                  shape.ma, type == PixelType::U8 ? "uint8" : "float32",
                  starts.empty() ? ("stride " + std::to_string(stride) + " from " + std::to_string(first)).c_str()
                                 : "explicit starts",
                  series.size(), ma_ok.empty() ? "null" : "flags");
    return buf;
  }
};

uint32_t smallest_height(bool volume) { return volume ? 5 : 2; }

Case random_case(uint64_t seed, long index) {
  Rng r(seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(index) * 0x632be59bd9b4e019ull + 7);
  Case k;
  const Kind kind = static_cast<Kind>(r.below(static_cast<uint64_t>(Kind::kCount)));
  k.name = std::string("case ") + std::to_string(index) + " (" + kind_name(kind) + ")";
  const uint32_t lens[] = {5, 20, 60};
  k.shape.seq_len = r.chance(0.6) ? lens[r.below(3)] : static_cast<uint32_t>(r.range(2, 120));
  k.shape.volume = r.chance(0.6);
  const uint64_t hsel = r.below(10);
  if (kind == Kind::kTies) k.shape.height = r.chance(0.5) ? 9 : (k.shape.volume ? 12 : 9);
  else if (hsel < 4) k.shape.height = k.shape.seq_len == 5 ? 32 : k.shape.seq_len == 20 ? 64 : k.shape.seq_len == 60 ? 96 : 64;
  else if (hsel < 6) k.shape.height = smallest_height(k.shape.volume) + static_cast<uint32_t>(r.below(3));
  else if (hsel < 9) k.shape.height = static_cast<uint32_t>(r.range(smallest_height(k.shape.volume), 200));
  else k.shape.height = static_cast<uint32_t>(r.range(500, 1000));
  if (kind == Kind::kTies && k.shape.volume && k.shape.height < 12) k.shape.height = 12;
  const uint64_t msel = r.below(8);
  k.shape.ma = msel < 2 ? 0 : msel < 5 ? k.shape.seq_len
                                       : static_cast<uint32_t>(r.range(1, 2 * k.shape.seq_len + 5));
  k.type = r.chance(0.5) ? PixelType::U8 : PixelType::F32;

  const size_t px = k.shape.pixels();
  k.count = std::max<size_t>(1, std::min<size_t>(120, (size_t{3} << 20) / px));
  k.count = static_cast<size_t>(r.range(1, static_cast<int64_t>(k.count)));
  const size_t hist = k.shape.history();
  size_t n;
  if (r.chance(0.6)) {
    // Often starting before the history is there: the first windows have no line.
    k.first = r.chance(0.5) ? r.range(0, 3) : static_cast<int64_t>(r.below(hist + 3));
    k.stride = r.chance(0.7) ? r.range(1, 3) : r.range(1, 2 * k.shape.seq_len + 1);
    n = static_cast<size_t>(k.first) + (k.count - 1) * static_cast<size_t>(k.stride) + k.shape.seq_len + r.below(4);
  } else {
    n = k.shape.seq_len + hist + r.below(2 * k.count + 10);
    k.starts.resize(k.count);
    for (auto& s : k.starts) s = static_cast<int64_t>(r.below(n - k.shape.seq_len + 1));
  }
  k.series = make_series(kind, n, r);
  if (kind != Kind::kTies) shape_volumes(k.series, r);
  if (r.chance(0.15)) inject_invalid(k.series, r, static_cast<int>(r.range(1, 3)));
  if (r.chance(0.6)) {
    k.ma_ok.resize(k.count);
    const double p = r.uniform();
    for (auto& f : k.ma_ok) f = r.chance(p) ? 1 : 0;
  }
  return k;
}

std::vector<Case> fixed_cases(uint64_t seed) {
  Rng r(seed ^ 0xf1e5dull);
  std::vector<Case> out;
  auto add = [&](std::string name, Series s, JkxShape shape, size_t count, int64_t first = 0) -> Case& {
    Case k;
    k.name = std::move(name);
    k.series = std::move(s);
    k.shape = shape;
    k.count = count;
    k.first = first;
    out.push_back(std::move(k));
    return out.back();
  };
  add("smallest image, no strip (L 2, H 2)", random_walk(50, r, 10, 0.05), {2, 2, false, 0}, 40);
  add("smallest image with strip (L 2, H 5), MA 2", random_walk(50, r, 10, 0.05), {2, 5, true, 2}, 40);
  add("MA 1 (the closes themselves)", random_walk(80, r, 10, 0.05), {20, 64, true, 1}, 50);
  add("MA longer than the window (k 45, L 20)", random_walk(200, r, 10, 0.05), {20, 64, true, 45}, 150);
  add("the paper's 5/20/60: L 5, H 32", random_walk(400, r, 50, 0.02), {5, 32, true, 5}, 300);
  add("the paper's 5/20/60: L 20, H 64", random_walk(400, r, 50, 0.02), {20, 64, true, 20}, 300);
  add("the paper's 5/20/60: L 60, H 96", random_walk(400, r, 50, 0.02), {60, 96, true, 60}, 300);
  add("steep lines (dx == dy, dy > dx): L 60, H 1000, vol 0.1", random_walk(200, r, 50, 0.1), {60, 1000, true, 5}, 100);
  {
    Series s = random_walk(100, r, 10, 0.05);
    std::fill(s.volume.begin(), s.volume.end(), 0.0);
    add("all-zero volume", s, {20, 64, true, 20}, 60);
  }
  {
    Series s = random_walk(100, r, 1, 0.0);
    for (size_t i = 0; i < s.size(); ++i) s.open[i] = s.high[i] = s.low[i] = s.close[i] = 3.5;
    add("flat without MA", s, {20, 64, true, 0}, 60);
    add("flat with MA", s, {20, 64, true, 20}, 60, 20);
  }
  {
    // MA values outside the bars: history far above; lo/hi must include them.
    Series s = random_walk(100, r, 10, 0.01);
    for (size_t i = 0; i < 19; ++i) s.close[i] = 40 + static_cast<double>(i);
    add("MA outside the bars' range", s, {20, 64, true, 20}, 30, 19);
  }
  {
    // Finite history closes whose sum overflows: the MA is +inf.
    Series s = random_walk(60, r, 1, 0.01);
    for (size_t i = 0; i < 4; ++i) s.close[i] = 1.5e308;
    for (size_t i = 4; i < 60; ++i) s.open[i] = s.high[i] = s.low[i] = s.close[i] = 1;
    add("MA sum overflows", s, {5, 32, true, 5}, 10, 4);
  }
  {
    Series s = random_walk(60, r, 1, 0.01);
    s.close[10] = std::nan("");
    add("invalid MA history close", s, {5, 32, true, 5}, 30, 4);
  }
  {
    Series s = random_walk(200, r, 10, 0.02);
    s.volume[120] = -1;
    s.high[150] = 0;
    add("invalid volume then price", s, {20, 64, true, 20}, 170);
  }
  {
    Series s = make_series(Kind::kTies, 400, r);
    add("rounding ties, H 9", s, {5, 9, false, 0}, 300);
    add("rounding ties, H 12 with strip", s, {5, 12, true, 0}, 300);
  }
  for (Case& k : out) {
    if (r.chance(0.5)) k.type = PixelType::F32;
    if (k.name.find("MA") != std::string::npos && r.chance(0.5)) {
      k.ma_ok.resize(k.count);
      for (auto& f : k.ma_ok) f = r.chance(0.8) ? 1 : 0;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Comparisons
// ---------------------------------------------------------------------------------------------
struct Coverage {
  size_t cases = 0, windows = 0, pixels = 0;
  size_t status[5] = {0, 0, 0, 0, 0};
  size_t with_line = 0, line_cut = 0;
  size_t gpu_cases = 0, gpu_pixels = 0;  // compared on the device (--gpu)
  // The geometry encoder's streams (step 5): images, and their bytes beside the row encoder's
  // and zlib level 6's of the drawn image; images where it was larger than level 6.
  size_t streams = 0, over_level6 = 0;
  uint64_t geometry_bytes = 0, row_bytes = 0, level6_bytes = 0;
};
Coverage g_cov;

bool same_double(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0;
}

std::string window_inputs(const Case& k, int64_t start) {
  std::string s = "    inputs (o h l c v), from candle " + std::to_string(start - static_cast<int64_t>(k.shape.history())) + ":\n";
  for (int64_t i = std::max<int64_t>(0, start - static_cast<int64_t>(k.shape.history())); i < start + k.shape.seq_len; ++i) {
    if (s.size() > 6000) return s + "      ...\n";
    s += "      " + std::to_string(i) + (i < start ? " (history)" : "") + ": " + num(k.series.open[i]) + " " +
         num(k.series.high[i]) + " " + num(k.series.low[i]) + " " + num(k.series.close[i]) + " " +
         num(k.series.volume[i]) + "\n";
  }
  return s;
}

std::string pixel_value(const std::vector<uint8_t>& buf, size_t pixel, PixelType type) {
  if (type == PixelType::U8) return std::to_string(buf[pixel]);
  float f;
  std::memcpy(&f, buf.data() + 4 * pixel, 4);
  return num(f);
}

// What rasterize_jkx_cpu (all threads, with statuses and MA values) gave for a case.
struct CpuRun {
  std::vector<uint8_t> out;
  std::vector<double> ma;
  std::vector<JkxStatus> st;
};

// All of one case's windows from rasterize_jkx_cpu with statuses, against the reference.
bool compare_case(const Case& k, CpuRun* run, std::string* detail) {
  const size_t px = k.shape.pixels(), len = k.shape.seq_len;
  const size_t image_bytes = px * pixel_bytes(k.type);
  const WindowList wl = k.windows();
  std::vector<uint8_t>& out = run->out;
  std::vector<double>& ma = run->ma;
  std::vector<JkxStatus>& st = run->st;
  out.assign(k.count * image_bytes, 0xA5);
  ma.assign(k.count * len, -7.0);
  st.assign(k.count, static_cast<JkxStatus>(99));
  const JkxOutcome o = rasterize_jkx_cpu(k.series.columns(), wl, k.flags(), k.shape, k.type, out.data(), 0,
                                         nullptr, ma.data(), st.data());
  if (o.status == JkxOutcome::kBadArgument || o.status == JkxOutcome::kCancelled) {
    *detail = "unexpected outcome: " + o.message;
    return false;
  }
  size_t lowest = k.count, not_drawn = 0;
  Reference lowest_ref;
  ++g_cov.cases;
  for (size_t w = 0; w < k.count; ++w) {
    const int64_t start = wl.start(w);
    const Reference ref = reference_window(k.series, start, k.shape, k.history_ok(w));
    ++g_cov.windows;
    ++g_cov.status[static_cast<int>(ref.status)];
    if (ref.status == JkxStatus::kOk) {
      if (ref.line) ++g_cov.with_line;
      else if (k.shape.ma) ++g_cov.line_cut;
    }
    auto fail = [&](const std::string& what) {
      *detail = "window " + std::to_string(w) + " (start " + std::to_string(start) + "): " + what + "\n" +
                window_inputs(k, start);
      return false;
    };
    if (st[w] != ref.status)
      return fail(std::string("status ") + jkx_status_name(st[w]) + ", reference " + jkx_status_name(ref.status));
    if (ref.status != JkxStatus::kOk) {
      ++not_drawn;
      if (lowest == k.count) {
        lowest = w;
        lowest_ref = ref;
      }
    }
    const uint8_t* img = out.data() + w * image_bytes;
    for (size_t p = 0; p < px; ++p) {
      const uint8_t want = ref.status == JkxStatus::kOk ? ref.image[p] : 0;
      bool same;
      if (k.type == PixelType::U8) {
        same = img[p] == want;
      } else {
        const float want_f = want ? 1.0f : 0.0f;
        same = std::memcmp(img + 4 * p, &want_f, 4) == 0;
      }
      if (!same) {
        return fail("pixel row " + std::to_string(p / k.shape.width()) + ", column " +
                    std::to_string(p % k.shape.width()) + ": kernel " +
                    pixel_value(out, w * px + p, k.type) + ", reference " + std::to_string(want));
      }
    }
    g_cov.pixels += px;
    for (size_t i = 0; i < len; ++i)
      if (!same_double(ma[w * len + i], ref.ma[i]))
        return fail("MA value " + std::to_string(i) + ": kernel " + num(ma[w * len + i]) + ", reference " +
                    num(ref.ma[i]));
  }
  // The call's outcome.
  char buf[300];
  if (lowest == k.count) {
    if (o.status != JkxOutcome::kOk) {
      *detail = "outcome not ok although every window was drawn: " + o.message;
      return false;
    }
    return true;
  }
  const bool details = lowest_ref.status != JkxStatus::kFlat;
  if (o.status != JkxOutcome::kNotDrawn || o.window != lowest || o.reason != lowest_ref.status ||
      o.not_drawn != not_drawn ||
      (details && (o.bad.candle != lowest_ref.bad_candle || o.bad.field != lowest_ref.bad_field ||
                   !same_double(o.bad.value, lowest_ref.bad_value)))) {
    std::snprintf(buf, sizeof buf,
                  "outcome: window %zu, %s, candle %" PRId64 ", field %d, value %s, %zu not drawn; reference "
                  "window %zu, %s, candle %" PRId64 ", field %d, value %s, %zu not drawn",
                  o.window, jkx_status_name(o.reason), o.bad.candle, o.bad.field, num(o.bad.value).c_str(),
                  o.not_drawn, lowest, jkx_status_name(lowest_ref.status), lowest_ref.bad_candle,
                  lowest_ref.bad_field, num(lowest_ref.bad_value).c_str(), not_drawn);
    *detail = buf;
    return false;
  }
  // Without statuses: the same outcome, every window before the lowest one drawn the same.
  std::vector<uint8_t> out2(k.count * image_bytes, 0x5A);
  const JkxOutcome o2 = rasterize_jkx_cpu(k.series.columns(), wl, k.flags(), k.shape, k.type, out2.data(), 0,
                                          nullptr);
  if (o2.status != o.status || o2.window != o.window || o2.reason != o.reason || o2.message != o.message) {
    *detail = "outcome without statuses differs: " + o2.message + " vs " + o.message;
    return false;
  }
  if (std::memcmp(out2.data(), out.data(), lowest * image_bytes) != 0) {
    *detail = "images before the lowest window not drawn differ without statuses";
    return false;
  }
  return true;
}

// Every drawn window of a case encoded from its geometry (jkx_ink_runs + the geometry encoder, as
// the writer does), against the drawn image of compare_case: the zlib stream and the deflate
// piece inflated by zlib, adler32() and the piece's CRC-32 against zlib's over the image.
bool compare_geometry(const Case& k, const CpuRun& cpu, std::string* detail) {
  static deflate::GeometryEncoder enc;
  static deflate::Encoder rows;
  rows.set_period(k.type == PixelType::U8 ? 3 : 4);
  const size_t image_bytes = k.shape.pixels() * pixel_bytes(k.type);
  const size_t row_bytes = size_t{k.shape.width()} * pixel_bytes(k.type);
  const WindowList wl = k.windows();
  std::vector<double> scratch(jkx_scratch_doubles(k.shape));
  std::vector<JkxBar> bars(k.shape.seq_len);
  std::vector<deflate::InkRun> runs;
  Bytes comp, plain, level6;
  std::string why;
  for (size_t w = 0; w < k.count; ++w) {
    if (cpu.st[w] != JkxStatus::kOk) continue;
    const JkxWindow g = jkx_window_geometry(k.series.columns(), wl.start(w), k.shape, k.history_ok(w),
                                            scratch.data(), bars.data());
    auto fail = [&](const std::string& what) {
      *detail = "geometry encoder, window " + std::to_string(w) + ": " + what + "\n" + window_inputs(k, wl.start(w));
      return false;
    };
    if (g.status != JkxStatus::kOk) return fail("the geometry says the window is not drawable");
    jkx_ink_runs(bars.data(), g.ma_drawn, k.shape, runs);
    enc.set_runs(runs.data(), runs.size(), k.shape.width(), k.shape.height, k.type, 3,
                 deflate::InkPolarity::kLightOnDark);
    const uint8_t* want = cpu.out.data() + w * image_bytes;
    comp.clear();
    enc.append_zlib(comp);
    if (!inflate_all(comp.data(), comp.size(), 15, image_bytes, plain, why)) return fail("zlib: " + why);
    for (size_t i = 0; i < image_bytes; ++i)
      if (plain[i] != want[i])
        return fail("zlib stream: byte " + std::to_string(i) + " (row " + std::to_string(i / row_bytes) +
                    ") is " + std::to_string(plain[i]) + ", drawn " + std::to_string(want[i]));
    if (enc.adler32() != adler32(1L, want, static_cast<uInt>(image_bytes)))
      return fail("adler32() differs from zlib's");
    const size_t geometry_size = comp.size();
    g_cov.geometry_bytes += geometry_size;
    comp.clear();
    const uint32_t crc = enc.append_piece(comp);
    deflate::finish_stream(comp);
    if (!inflate_all(comp.data(), comp.size(), -15, image_bytes, plain, why))
      return fail("piece + finish_stream: " + why);
    if (std::memcmp(plain.data(), want, image_bytes) != 0) return fail("the deflate piece differs from the drawn image");
    if (crc != crc32(0L, want, static_cast<uInt>(image_bytes))) return fail("the piece's CRC-32 differs from zlib's");
    comp.clear();
    rows.zlib_encode_rows(want, image_bytes, row_bytes, comp);
    g_cov.row_bytes += comp.size();
    uLongf level6_size = compressBound(image_bytes);
    level6.resize(level6_size);
    if (compress2(level6.data(), &level6_size, want, image_bytes, 6) != Z_OK) return fail("zlib compress2 failed");
    g_cov.level6_bytes += level6_size;
    if (geometry_size > level6_size) ++g_cov.over_level6;
    ++g_cov.streams;
  }
  return true;
}

// uint8 against float32, and one thread against all threads.
bool compare_variants(const Case& k, std::string* detail) {
  const size_t px = k.shape.pixels(), len = k.shape.seq_len;
  const WindowList wl = k.windows();
  std::vector<uint8_t> u8(k.count * px, 0xA5), u8_one(k.count * px, 0x5A);
  std::vector<float> f32(k.count * px, -3.0f);
  std::vector<double> ma_all(k.count * len), ma_one(k.count * len);
  std::vector<JkxStatus> st_all(k.count), st_one(k.count), st_f(k.count);
  const JkxColumns c = k.series.columns();
  const JkxOutcome a = rasterize_jkx_cpu(c, wl, k.flags(), k.shape, PixelType::U8, u8.data(), 0, nullptr,
                                         ma_all.data(), st_all.data());
  const JkxOutcome b = rasterize_jkx_cpu(c, wl, k.flags(), k.shape, PixelType::U8, u8_one.data(), 1, nullptr,
                                         ma_one.data(), st_one.data());
  // Float32 on all threads but one when there are several (another schedule); never more
  // threads than cores: OpenMP's spinning waits make oversubscription very slow.
  const int some = std::max(1, default_thread_count() - 1);
  const JkxOutcome f = rasterize_jkx_cpu(c, wl, k.flags(), k.shape, PixelType::F32, f32.data(), some, nullptr,
                                         nullptr, st_f.data());
  if (a.status != b.status || a.window != b.window || a.message != b.message || a.not_drawn != b.not_drawn ||
      a.status != f.status || a.window != f.window || a.message != f.message) {
    *detail = "outcomes differ between 1 thread, all threads and float32: " + a.message + " | " + b.message +
              " | " + f.message;
    return false;
  }
  if (u8 != u8_one || st_all != st_one || st_all != st_f) {
    *detail = "1 thread and all threads give different images or statuses";
    return false;
  }
  for (size_t i = 0; i < ma_all.size(); ++i)
    if (!same_double(ma_all[i], ma_one[i])) {
      *detail = "1 thread and all threads give different MA values";
      return false;
    }
  for (size_t p = 0; p < u8.size(); ++p) {
    const float want = u8[p] == 255 ? 1.0f : u8[p] == 0 ? 0.0f : -1.0f;
    if (std::memcmp(&want, &f32[p], 4) != 0) {
      *detail = "uint8 " + std::to_string(u8[p]) + " vs float32 " + num(f32[p]) + " at pixel " + std::to_string(p);
      return false;
    }
  }
  return true;
}

// The CUDA kernel's per-thread code, thread by thread, in the kernel's order (see jkx_kernel.cuh).
template <typename Pixel>
void emulate_window(const Case& k, size_t w, uint32_t nt, uint8_t* image_bytes, double* ma_values,
                    JkxStatus* status) {
  const JkxShape shape = k.shape;
  const int64_t start = k.windows().start(w);
  std::vector<double> ws(cuda::jkx_workspace_bytes(shape) / sizeof(double) + 1, -5.0);
  std::vector<JkxWork> work;
  for (uint32_t t = 0; t < nt; ++t)
    work.push_back(jkx_work(k.series.columns(), start, shape, k.history_ok(w), ws.data(),
                            cuda::jkx_workspace_bars(ws.data(), shape)));
  Pixel* image = reinterpret_cast<Pixel*>(image_bytes);
  uint64_t bad = kJkxNoBad;
  for (uint32_t t = 0; t < nt; ++t) {
    cuda::jkx_zero_fill(image_bytes, shape.pixels() * sizeof(Pixel), t, nt);
    bad = std::min(bad, jkx_first_bad(work[t], t, nt));
  }
  JkxStatus s = JkxStatus::kOk;
  if (bad != kJkxNoBad) {
    s = jkx_bad_field(bad) == kVolumeField ? JkxStatus::kInvalidVolume : JkxStatus::kInvalidPrice;
  } else {
    std::vector<JkxRange> part(nt);
    for (uint32_t t = 0; t < nt; ++t) part[t] = jkx_scale(work[t], t, nt);
    for (uint32_t t = 0; t < nt; ++t) part[t] = jkx_merge(part[t], jkx_averages(work[t], t, nt));
    JkxRange r = part[0];
    for (uint32_t t = 1; t < nt; ++t) r = jkx_merge(r, part[t]);
    for (uint32_t t = 0; t < nt; ++t) {
      const JkxStatus st = jkx_settle(work[t], r);
      if (t == 0) s = st;
    }
  }
  *status = s;
  if (s != JkxStatus::kOk) {
    for (uint32_t t = 0; t < nt; ++t) cuda::jkx_clear_ma(ma_values, shape.seq_len, t, nt);
    return;
  }
  for (uint32_t t = 0; t < nt; ++t) jkx_rows(work[t], t, nt);
  const Pixel ink = sizeof(Pixel) == 1 ? Pixel(255) : Pixel(1);
  for (uint32_t t = 0; t < nt; ++t) cuda::jkx_draw_bars<Pixel>(work[t], image, ink, ma_values, t, nt);
}

bool compare_emulation(const Case& k, const CpuRun& cpu, uint32_t nt, std::string* detail) {
  const size_t px = k.shape.pixels(), len = k.shape.seq_len;
  const size_t image_bytes = px * pixel_bytes(k.type);
  // Images back to back from a 16-byte aligned base, as in a launch's output buffer.
  const std::vector<uint8_t>& want = cpu.out;
  const std::vector<double>& ma_want = cpu.ma;
  const std::vector<JkxStatus>& st_want = cpu.st;
  std::vector<uint8_t> got(k.count * image_bytes + 16, 0xA5);
  uint8_t* base = got.data() + ((16 - (reinterpret_cast<uintptr_t>(got.data()) & 15)) & 15);
  std::vector<double> ma_got(k.count * len, -9.0);
  std::vector<JkxStatus> st_got(k.count);
  const uint64_t misaligned = cuda::misaligned_vector_stores();
  for (size_t w = 0; w < k.count; ++w) {
    uint8_t* img = base + w * image_bytes;
    if (k.type == PixelType::U8) emulate_window<uint8_t>(k, w, nt, img, ma_got.data() + w * len, &st_got[w]);
    else emulate_window<float>(k, w, nt, img, ma_got.data() + w * len, &st_got[w]);
  }
  if (cuda::misaligned_vector_stores() != misaligned) {
    *detail = "misaligned 16-byte stores with " + std::to_string(nt) + " threads";
    return false;
  }
  for (size_t w = 0; w < k.count; ++w) {
    if (st_got[w] != st_want[w] || std::memcmp(base + w * image_bytes, want.data() + w * image_bytes, image_bytes) != 0) {
      *detail = "window " + std::to_string(w) + " with " + std::to_string(nt) + " threads: status " +
                jkx_status_name(st_got[w]) + " vs " + jkx_status_name(st_want[w]) + " or different pixels";
      return false;
    }
    for (size_t i = 0; i < len; ++i)
      if (!same_double(ma_got[w * len + i], ma_want[w * len + i])) {
        *detail = "MA value differs in window " + std::to_string(w) + " with " + std::to_string(nt) + " threads";
        return false;
      }
  }
  return true;
}

// The CUDA kernel on the device against the CPU's images of the same case. Its contract is the
// CPU's for the pixels and the lowest window not drawn (statuses come from classify on the host),
// so every window is compared when all were drawn, else those before the lowest one not drawn
// (batches after it may not be started) and the outcome's window, reason and offending input.
bool g_cuda_failed = false;
bool compare_gpu(const Case& k, const CpuRun& cpu, std::string* detail) {
  const size_t image_bytes = k.shape.pixels() * pixel_bytes(k.type);
  std::vector<uint8_t> got(k.count * image_bytes, 0xA5);
  const JkxOutcome g = cuda::rasterize_jkx_cuda(k.series.columns(), k.windows(), k.flags(), k.shape, k.type,
                                                got.data(), nullptr);
  if (g.status == JkxOutcome::kBadArgument || g.status == JkxOutcome::kCancelled) {
    g_cuda_failed = true;
    *detail = "GPU: " + g.message;
    return false;
  }
  const JkxOutcome want = rasterize_jkx_cpu(k.series.columns(), k.windows(), k.flags(), k.shape, k.type,
                                            std::vector<uint8_t>(k.count * image_bytes).data(), 0, nullptr);
  if (g.status != want.status || (g.status == JkxOutcome::kNotDrawn &&
                                  (g.window != want.window || g.reason != want.reason ||
                                   g.bad.candle != want.bad.candle || g.bad.field != want.bad.field))) {
    *detail = "GPU outcome: " + (g.message.empty() ? std::string("ok") : g.message) + "; CPU: " +
              (want.message.empty() ? std::string("ok") : want.message);
    return false;
  }
  const size_t compared = g.status == JkxOutcome::kOk ? k.count : g.window;
  for (size_t w = 0; w < compared; ++w)
    if (cpu.st[w] == JkxStatus::kOk &&
        std::memcmp(got.data() + w * image_bytes, cpu.out.data() + w * image_bytes, image_bytes) != 0) {
      *detail = "GPU window " + std::to_string(w) + ": different pixels";
      return false;
    }
  ++g_cov.gpu_cases;
  g_cov.gpu_pixels += compared * k.shape.pixels();
  return true;
}

// jkx_round_half_even against rint over the range it is used on: every half k + 0.5 and its
// neighbours one ulp away up to 2^21, every integer, and random values below 2^31.
bool check_rounding(uint64_t seed, std::string* detail) {
  auto same = [&](double x) {
    const double a = jkx_round_half_even(x), b = std::rint(x);
    if (std::memcmp(&a, &b, sizeof a) == 0) return true;
    *detail = "jkx_round_half_even(" + num(x) + ") = " + num(a) + ", rint = " + num(b);
    return false;
  };
  for (double k = 0; k < 2097152; k += 1) {
    const double h = k + 0.5;
    if (!same(k) || !same(h) || !same(std::nextafter(h, 0.0)) || !same(std::nextafter(h, 1e300))) return false;
  }
  Rng r(seed ^ 0x70d5ull);
  for (int i = 0; i < 1000000; ++i)
    if (!same(r.uniform() * std::ldexp(1.0, static_cast<int>(r.below(32))))) return false;
  return same(0.0) && same(std::numeric_limits<double>::denorm_min());
}

// The small images' MA segments in closed form (jkx_ma_segment_masks) against jkx_ma_segment's
// stepping, on every segment of a 64-row price area, both ways up.
bool check_segment_masks(std::string* detail) {
  constexpr int32_t kTop = 63;
  for (int32_t y0 = 0; y0 <= kTop; ++y0)
    for (int32_t y1 = 0; y1 <= kTop; ++y1) {
      uint64_t stepped[4] = {0, 0, 0, 0}, closed[4] = {0, 0, 0, 0};
      jkx_ma_segment(0, y0, y1, [&](int32_t x, int32_t y) { stepped[x] |= uint64_t{1} << (kTop - y); });
      jkx_ma_segment_masks(0, y0, y1, kTop, closed);
      for (int j = 0; j < 4; ++j)
        if (stepped[j] != closed[j]) {
          char buf[160];
          std::snprintf(buf, sizeof buf, "segment %d -> %d, column %d: stepped rows %016" PRIx64 ", closed form %016" PRIx64,
                        y0, y1, j, stepped[j], closed[j]);
          *detail = buf;
          return false;
        }
    }
  return true;
}

// Bad arguments come back as kBadArgument with a message, before anything is written; a set
// cancel flag gives kCancelled.
bool check_arguments(std::string* detail) {
  Rng r(3);
  Series s = random_walk(100, r, 10, 0.01);
  JkxColumns c = s.columns();
  JkxColumns no_volume = c;
  no_volume.volume = nullptr;
  WindowList ok;
  ok.count = 5;
  WindowList past;
  past.first = 90;
  past.count = 2;
  const int64_t bad_starts[] = {0, 81};
  WindowList starts;
  starts.starts = bad_starts;
  starts.count = 2;
  struct Bad {
    const char* what;
    JkxColumns c;
    WindowList w;
    JkxShape shape;
  };
  const Bad bad[] = {
      {"L 1", c, ok, {1, 32, false, 0}},
      {"H 1", c, ok, {5, 1, false, 0}},
      {"H 4 with the strip", c, ok, {5, 4, true, 0}},
      {"volume strip without volumes", no_volume, ok, {5, 32, true, 0}},
      {"windows past the end", c, past, {20, 64, true, 20}},
      {"a start past the end", c, starts, {20, 64, false, 0}},
      {"huge MA", c, ok, {5, 32, false, (1u << 20) + 1}},
      {"huge L", c, ok, {(1u << 20) + 1, 32, false, 0}},
  };
  std::vector<uint8_t> out(64, 0x5A);
  for (const Bad& b : bad) {
    const JkxOutcome o = rasterize_jkx_cpu(b.c, b.w, nullptr, b.shape, PixelType::U8, out.data(), 0, nullptr);
    if (o.status != JkxOutcome::kBadArgument || o.message.empty()) {
      *detail = std::string(b.what) + ": not refused";
      return false;
    }
  }
  if (std::count(out.begin(), out.end(), 0x5A) != 64) {
    *detail = "a refused call wrote images";
    return false;
  }
  std::vector<uint8_t> images(5 * 15 * 32);
  const std::atomic<bool> cancel{true};
  if (rasterize_jkx_cpu(c, ok, nullptr, {5, 32, true, 5}, PixelType::U8, images.data(), 0, &cancel).status !=
      JkxOutcome::kCancelled) {
    *detail = "a set cancel flag did not cancel";
    return false;
  }
  // The smallest legal shapes are accepted, and no windows is fine.
  WindowList none;
  if (rasterize_jkx_cpu(c, ok, nullptr, {2, 2, false, 0}, PixelType::U8, images.data(), 0, nullptr).status !=
          JkxOutcome::kOk ||
      rasterize_jkx_cpu(c, ok, nullptr, {2, 5, true, 1}, PixelType::U8, images.data(), 0, nullptr).status !=
          JkxOutcome::kOk ||
      rasterize_jkx_cpu(no_volume, none, nullptr, {5, 32, true, 5}, PixelType::U8, nullptr, 0, nullptr).status !=
          JkxOutcome::kOk) {
    *detail = "a legal call was refused";
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// 1. The worked example.
// ---------------------------------------------------------------------------------------------
const char* kExample[32] = {
    ".............#.    .............#.", "..........#..#.    ..........#..#.",
    "..........#..#.    ..........#..#.", "..........#..#.    ..........#..#.",
    "..........#.##.    ..........#.##.", "..........##.#.    ..........##.#.",
    "..........#..#.    ..........#..#.", "..........#..#.    ..........#..#.",
    ".......#..#..##    .......#..#..##", "....#..#.##..#.    ....#..#.##..#.",
    ".#..#..##.#....    .#..#..##.#....", ".#..#..#..#..#.    .#..#..#..#....",
    ".#..#..#...##..    .#..#..#.......", ".#.##..#..#....    .#.##..#.......",
    ".##.#..#.#.....    .##.#..#.......", ".#..#..##......    .#..#..#.......",
    ".#..#..#.......    .#..#..#.......", ".#..####.......    .#..#..#.......",
    ".#.#####.......    .#..####.......", ".##.#..#.......    .#..#..#.......",
    "##.....#.......    ##.....#.......", ".#.............    .#.............",
    ".#.............    .#.............", ".#.............    .#.............",
    ".#.............    .#.............", "...............    ...............",
    ".......#.......    .......#.......", ".......#.......    .......#.......",
    ".#.....#.....#.    .#.....#.....#.", ".#.....#.....#.    .#.....#.....#.",
    ".#..#..#.....#.    .#..#..#.....#.", ".#..#..#..#..#.    .#..#..#..#..#.",
};

bool check_example(std::string* detail) {
  Series s(9);
  const double hist[4] = {9.8, 10.1, 9.9, 10.3};
  const double bars[5][5] = {{10.0, 10.8, 9.7, 10.5, 120}, {10.6, 10.9, 10.1, 10.2, 80},
                             {10.2, 11.0, 10.0, 10.8, 200}, {10.9, 11.5, 10.7, 11.2, 0},
                             {11.3, 11.6, 10.9, 11.0, 150}};
  for (int i = 0; i < 4; ++i) {
    s.open[i] = s.high[i] = s.low[i] = s.close[i] = hist[i];
    s.volume[i] = 1;
  }
  for (int i = 0; i < 5; ++i)
    for (int f = 0; f < 5; ++f) s.field(f)[4 + i] = bars[i][f];
  WindowList w;
  w.first = 4;
  w.count = 1;
  struct Variant {
    const char* name;
    JkxShape shape;
    uint8_t ma_ok;
    int picture;  // 0: with MA, 1: without
  };
  const Variant variants[] = {{"with MA 5", {5, 32, true, 5}, 1, 0},
                              {"MA 5, history flagged absent", {5, 32, true, 5}, 0, 1},
                              {"no MA", {5, 32, true, 0}, 1, 1}};
  for (const Variant& v : variants) {
    for (PixelType type : {PixelType::U8, PixelType::F32}) {
      std::vector<uint8_t> out(v.shape.pixels() * pixel_bytes(type));
      std::vector<double> ma(5);
      const JkxOutcome o = rasterize_jkx_cpu(s.columns(), w, &v.ma_ok, v.shape, type, out.data(), 0, nullptr, ma.data());
      if (o.status != JkxOutcome::kOk) {
        *detail = std::string(v.name) + ": " + o.message;
        return false;
      }
      for (int row = 0; row < 32; ++row) {
        std::string got;
        for (int x = 0; x < 15; ++x) {
          const size_t p = static_cast<size_t>(row) * 15 + x;
          bool inked;
          if (type == PixelType::U8) inked = out[p] == 255;
          else {
            float f;
            std::memcpy(&f, out.data() + 4 * p, 4);
            inked = f == 1.0f;
          }
          got += inked ? '#' : '.';
        }
        const std::string want = std::string(kExample[row]).substr(v.picture ? 19 : 0, 15);
        if (got != want) {
          *detail = std::string(v.name) + (type == PixelType::U8 ? " (uint8)" : " (float32)") + ", row " +
                    std::to_string(row) + ": " + got + " expected " + want;
          return false;
        }
      }
      if (v.picture == 0 && std::fabs(ma[0] - (9.8 + 10.1 + 9.9 + 10.3 + 10.5) / 5 / 10.5) > 1e-15) {
        *detail = "MA[0] = " + num(ma[0]);
        return false;
      }
      if (v.picture == 1 && !std::isnan(ma[0])) {
        *detail = std::string(v.name) + ": MA values stored without the line";
        return false;
      }
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// --emit: windows and this kernel's images as JSON, for test/jkx-reference.test.ts to compare with
// the TypeScript reference (which is itself compared with Pillow).
// ---------------------------------------------------------------------------------------------
std::string json_number(double v) {
  if (std::isnan(v)) return "\"NaN\"";
  if (std::isinf(v)) return v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  if (v == 0 && std::signbit(v)) return "\"-0\"";
  return num(v);
}

std::string json_array(const double* p, size_t n) {
  std::string s = "[";
  for (size_t i = 0; i < n; ++i) s += (i ? "," : "") + json_number(p[i]);
  return s + "]";
}

void emit(uint64_t seed, size_t windows) {
  static const char hex[] = "0123456789abcdef";
  std::printf("{\"seed\":%" PRIu64 ",\"windows\":[", seed);
  size_t done = 0;
  for (long i = 0; done < windows; ++i) {
    Case k = random_case(seed, i);
    if (k.shape.pixels() > 30000) continue;  // keep the document small
    k.count = std::min<size_t>(k.count, 4);
    k.type = PixelType::U8;
    if (!k.ma_ok.empty()) k.ma_ok.resize(k.count);
    const size_t px = k.shape.pixels(), len = k.shape.seq_len;
    std::vector<uint8_t> out(k.count * px);
    std::vector<JkxStatus> st(k.count);
    std::vector<double> ma(k.count * len);
    rasterize_jkx_cpu(k.series.columns(), k.windows(), k.flags(), k.shape, PixelType::U8, out.data(), 0, nullptr,
                      ma.data(), st.data());
    for (size_t w = 0; w < k.count && done < windows; ++w, ++done) {
      const int64_t start = k.windows().start(w);
      const Series& s = k.series;
      const bool line = jkx_ma_drawn(k.shape, start, k.history_ok(w));
      std::string o = done ? "," : "";
      o += "{\"open\":" + json_array(&s.open[start], len) + ",\"high\":" + json_array(&s.high[start], len) +
           ",\"low\":" + json_array(&s.low[start], len) + ",\"close\":" + json_array(&s.close[start], len) +
           ",\"volume\":" + (k.shape.volume ? json_array(&s.volume[start], len) : "null") + ",\"history\":" +
           (line ? json_array(&s.close[start - k.shape.history()], k.shape.history()) : "null") +
           ",\"height\":" + std::to_string(k.shape.height) + ",\"volume_strip\":" +
           (k.shape.volume ? "true" : "false") + ",\"ma\":" + std::to_string(k.shape.ma) + ",\"status\":\"" +
           jkx_status_name(st[w]) + "\",\"ma_values\":" + json_array(&ma[w * len], len) + ",\"image\":\"";
      if (st[w] == JkxStatus::kOk)
        for (size_t p = 0; p < px; ++p) {
          o += hex[out[w * px + p] >> 4];
          o += hex[out[w * px + p] & 15];
        }
      o += "\"}";
      std::fputs(o.c_str(), stdout);
    }
  }
  std::printf("]}\n");
}


// What both benches draw: `count` windows of a random walk as jkx L x H (volume, MA L) and as
// the default layout at about the same pixel count (ceil(3L / 4) bars: 4 columns a bar).
struct BenchInput {
  size_t count;
  Series s;
  WindowList w;
  JkxShape jkx;
  ImageShape def;
  std::vector<uint8_t> out;
  CandleColumns cc;
  BenchInput(uint64_t seed, size_t n, uint32_t seq_len = 20, uint32_t height = 64)
      : count(n), jkx{seq_len, height, true, seq_len}, def{(3 * seq_len + 3) / 4, height} {
    Rng r(seed);
    s = random_walk(count + 100 + seq_len, r, 100, 0.01);
    w.first = seq_len - 1;
    w.count = count;
    out.resize(count * std::max(jkx.pixels(), def.pixels()));
    cc = CandleColumns{s.open.data(), s.high.data(), s.low.data(), s.close.data(), s.size()};
  }
};

// The paper's three shapes, each against the default layout; the ratio is per pixel.
void bench(uint64_t seed) {
  std::printf("\nbench: uint8, images/s of the best of >= 7 calls, taken in turns; the ratio is jkx's time per "
              "pixel over the default's\n");
  const uint32_t shapes[3][2] = {{5, 32}, {20, 64}, {60, 96}};
  for (const auto& shape : shapes) {
    BenchInput in(seed ^ 0xbe9c4ull, shape[0] == 5 ? 100000 : shape[0] == 20 ? 20000 : 5000, shape[0], shape[1]);
    const size_t count = in.count;
    const Series& s = in.s;
    const WindowList& w = in.w;
    const JkxShape& jkx = in.jkx;
    const ImageShape& def = in.def;
    std::vector<uint8_t>& out = in.out;
    std::vector<double> ma(count * jkx.seq_len);
    const CandleColumns& cc = in.cc;
    for (int threads : {1, default_thread_count()}) {
      // The three calls in turn, so that a busy moment of the machine hits them alike.
      auto calls = [&](int which) {
        if (which == 0) rasterize_cpu(cc, w, def, PixelType::U8, out.data(), threads, nullptr);
        if (which == 1) rasterize_jkx_cpu(s.columns(), w, nullptr, jkx, PixelType::U8, out.data(), threads, nullptr);
        if (which == 2)
          rasterize_jkx_cpu(s.columns(), w, nullptr, jkx, PixelType::U8, out.data(), threads, nullptr, ma.data());
      };
      double wall[3] = {1e30, 1e30, 1e30}, cpu[3] = {1e30, 1e30, 1e30};
      for (int k = 0; k < 3; ++k) calls(k);  // warm-up: page faults, caches
      const auto t0 = Clock::now();
      for (int round = 0; round < 7 || seconds_since(t0) < 3.0; ++round)
        for (int k = 0; k < 3; ++k) {
          const auto t = Clock::now();
          const double c = thread_seconds();
          calls(k);
          wall[k] = std::min(wall[k], seconds_since(t));
          cpu[k] = std::min(cpu[k], thread_seconds() - c);
        }
      const double* best = threads == 1 ? cpu : wall;
      auto ips = [&](int k) { return static_cast<double>(count) / best[k]; };
      const double per_pixel = (best[1] / static_cast<double>(jkx.pixels())) / (best[0] / static_cast<double>(def.pixels()));
      std::printf("  %2ux%-2u %2d thread%s (%s)  default %2ux%-2u: %9.0f (%5.0f ns)   jkx vol+MA%-2u: %9.0f (%5.0f ns, "
                  "%.2fx per pixel)   jkx + MA values out: %9.0f\n",
                  jkx.seq_len, jkx.height, threads, threads == 1 ? " " : "s", threads == 1 ? "thread CPU time" : "wall time",
                  def.seq_len, def.height, ips(0), 1e9 / ips(0), jkx.ma, ips(1), 1e9 / ips(1), per_pixel, ips(2));
    }
  }
}

// The same two shapes on the GPU: host-side (device to pageable host memory included, as the
// addon calls it) and per image; the CPU figures above are the reference of the same run.
void bench_gpu(uint64_t seed) {
  BenchInput in(seed ^ 0x9b0ull, 200000);
  const size_t count = in.count;
  const WindowList& w = in.w;
  double best[2] = {1e30, 1e30};
  for (int round = 0; round < 6; ++round)
    for (int which = 0; which < 2; ++which) {
      const auto t = Clock::now();
      if (which == 0) cuda::rasterize_cuda(in.cc, w, in.def, PixelType::U8, in.out.data(), nullptr);
      else cuda::rasterize_jkx_cuda(in.s.columns(), w, nullptr, in.jkx, PixelType::U8, in.out.data(), nullptr);
      if (round > 0) best[which] = std::min(best[which], seconds_since(t));  // round 0 warms up
    }
  std::printf("  GPU host-side, %zu images per call   default 15x64: %9.0f images/s   jkx 20x64 vol+MA20: %9.0f "
              "images/s (%.2fx the default's time)\n",
              count, count / best[0], count / best[1], best[1] / best[0]);
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t seed = 1;
  long cases = 1000, only_case = -1;
  bool do_bench = false, use_gpu = false, require_gpu = false;
  size_t emit_windows = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "jkx_check: %s needs a value\n", name);
        std::exit(kExitUsage);
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return kExitOk;
    } else if (a == "--seed") seed = std::strtoull(value("--seed"), nullptr, 10);
    else if (a == "--cases") cases = std::atol(value("--cases"));
    else if (a == "--case") only_case = std::atol(value("--case"));
    else if (a == "--quick") cases = 150;
    else if (a == "--bench") do_bench = true;
    else if (a == "--gpu") use_gpu = true;
    else if (a == "--require-gpu") use_gpu = require_gpu = true;
    else if (a == "--emit") emit_windows = std::strtoul(value("--emit"), nullptr, 10);
    else {
      std::fprintf(stderr, "jkx_check: unknown option %s (see --help)\n", a.c_str());
      return kExitUsage;
    }
  }
  if (use_gpu) {
    const cuda::DeviceInfo& dev = cuda::probe();
    if (dev.available) {
      std::printf("GPU: %s (sm_%d%d, %d SMs)\n", dev.name.c_str(), dev.compute_major, dev.compute_minor,
                  dev.multiprocessors);
    } else {
      std::printf("no usable CUDA device: %s\n", dev.reason.c_str());
      if (require_gpu) return kExitNoGpu;
      use_gpu = false;
    }
  }
  const auto t0 = Clock::now();
  int failures = 0;
  auto run = [&](const Case& k, const char* repro) {
    std::string detail;
    CpuRun cpu;
    bool ok = compare_case(k, &cpu, &detail);
    if (ok) ok = compare_variants(k, &detail);
    if (ok) ok = compare_geometry(k, cpu, &detail);
    const uint32_t block_sizes[] = {1, 2, 3, 7, 32, 128, 256};
    for (uint32_t nt : block_sizes) {
      if (!ok) break;
      if (k.count * k.shape.pixels() > (size_t{1} << 21) && nt != 128) continue;  // keep big cases quick
      ok = compare_emulation(k, cpu, nt, &detail);
    }
    if (ok && use_gpu) ok = compare_gpu(k, cpu, &detail);
    if (ok) return;
    ++failures;
    std::printf("MISMATCH %s\n  %s\n  %s\n", repro, k.describe().c_str(), detail.c_str());
  };

  if (emit_windows) {
    emit(seed, emit_windows);
    return kExitOk;
  }
  if (only_case >= 0) {
    const Case k = random_case(seed, only_case);
    std::printf("%s\n", k.describe().c_str());
    run(k, ("--seed " + std::to_string(seed) + " --case " + std::to_string(only_case)).c_str());
    std::printf("%s\n", failures ? "DIFFERENT" : "same");
    return g_cuda_failed ? kExitCudaError : failures ? kExitMismatch : kExitOk;
  }

  std::string detail;
  const bool example_ok = check_example(&detail);
  if (!example_ok) {
    ++failures;
    std::printf("MISMATCH worked example: %s\n", detail.c_str());
  }
  const bool arguments_ok = check_arguments(&detail);
  if (!arguments_ok) {
    ++failures;
    std::printf("MISMATCH arguments: %s\n", detail.c_str());
  }
  const bool rounding_ok = check_rounding(seed, &detail);
  if (!rounding_ok) {
    ++failures;
    std::printf("MISMATCH rounding: %s\n", detail.c_str());
  }
  const bool segments_ok = check_segment_masks(&detail);
  if (!segments_ok) {
    ++failures;
    std::printf("MISMATCH MA segment masks: %s\n", detail.c_str());
  }
  for (const Case& k : fixed_cases(seed)) run(k, ("fixed case, --seed " + std::to_string(seed)).c_str());
  for (long i = 0; i < cases; ++i) {
    const Case k = random_case(seed, i);
    run(k, ("--seed " + std::to_string(seed) + " --case " + std::to_string(i)).c_str());
    if (failures > 5) break;
  }
  std::printf("jkx_check (seed %" PRIu64 "): %s: worked example %s; rounding %s; MA segment masks %s; bad arguments %s; %zu cases, %zu windows (%zu drawn: %zu with the "
              "MA line, %zu with it cut; %zu invalid price, %zu invalid volume, %zu flat, %zu overflow), "
              "%.1f Mpx compared; 1 vs %d threads, uint8 vs float32, kernel emulation (1..256 threads); %.1f s\n",
              seed, failures ? "FAILED" : "OK", example_ok ? "exact" : "WRONG", rounding_ok ? "= rint" : "WRONG", segments_ok ? "= stepped" : "WRONG", arguments_ok ? "refused" : "WRONG", g_cov.cases, g_cov.windows,
              g_cov.status[0], g_cov.with_line, g_cov.line_cut, g_cov.status[1], g_cov.status[2], g_cov.status[3],
              g_cov.status[4], static_cast<double>(g_cov.pixels) / 1e6, default_thread_count(), seconds_since(t0));
  std::printf("jkx_check geometry encoder: %zu images from their ink runs, every stream equal to the drawn image; "
              "bytes %.4f of the row encoder's, %.4f of zlib level 6's (larger than level 6 in %zu)\n",
              g_cov.streams, static_cast<double>(g_cov.geometry_bytes) / static_cast<double>(std::max<uint64_t>(g_cov.row_bytes, 1)),
              static_cast<double>(g_cov.geometry_bytes) / static_cast<double>(std::max<uint64_t>(g_cov.level6_bytes, 1)),
              g_cov.over_level6);
  if (use_gpu)
    std::printf("jkx_check GPU: %s: %zu cases, %.1f Mpx equal to the CPU kernel's\n",
                failures ? "FAILED" : "OK", g_cov.gpu_cases, static_cast<double>(g_cov.gpu_pixels) / 1e6);
  if (do_bench) bench(seed);
  if (do_bench && use_gpu && !failures) bench_gpu(seed);
  return g_cuda_failed ? kExitCudaError : failures ? kExitMismatch : kExitOk;
}
