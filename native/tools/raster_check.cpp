// raster_check: the CUDA rasterizer against the CPU one, byte for byte, and both timed.
// Standalone (no Node): built by CMake next to the addon, carried to a GPU machine as is (cudart
// is linked statically). Run with --help for the options and exit codes; bench/CUDA.md explains
// the checks and the targets.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "cuda/cuda_tools.hpp"
#include "cuda/raster_layout.hpp"
#include "kernels/raster.hpp"
#include "tools/tool_support.hpp"

using namespace ohlc;
using namespace ohlc::tools;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitMismatch = 1;
constexpr int kExitUsage = 2;
constexpr int kExitCudaError = 3;
constexpr int kExitNoGpu = 4;

const char* kHelp = R"(raster_check: GPU (CUDA) vs CPU rasterizer, byte for byte, and throughput.

usage: raster_check [options]
  --seed N            random seed (default 1); every case is reproducible from it
  --cases N           random GPU-vs-CPU cases (default 600)
  --case K            run only random case K (with its seed) and print it
  --time-budget S     stop starting new random cases after S seconds (default 40)
  --bench-seconds S   time per throughput row (default 1)
  --no-bench          skip the throughput table
  --quick             fewer cases and shorter timings (for tests): --cases 60 --bench-seconds 0.2
  --require-gpu       exit 4 when no usable CUDA device is found
  --light             only the small fixed cases (for runs under compute-sanitizer)
  --cpu-as-gpu        check this program itself without a GPU: part 2 compares the CPU
                      rasterizer on all threads with itself on one thread (no GPU rows)
  --help              this text

What it does:
  1. layout emulation (CPU only): runs the CUDA kernel's pixel-writing code (cuda/raster_layout.hpp)
     on the CPU for every thread index and compares every image with the CPU rasterizer;
  2. GPU vs CPU (needs a GPU): the IMAGE.md example, fixed edge cases and random cases (random
     walks, flat and nearly flat windows, extreme price ranges, malformed candles, invalid prices,
     seqLen 1..2000, heights 2..4000, uint8 and float32, stride and explicit starts, several
     batch sizes and host transfer modes); outcome, reported window/candle/field/value and every
     byte must be equal;
  3. throughput for seqLen 100, height 500: CPU (all threads), GPU device-only (kernel into
     device memory, CUDA events) and GPU host-side (64 MiB calls into one reused buffer, as the
     pipeline does: staged, registered, and into pinned memory).

Without a usable GPU it prints "no usable CUDA device: <reason>", runs parts 1 and 3 (CPU rows)
and exits 0, unless --require-gpu.

exit codes:
  0  every check that could run passed
  1  a mismatch (GPU vs CPU, or layout emulation vs CPU)
  2  bad command line
  3  a CUDA call failed while a GPU was usable
  4  --require-gpu and no usable CUDA device
)";

struct Options {
  uint64_t seed = 1;
  int cases = 600;
  long only_case = -1;
  double time_budget = 40;
  double bench_seconds = 1;
  bool bench = true;
  bool require_gpu = false;
  bool cpu_as_gpu = false;
  bool light = false;
};

// --cpu-as-gpu: the "GPU" side of every comparison is rasterize_cpu on one thread, which checks
// this program's cases and comparisons on a machine without a GPU.
bool g_cpu_as_gpu = false;



struct Series {
  std::vector<double> open, high, low, close;
  explicit Series(size_t n = 0) : open(n), high(n), low(n), close(n) {}
  size_t size() const { return open.size(); }
  CandleColumns columns() const {
    return CandleColumns{open.data(), high.data(), low.data(), close.data(), open.size()};
  }
  double* field(int f) {
    return f == 0 ? open.data() : f == 1 ? high.data() : f == 2 ? low.data() : close.data();
  }
};

enum class SeriesKind { kWalk, kFlat, kNearlyFlat, kExtreme, kMalformed, kTinyRange, kCount };
const char* kind_name(SeriesKind k) {
  switch (k) {
    case SeriesKind::kWalk: return "random walk";
    case SeriesKind::kFlat: return "flat";
    case SeriesKind::kNearlyFlat: return "nearly flat";
    case SeriesKind::kExtreme: return "extreme range";
    case SeriesKind::kMalformed: return "malformed candles";
    case SeriesKind::kTinyRange: return "tiny range";
    default: return "?";
  }
}

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
    p = c;
  }
  return s;
}

Series make_series(SeriesKind kind, size_t n, Rng& r) {
  switch (kind) {
    case SeriesKind::kWalk:
      return random_walk(n, r, std::pow(10.0, r.uniform() * 12 - 6), std::pow(10.0, -4 + 3 * r.uniform()));
    case SeriesKind::kFlat: {
      // Piecewise flat: long runs of one price, so many windows are exactly flat.
      Series s(n);
      double level = std::pow(10.0, r.uniform() * 8 - 4);
      for (size_t i = 0; i < n; ++i) {
        if (r.chance(0.01)) level = std::pow(10.0, r.uniform() * 8 - 4);
        s.open[i] = s.high[i] = s.low[i] = s.close[i] = level;
      }
      return s;
    }
    case SeriesKind::kNearlyFlat: {
      // One ulp or a few apart: the rounding rule alone decides the rows.
      Series s(n);
      const double base = std::pow(10.0, r.uniform() * 10 - 5);
      for (size_t i = 0; i < n; ++i)
        for (int f = 0; f < 4; ++f) {
          double v = base;
          for (uint64_t k = r.below(4); k > 0; --k) v = std::nextafter(v, 2 * v);
          s.field(f)[i] = v;
        }
      return s;
    }
    case SeriesKind::kExtreme: {
      // Prices anywhere from the smallest subnormal to the largest double.
      Series s(n);
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
    case SeriesKind::kMalformed: {
      Series s = random_walk(n, r, 100, 0.02);
      for (size_t i = 0; i < n; ++i) {
        const uint64_t u = r.below(5);
        if (u == 0) std::swap(s.high[i], s.low[i]);              // high < low
        if (u == 1) s.open[i] = s.high[i] * (1 + r.uniform());   // open above high
        if (u == 2) s.close[i] = s.low[i] * r.uniform() + 1e-9;  // close below low
      }
      return s;
    }
    case SeriesKind::kTinyRange:
      return random_walk(n, r, 1e-300 * (1 + r.uniform()), 1e-13);
    default:
      return Series(n);
  }
}

// Puts `howmany` unusable prices at random candles and fields.
void inject_invalid(Series& s, Rng& r, int howmany) {
  const double bad[] = {std::nan(""), INFINITY, -INFINITY, 0.0, -0.0, -1.0, -1e-300};
  for (int k = 0; k < howmany; ++k)
    s.field(static_cast<int>(r.below(4)))[r.below(s.size())] = bad[r.below(7)];
}

// One GPU-vs-CPU comparison.
struct Case {
  std::string name;
  Series series;
  std::vector<int64_t> starts;  // empty: stride mode
  int64_t first = 0, stride = 1;
  size_t count = 0;
  ImageShape shape;
  PixelType type = PixelType::U8;
  cuda::CudaOptions cuda_options;
  bool cancelled = false;        // run with the cancel flag already set
  void* pinned_out = nullptr;    // when set, the GPU draws into this page-locked buffer

  WindowList windows() const {
    WindowList w;
    w.starts = starts.empty() ? nullptr : starts.data();
    w.first = first;
    w.stride = stride;
    w.count = count;
    return w;
  }
  std::string describe() const {
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  "%s: %zu windows, seqLen %u, height %u, %s, %s, %zu candles, transfer %s, "
                  "batch %zu bytes%s",
                  name.c_str(), count, shape.seq_len, shape.height,
                  type == PixelType::U8 ? "uint8" : "float32",
                  starts.empty() ? ("stride " + std::to_string(stride) + " from " + std::to_string(first)).c_str()
                                 : "explicit starts",
                  series.size(), cuda::host_transfer_name(cuda_options.transfer),
                  cuda_options.batch_bytes, cancelled ? ", cancelled" : "");
    return buf;
  }
};

std::string outcome_text(const RasterOutcome& o, uint32_t seq_len, const WindowList& w) {
  switch (o.status) {
    case RasterOutcome::kOk: return "ok";
    case RasterOutcome::kCancelled: return "cancelled";
    case RasterOutcome::kBadArgument: return "error: " + o.message;
    case RasterOutcome::kInvalidPrice: return describe_bad_window(o.window, w.start(o.window), seq_len, o.bad);
  }
  return "?";
}

// A 16-byte aligned byte buffer filled with a pattern (unwritten pixels then compare equal only
// where both sides left them alone).
struct Buffer {
  std::unique_ptr<uint8_t[], void (*)(void*)> data{nullptr, std::free};
  size_t bytes = 0;
  explicit Buffer(size_t n, uint8_t fill) : bytes(n) {
    data.reset(static_cast<uint8_t*>(std::aligned_alloc(64, (n + 64) / 64 * 64)));
    if (!data) {
      std::fprintf(stderr, "raster_check: out of memory (%zu bytes)\n", n);
      std::exit(kExitUsage);
    }
    std::memset(data.get(), fill, n);
  }
};

// Where two image buffers first differ, in words a person can check.
std::string first_difference(const uint8_t* a, const uint8_t* b, size_t bytes, ImageShape shape,
                             PixelType type) {
  const size_t px = pixel_bytes(type);
  for (size_t i = 0; i < bytes; ++i) {
    if (a[i] == b[i]) continue;
    const size_t pixel = i / px;
    const size_t image = pixel / shape.pixels();
    const size_t in_image = pixel % shape.pixels();
    double va, vb;
    if (type == PixelType::U8) {
      va = a[pixel];
      vb = b[pixel];
    } else {
      float fa, fb;
      std::memcpy(&fa, a + pixel * 4, 4);
      std::memcpy(&fb, b + pixel * 4, 4);
      va = fa;
      vb = fb;
    }
    char buf[200];
    std::snprintf(buf, sizeof buf, "image %zu, row %zu, column %zu: cpu %g, gpu %g", image,
                  in_image / shape.width(), in_image % shape.width(), va, vb);
    return buf;
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// 1. Layout emulation: the kernel's writers, run on the CPU for every thread index.
// ---------------------------------------------------------------------------------------------
struct EmulationResult {
  bool ok = true;
  size_t shapes = 0, images = 0;
  std::string detail;
};

// Draws `count` windows as the kernel does: images back to back from a 16-byte aligned base
// (as cudaMalloc returns), each by kBlock "threads", whole or tile by tile.
void emulate_kernel(const CandleColumns& c, const WindowList& windows, ImageShape shape,
                    PixelType type, uint32_t nt, uint8_t* out) {
  std::vector<BarRows> rows(shape.seq_len);
  const size_t image_bytes = shape.pixels() * pixel_bytes(type);
  for (size_t w = 0; w < windows.count; ++w) {
    const int64_t start = windows.start(w);
    double lo, hi;
    if (!window_range(c, start, shape.seq_len, &lo, &hi, nullptr)) continue;
    window_bar_rows(c, start, shape, lo, hi, rows.data());
    uint8_t* image = out + w * image_bytes;
    const uint32_t len = shape.seq_len, h = shape.height;
    if (cuda::whole_image_path(len, h)) {
      for (uint32_t t = 0; t < nt; ++t) {
        if (type == PixelType::U8) cuda::write_image_u8(rows.data(), len, h, reinterpret_cast<uint32_t*>(image), t, nt);
        else cuda::write_image_f32(rows.data(), len, h, reinterpret_cast<float*>(image), t, nt);
      }
    } else {
      for (uint32_t t0 = 0; t0 < len; t0 += cuda::kBarTile) {
        const uint32_t bars = std::min(cuda::kBarTile, len - t0);
        for (uint32_t t = 0; t < nt; ++t) {
          if (type == PixelType::U8)
            cuda::write_tile_u8(rows.data() + t0, bars, t0, len, h, reinterpret_cast<uint32_t*>(image), t, nt);
          else
            cuda::write_tile_f32(rows.data() + t0, bars, t0, len, h, reinterpret_cast<float*>(image), t, nt);
        }
      }
    }
  }
}

EmulationResult check_layout(uint64_t seed) {
  EmulationResult res;
  Rng r(seed ^ 0x1a7007ull);
  struct Shape { uint32_t len, height; };
  std::vector<Shape> shapes = {{1, 2}, {1, 3}, {2, 5}, {3, 7}, {5, 3}, {7, 2}, {100, 500}, {101, 499},
                               {1023, 3}, {1024, 5}, {1025, 3}, {2000, 7}, {3, 4000}, {33, 31}};
  for (int i = 0; i < 150; ++i)
    shapes.push_back({static_cast<uint32_t>(r.range(1, r.chance(0.2) ? 2100 : 64)),
                      static_cast<uint32_t>(r.range(2, r.chance(0.2) ? 1200 : 40))});
  const uint64_t before = cuda::misaligned_vector_stores();
  for (const Shape& s : shapes) {
    for (PixelType type : {PixelType::U8, PixelType::F32}) {
      ImageShape shape{s.len, s.height};
      const size_t image_bytes = shape.pixels() * pixel_bytes(type);
      // Enough consecutive images that u8 images start at every word offset mod 4.
      const size_t count = std::max<size_t>(1, std::min<size_t>(5, (size_t{6} << 20) / image_bytes));
      Series series = make_series(r.chance(0.3) ? SeriesKind::kMalformed : SeriesKind::kWalk, count + s.len + 3, r);
      if (r.chance(0.1)) inject_invalid(series, r, 1);
      WindowList w;
      w.first = static_cast<int64_t>(r.below(3));
      w.count = count;
      const CandleColumns c = series.columns();
      Buffer want(count * image_bytes, 0xA5), got(count * image_bytes, 0xA5);
      for (size_t i = 0; i < count; ++i) {  // the CPU draws valid windows only, like the kernel
        double lo, hi;
        if (window_range(c, w.start(i), s.len, &lo, &hi, nullptr))
          draw_window(c, w.start(i), shape, lo, hi, type, want.data.get() + i * image_bytes);
      }
      emulate_kernel(c, w, shape, type, 256, got.data.get());
      res.shapes++;
      res.images += count;
      if (std::memcmp(want.data.get(), got.data.get(), want.bytes) != 0) {
        res.ok = false;
        res.detail = "seqLen " + std::to_string(s.len) + ", height " + std::to_string(s.height) +
                     (type == PixelType::U8 ? ", uint8: " : ", float32: ") +
                     first_difference(want.data.get(), got.data.get(), want.bytes, shape, type);
        return res;
      }
    }
  }
  if (cuda::misaligned_vector_stores() != before) {
    res.ok = false;
    res.detail = std::to_string(cuda::misaligned_vector_stores() - before) +
                 " 16-byte stores to addresses that are not 16-byte aligned";
  }
  return res;
}

// ---------------------------------------------------------------------------------------------
// 2. GPU vs CPU
// ---------------------------------------------------------------------------------------------
enum class CompareStatus { kSame, kMismatch, kCudaError };

// What the comparisons covered: outcomes by RasterOutcome::Status, and bytes compared.
struct Coverage {
  size_t outcomes[4] = {0, 0, 0, 0};
  size_t bytes = 0;
} g_coverage;

CompareStatus compare_case(const Case& k, std::string* detail) {
  const CandleColumns c = k.series.columns();
  const WindowList w = k.windows();
  const size_t bytes = k.count * k.shape.pixels() * pixel_bytes(k.type);
  Buffer cpu(bytes, 0x5A), gpu_buf(k.pinned_out ? 0 : bytes, 0x5A);
  uint8_t* gpu = k.pinned_out ? static_cast<uint8_t*>(k.pinned_out) : gpu_buf.data.get();
  if (k.pinned_out) std::memset(gpu, 0x5A, bytes);
  std::atomic<bool> cancel{k.cancelled};
  const RasterOutcome a = rasterize_cpu(c, w, k.shape, k.type, cpu.data.get(), 0, &cancel);
  const RasterOutcome b = g_cpu_as_gpu ? rasterize_cpu(c, w, k.shape, k.type, gpu, 1, &cancel)
                                       : cuda::rasterize_cuda(c, w, k.shape, k.type, gpu, &cancel, k.cuda_options);
  const std::string ta = outcome_text(a, k.shape.seq_len, w), tb = outcome_text(b, k.shape.seq_len, w);
  if (b.status == RasterOutcome::kBadArgument && a.status != RasterOutcome::kBadArgument) {
    *detail = "GPU failed: " + b.message;
    return CompareStatus::kCudaError;
  }
  bool same = a.status == b.status && ta == tb;
  if (same && a.status == RasterOutcome::kInvalidPrice)
    same = a.window == b.window && a.bad.candle == b.bad.candle && a.bad.field == b.bad.field &&
           std::memcmp(&a.bad.value, &b.bad.value, sizeof(double)) == 0;
  if (!same) {
    *detail = "outcome: cpu \"" + ta + "\", gpu \"" + tb + "\"";
    return CompareStatus::kMismatch;
  }
  // Every image when ok; with an invalid window, the images before it (both draw all of those).
  size_t compare = 0;
  if (a.status == RasterOutcome::kOk) compare = bytes;
  if (a.status == RasterOutcome::kInvalidPrice) compare = a.window * k.shape.pixels() * pixel_bytes(k.type);
  g_coverage.outcomes[a.status]++;
  g_coverage.bytes += compare;
  if (compare && std::memcmp(cpu.data.get(), gpu, compare) != 0) {
    *detail = first_difference(cpu.data.get(), gpu, compare, k.shape, k.type);
    return CompareStatus::kMismatch;
  }
  return CompareStatus::kSame;
}

Case random_case(uint64_t seed, long index) {
  Rng r(seed * 0x100000001b3ull + static_cast<uint64_t>(index) * 0x9e3779b97f4a7c15ull + 17);
  Case k;
  const auto kind = static_cast<SeriesKind>(r.below(static_cast<uint64_t>(SeriesKind::kCount)));
  k.name = "case " + std::to_string(index) + " (" + kind_name(kind) + ")";
  const std::vector<uint32_t> lens = {1, 2, 3, 4, 5, 7, 8, 31, 32, 33, 64, 100, 100, 127, 255, 256,
                                      257, 1000, 1023, 1024, 1025, 1500, 2000};
  const std::vector<uint32_t> heights = {2, 3, 4, 5, 7, 16, 100, 255, 256, 499, 500, 500, 501, 1000, 2048, 4000};
  k.shape.seq_len = r.chance(0.6) ? r.pick(lens) : static_cast<uint32_t>(r.range(1, r.chance(0.5) ? 2000 : 200));
  k.shape.height = r.chance(0.6) ? r.pick(heights) : static_cast<uint32_t>(r.range(2, r.chance(0.5) ? 4000 : 300));
  k.type = r.chance(0.6) ? PixelType::U8 : PixelType::F32;
  // At most ~48 MiB per image and ~12 MiB per case on average.
  while (k.shape.pixels() * pixel_bytes(k.type) > (size_t{48} << 20)) k.shape.height /= 2;
  const size_t image_bytes = k.shape.pixels() * pixel_bytes(k.type);
  const size_t budget = static_cast<size_t>(std::pow(2.0, 16 + 8 * r.uniform()));  // 64 KiB .. 16 MiB
  k.count = std::max<size_t>(1, std::min<size_t>(budget / image_bytes, r.chance(0.1) ? 5000 : 200));

  size_t n;
  if (r.chance(0.5)) {
    k.first = r.range(0, 3);
    k.stride = r.chance(0.7) ? r.range(1, 3) : r.range(1, 2 * k.shape.seq_len + 1);
    k.stride = std::min<int64_t>(k.stride, std::max<size_t>(1, 2000000 / k.count));  // <= ~2M candles
    n = static_cast<size_t>(k.first) + (k.count - 1) * static_cast<size_t>(k.stride) + k.shape.seq_len + r.below(4);
  } else {
    n = k.shape.seq_len + r.below(2 * k.count + 10);
    k.starts.resize(k.count);
    for (auto& s : k.starts) s = static_cast<int64_t>(r.below(n - k.shape.seq_len + 1));
  }
  k.series = make_series(kind, n, r);
  if (r.chance(0.2)) inject_invalid(k.series, r, static_cast<int>(r.range(1, 3)));
  k.cuda_options.transfer = static_cast<cuda::HostTransfer>(r.below(3));
  const uint64_t b = r.below(4);  // default batches, or small ones: many launches, odd offsets
  k.cuda_options.batch_bytes = b == 0 ? image_bytes * static_cast<size_t>(r.range(1, 7)) + r.below(image_bytes)
                               : b == 1 ? 1 : 0;
  k.cancelled = r.chance(0.02);
  return k;
}

std::vector<Case> fixed_cases(uint64_t seed) {
  Rng r(seed ^ 0xf1e5dull);
  std::vector<Case> out;
  auto add = [&](std::string name, Series s, uint32_t len, uint32_t h, PixelType t, size_t count) -> Case& {
    Case k;
    k.name = std::move(name);
    k.series = std::move(s);
    k.shape = {len, h};
    k.type = t;
    k.count = count;
    out.push_back(std::move(k));
    return out.back();
  };
  {
    Series s(2);
    const double rows[2][4] = {{10, 12, 9, 11}, {11, 13, 10, 10}};
    for (int i = 0; i < 2; ++i)
      for (int f = 0; f < 4; ++f) s.field(f)[i] = rows[i][f];
    add("IMAGE.md example", s, 2, 5, PixelType::U8, 1);
  }
  add("seqLen 100, height 500, uint8", random_walk(600, r, 100, 0.01), 100, 500, PixelType::U8, 500);
  add("seqLen 100, height 500, float32", random_walk(300, r, 100, 0.01), 100, 500, PixelType::F32, 200);
  add("1,000,000 tiny images (seqLen 1, height 2)", random_walk(1000000, r, 100, 0.01), 1, 2, PixelType::U8, 1000000);
  add("1,000,000 tiny images in 1 MiB batches", random_walk(1000000, r, 100, 0.01), 1, 2, PixelType::U8, 1000000)
      .cuda_options.batch_bytes = 1 << 20;
  add("seqLen 2000 > 1024 (tiles), height 4000", random_walk(2010, r, 100, 0.01), 2000, 4000, PixelType::U8, 3);
  add("seqLen 1025, height 3, float32", random_walk(1100, r, 100, 0.01), 1025, 3, PixelType::F32, 50);
  add("seqLen 3, height 7 (images at every word offset)", random_walk(500, r, 100, 0.01), 3, 7, PixelType::U8, 400)
      .cuda_options.batch_bytes = 3 * 4 * 3 * 7;
  {
    Series s = random_walk(5000, r, 100, 0.01);
    s.high[3000] = std::nan("");
    s.low[4500] = -1;
    s.close[4501] = 0;
    Case& k = add("invalid prices in several batches", s, 100, 50, PixelType::U8, 4901);
    k.cuda_options.batch_bytes = 100 * 400 * 50;
  }
  {
    Series s = random_walk(3000, r, 100, 0.01);
    s.open[2990] = INFINITY;
    Case& k = add("invalid price, explicit descending starts", s, 64, 64, PixelType::F32, 2000);
    k.starts.resize(2000);
    for (size_t i = 0; i < 2000; ++i) k.starts[i] = static_cast<int64_t>(2900 - i);
  }
  {
    Series s(300);
    for (size_t i = 0; i < 300; ++i) s.open[i] = s.high[i] = s.low[i] = s.close[i] = 42.5;
    add("flat series", s, 100, 501, PixelType::U8, 201);
  }
  add("cancelled before the start", random_walk(500, r, 100, 0.01), 10, 10, PixelType::U8, 400).cancelled = true;
  {
    Case& k = add("start out of range", random_walk(50, r, 100, 0.01), 10, 10, PixelType::U8, 2);
    k.starts = {0, 41};
  }
  for (auto t : {cuda::HostTransfer::kStaged, cuda::HostTransfer::kRegister}) {
    Case& k = add(std::string("transfer ") + cuda::host_transfer_name(t), random_walk(2000, r, 100, 0.01),
                  100, 500, PixelType::U8, 1500);
    k.cuda_options.transfer = t;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// 3. Throughput
// ---------------------------------------------------------------------------------------------
struct Row {
  std::string backend, dtype, note;
  double images_per_second = 0, bytes_per_second = 0;
};

// Repeats `call` (which draws `images` images) until `seconds` have passed; images per second.
template <typename F>
double rate(double seconds, size_t images, F call) {
  call();  // warm-up: page faults, allocations, caches
  size_t done = 0;
  const auto t0 = Clock::now();
  do {
    if (!call()) return -1;
    done += images;
  } while (seconds_since(t0) < seconds);
  return static_cast<double>(done) / seconds_since(t0);
}

std::string with_commas(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f", v);
  std::string s = buf, out;
  const size_t digits = s.size();
  for (size_t i = 0; i < digits; ++i) {
    out += s[i];
    if ((digits - i - 1) % 3 == 0 && i + 1 < digits) out += ',';
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "raster_check: %s needs a value\n", name);
        std::exit(kExitUsage);
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return kExitOk;
    } else if (a == "--seed") opt.seed = std::strtoull(value("--seed"), nullptr, 10);
    else if (a == "--cases") opt.cases = std::atoi(value("--cases"));
    else if (a == "--case") opt.only_case = std::atol(value("--case"));
    else if (a == "--time-budget") opt.time_budget = std::atof(value("--time-budget"));
    else if (a == "--bench-seconds") opt.bench_seconds = std::atof(value("--bench-seconds"));
    else if (a == "--no-bench") opt.bench = false;
    else if (a == "--quick") {
      opt.cases = 60;
      opt.bench_seconds = 0.2;
    } else if (a == "--require-gpu") opt.require_gpu = true;
    else if (a == "--cpu-as-gpu") opt.cpu_as_gpu = g_cpu_as_gpu = true;
    else if (a == "--light") opt.light = true;
    else {
      std::fprintf(stderr, "raster_check: unknown option %s (see --help)\n", a.c_str());
      return kExitUsage;
    }
  }
  const auto t_start = Clock::now();
  int exit_code = kExitOk;
  auto worse = [&exit_code](int code) {
    if (exit_code == kExitOk || (code == kExitMismatch)) exit_code = code;
  };

  const cuda::DeviceInfo& dev = cuda::probe();
  const int threads = default_thread_count();
  std::printf("raster_check (seed %" PRIu64 ")\n", opt.seed);
  std::printf("CPU: %d thread%s (%s)\n", threads, threads == 1 ? "" : "s",
              have_openmp() ? "OpenMP" : "built without OpenMP");
  if (dev.available) {
    std::printf("GPU: %s (compute %d.%d, %d SMs, %.0f GiB)\n", dev.name.c_str(), dev.compute_major,
                dev.compute_minor, dev.multiprocessors, static_cast<double>(dev.memory_bytes) / (1 << 30));
  } else {
    std::printf("GPU: no usable CUDA device: %s\n", dev.reason.c_str());
  }
  std::fflush(stdout);

  // --case K: one random case, described, then compared.
  if (opt.only_case >= 0) {
    const Case k = random_case(opt.seed, opt.only_case);
    std::printf("%s\n", k.describe().c_str());
    if (!dev.available && !opt.cpu_as_gpu) return opt.require_gpu ? kExitNoGpu : kExitOk;
    std::string detail;
    const CompareStatus s = compare_case(k, &detail);
    std::printf("%s%s\n", s == CompareStatus::kSame ? "same" : "DIFFERENT: ", detail.c_str());
    return s == CompareStatus::kSame ? kExitOk : s == CompareStatus::kMismatch ? kExitMismatch : kExitCudaError;
  }

  // 1. Layout emulation.
  {
    const auto t0 = Clock::now();
    const EmulationResult e = check_layout(opt.seed);
    std::printf("%-28s %s: %zu shapes x 2 dtypes, %zu images (%.1f s)%s%s\n", "layout emulation",
                e.ok ? "ok" : "MISMATCH", e.shapes / 2, e.images, seconds_since(t0),
                e.ok ? "" : "\n  ", e.detail.c_str());
    if (!e.ok) worse(kExitMismatch);
  }

  // 2. GPU vs CPU.
  const char* part2 = opt.cpu_as_gpu ? "CPU vs CPU (--cpu-as-gpu)" : "GPU vs CPU";
  if (!dev.available && !opt.cpu_as_gpu) {
    std::printf("%-28s skipped: no usable CUDA device\n", part2);
  } else {
    const auto t0 = Clock::now();
    size_t cases = 0, windows = 0, bytes = 0, skipped = 0;
    bool failed = false;
    auto run = [&](const Case& k) {
      std::string detail;
      const CompareStatus s = compare_case(k, &detail);
      ++cases;
      windows += k.count;
      bytes += k.count * k.shape.pixels() * pixel_bytes(k.type);
      if (s == CompareStatus::kSame) return;
      failed = true;
      std::printf("  %s: %s\n    %s\n", s == CompareStatus::kMismatch ? "MISMATCH" : "CUDA ERROR",
                  k.describe().c_str(), detail.c_str());
      worse(s == CompareStatus::kMismatch ? kExitMismatch : kExitCudaError);
    };
    for (const Case& k : fixed_cases(opt.seed))
      if (!opt.light || (k.count <= 20000 && k.count * k.shape.pixels() * pixel_bytes(k.type) <= (size_t{4} << 20)))
        run(k);
    if (!opt.light) {  // Into page-locked memory: kAuto copies straight into it.
      Rng r(opt.seed ^ 0x91aedull);
      Case k;
      k.name = "seqLen 100, height 500, uint8, into pinned memory";
      k.series = random_walk(700, r, 100, 0.01);
      k.shape = {100, 500};
      k.count = 600;
      k.cuda_options.batch_bytes = size_t{7} << 20;
      k.pinned_out = cuda::alloc_pinned(k.count * k.shape.pixels());
      if (k.pinned_out) run(k);
      else if (!opt.cpu_as_gpu) std::printf("  (no pinned memory for the pinned case)\n");
      cuda::free_pinned(k.pinned_out);
    }
    for (long i = 0; i < opt.cases; ++i) {
      if (seconds_since(t0) > opt.time_budget) {
        skipped = static_cast<size_t>(opt.cases - i);
        break;
      }
      run(random_case(opt.seed, i));
    }
    (void)bytes;
    std::printf("%-28s %s: %zu cases (%zu ok, %zu invalid price, %zu cancelled, %zu bad argument), "
                "%zu windows, %.2f GB compared (%.1f s)", part2, failed ? "FAILED" : "ok", cases,
                g_coverage.outcomes[0], g_coverage.outcomes[1], g_coverage.outcomes[2], g_coverage.outcomes[3],
                windows, static_cast<double>(g_coverage.bytes) / 1e9, seconds_since(t0));
    if (skipped) std::printf(", %zu random cases left out by --time-budget", skipped);
    std::printf("\n");
  }
  std::fflush(stdout);

  // 3. Throughput, seqLen 100, height 500.
  if (opt.bench) {
    const ImageShape shape{100, 500};
    std::vector<Row> rows;
    Rng r(opt.seed ^ 0xbe9c4ull);
    for (PixelType type : {PixelType::U8, PixelType::F32}) {
      const char* dtype = type == PixelType::U8 ? "uint8" : "float32";
      const size_t image_bytes = shape.pixels() * pixel_bytes(type);
      const size_t per_call = (size_t{64} << 20) / image_bytes;  // the pipeline's 64 MiB calls
      const Series calls_series = random_walk(per_call + shape.seq_len, r, 100, 0.01);
      WindowList calls;
      calls.count = per_call;
      Buffer out(per_call * image_bytes, 0);
      {
        const double ips = rate(opt.bench_seconds, per_call, [&] {
          return rasterize_cpu(calls_series.columns(), calls, shape, type, out.data.get(), 0, nullptr).status == RasterOutcome::kOk;
        });
        rows.push_back({"cpu (" + std::to_string(threads) + " threads)", dtype, "", ips, ips * image_bytes});
      }
      if (!dev.available) continue;
      {
        // Device only: ~2 GiB of images per launch (well past L2), at most a quarter of memory.
        size_t n = std::min((size_t{2} << 30), dev.memory_bytes / 4) / image_bytes;
        n = std::max<size_t>(1, n);
        const Series s = random_walk(n + shape.seq_len, r, 100, 0.01);
        WindowList w;
        w.count = n;
        const cuda::DeviceBenchmark b = cuda::benchmark_device(s.columns(), w, shape, type, 10);
        if (!b.ok) {
          std::printf("  device benchmark failed: %s\n", b.error.c_str());
          worse(kExitCudaError);
        } else {
          rows.push_back({"gpu device-only", dtype,
                          type == PixelType::U8 ? (b.images_per_second >= 1e6 ? "target >= 1,000,000: met" : "target >= 1,000,000: NOT MET") : "",
                          b.images_per_second, b.bytes_per_second});
        }
      }
      auto host_row = [&](const char* name, cuda::HostTransfer t, uint8_t* dst) {
        cuda::CudaOptions o;
        o.transfer = t;
        std::string error;
        const double ips = rate(opt.bench_seconds, per_call, [&] {
          const RasterOutcome res = cuda::rasterize_cuda(calls_series.columns(), calls, shape, type, dst, nullptr, o);
          if (res.status != RasterOutcome::kOk) error = res.message;
          return res.status == RasterOutcome::kOk;
        });
        if (ips < 0) {
          std::printf("  %s failed: %s\n", name, error.c_str());
          worse(kExitCudaError);
          return;
        }
        rows.push_back({name, dtype, "64 MiB calls", ips, ips * image_bytes});
      };
      host_row("gpu host, staged", cuda::HostTransfer::kStaged, out.data.get());
      host_row("gpu host, registered", cuda::HostTransfer::kRegister, out.data.get());
      if (void* pinned = cuda::alloc_pinned(per_call * image_bytes)) {
        host_row("gpu host, pinned out", cuda::HostTransfer::kAuto, static_cast<uint8_t*>(pinned));
        cuda::free_pinned(pinned);
      }
    }
    std::printf("\nthroughput, seqLen 100, height 500 (200,000 pixels per image)\n");
    std::printf("  %-24s %-8s %14s %10s  %s\n", "backend", "dtype", "images/s", "GB/s", "note");
    for (const Row& row : rows)
      std::printf("  %-24s %-8s %14s %10.2f  %s\n", row.backend.c_str(), row.dtype.c_str(),
                  with_commas(row.images_per_second).c_str(), row.bytes_per_second / 1e9, row.note.c_str());
  }

  if (!dev.available && opt.require_gpu) worse(kExitNoGpu);
  const char* verdict = exit_code == kExitOk ? "OK" : exit_code == kExitMismatch ? "MISMATCH"
                        : exit_code == kExitCudaError ? "CUDA ERROR" : "NO GPU";
  std::printf("\nresult: %s%s (%.1f s, exit %d)\n", verdict,
              dev.available || exit_code != kExitOk ? "" : " (CPU checks only: no usable CUDA device)",
              seconds_since(t_start), exit_code);
  cuda::release_resources();
  return exit_code;
}
