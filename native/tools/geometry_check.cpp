// Checks and measures the geometry encoder (kernels/deflate/geometry_encoder.hpp): DEFLATE
// streams of bar images written from BarRows, never drawn.
//
//   geometry_check [--seed N] [--cases N] [--quick] [--case K]
//       fuzz: random windows (random walks, flat, one-ulp, extreme ranges 1e-300..1e308, seqLen 1,
//       heights 2..4000, rows wider than 32 KiB, malformed candles, uint8 and float32), plus
//       random ink runs for the layout-generic entry point. Every zlib stream, gzip member and
//       raw piece (alone and concatenated with others + finish_stream) is decoded by zlib's
//       inflate, checksums included, and compared byte for byte with draw_window's image; the
//       returned CRC-32 and adler32() are compared with zlib's over the drawn bytes.
//       --quick: 20,000 cases of at most 2^15 pixels. --case K: only case K of that seed
//       (with --quick: of the quick sequence), described.
//   geometry_check --bench [--images N] [--threads N] [--rounds N] [--shape LxH-type]
//       images/s and bytes/image for draw + row encoder, geometry encoder, draw + zlib level 6,
//       on one thread (its CPU time) and on all (wall time), best of --rounds (3); zlib inflate
//       speed of both encoders' streams. Like bench/README.md's benchmarks, a block counts only
//       if other processes used under 0.15 of a core meanwhile (re-run otherwise, for at most
//       --patience seconds, 900; what remained is printed as "other load").
//
// Exits 1 on the first mismatch with a description and the command that repeats it, 2 on a
// bad command line.
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <sys/resource.h>
#include <unistd.h>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "kernels/deflate/geometry_encoder.hpp"
#include "kernels/deflate/row_deflate.hpp"
#include "kernels/png_encode.hpp"
#include "kernels/raster.hpp"
#include "tools/tool_support.hpp"

namespace {

using ohlc::tools::Bytes;
using Rng = std::mt19937_64;
namespace dfl = ohlc::deflate;

uint64_t g_seed = 1;
bool g_quick = false;  // --quick: the same kinds of case, at most 2^15 pixels each

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "geometry_check: FAILED: %s\n", what.c_str());
  std::exit(1);
}

uint64_t below(Rng& r, uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(r); }
double uniform(Rng& r) { return std::uniform_real_distribution<double>(0.0, 1.0)(r); }
bool chance(Rng& r, double p) { return uniform(r) < p; }

// ---------------------------------------------------------------------------------------------
// Independent decoding through zlib
// ---------------------------------------------------------------------------------------------

using ohlc::tools::inflate_all;

uint32_t zlib_crc(const uint8_t* p, size_t n) {
  uLong c = crc32(0L, Z_NULL, 0);
  while (n) {
    const uInt k = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    c = crc32(c, p, k);
    p += k;
    n -= k;
  }
  return static_cast<uint32_t>(c);
}

uint32_t zlib_adler(const uint8_t* p, size_t n) {
  uLong a = adler32(0L, Z_NULL, 0);
  while (n) {
    const uInt k = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    a = adler32(a, p, k);
    p += k;
    n -= k;
  }
  return static_cast<uint32_t>(a);
}

std::string first_difference(const uint8_t* want, const uint8_t* got, size_t n, size_t row_bytes) {
  for (size_t i = 0; i < n; ++i)
    if (want[i] != got[i])
      return "first difference at byte " + std::to_string(i) + " (row " +
             std::to_string(i / row_bytes) + ", byte " + std::to_string(i % row_bytes) +
             " of the row): want " + std::to_string(want[i]) + " got " + std::to_string(got[i]);
  return "no difference";
}

// ---------------------------------------------------------------------------------------------
// Candles
// ---------------------------------------------------------------------------------------------

using ohlc::tools::Candles;

Candles random_walk(Rng& rng, size_t n, double start = 100.0, double sigma = 0.01) {
  return ohlc::tools::normal_walk(rng, n, start, sigma);
}

enum Kind {
  kWalk, kFlat, kOneUlp, kExtreme, kSeqLen1, kTall, kWide, kMalformed, kTiny, kRuns, kKinds
};
const char* kind_name(int k) {
  static const char* names[] = {"random walk", "flat",  "one-ulp",  "extreme range",
                                "seqLen 1",    "tall",  "wide rows", "malformed candles",
                                "tiny",        "random ink runs"};
  return names[k];
}

Candles make_candles(int kind, size_t n, Rng& r) {
  switch (kind) {
    case kFlat: {
      Candles s(n);
      double level = std::pow(10.0, uniform(r) * 8 - 4);
      for (size_t i = 0; i < n; ++i) {
        if (chance(r, 0.02)) level = std::pow(10.0, uniform(r) * 8 - 4);
        s.open[i] = s.high[i] = s.low[i] = s.close[i] = level;
      }
      return s;
    }
    case kOneUlp: {
      Candles s(n);
      const double base = std::pow(10.0, uniform(r) * 10 - 5);
      for (size_t i = 0; i < n; ++i)
        for (int f = 0; f < 4; ++f) {
          double v = base;
          for (uint64_t k = below(r, 3); k > 0; --k) v = std::nextafter(v, 2 * v);
          s.field(f)[i] = v;
        }
      return s;
    }
    case kExtreme: {
      Candles s(n);
      for (size_t i = 0; i < n; ++i)
        for (int f = 0; f < 4; ++f) {
          double v = std::pow(10.0, uniform(r) * 608 - 300);
          const uint64_t u = below(r, 40);
          if (u == 0) v = std::numeric_limits<double>::denorm_min();
          if (u == 1) v = std::numeric_limits<double>::max();
          if (u == 2) v = 1e-300;
          if (u == 3) v = 1e308;
          s.field(f)[i] = v;
        }
      return s;
    }
    case kMalformed: {
      Candles s = random_walk(r, n, 100, 0.02);
      for (size_t i = 0; i < n; ++i) {
        const uint64_t u = below(r, 5);
        if (u == 0) std::swap(s.high[i], s.low[i]);                // high < low
        if (u == 1) s.open[i] = s.high[i] * (1 + uniform(r));      // open above high
        if (u == 2) s.close[i] = s.low[i] * uniform(r) + 1e-9;     // close below low
        if (u == 3) s.open[i] = s.low[i] * (0.5 + 0.5 * uniform(r));  // open below low
      }
      return s;
    }
    default: {
      const double sigma = std::pow(10.0, -4 + 3 * uniform(r));
      return random_walk(r, n, std::pow(10.0, uniform(r) * 12 - 6), sigma);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Fuzz
// ---------------------------------------------------------------------------------------------

struct FuzzStats {
  size_t cases = 0, streams = 0, concatenations = 0, pngs = 0;
  uint64_t raw = 0, geometry_bytes = 0, row_encoder_bytes = 0;
  size_t compared = 0;  // cases whose size was compared with the row encoder
  size_t larger = 0;    // of those, cases where the geometry stream was larger
  double worst_ratio = 0;
  std::string worst;
  uint64_t kind_geometry[16] = {}, kind_rows[16] = {};
};

// A case: one image (the bars of a window, or random runs), its reference pixels and the
// description that reproduces it.
struct Image {
  std::string what;
  int kind = 0;
  uint32_t period = 0;  // runs cases: the hint passed to set_runs
  ohlc::PixelType type = ohlc::PixelType::U8;
  uint32_t width = 0, height = 0;
  std::vector<ohlc::BarRows> bars;     // bars cases
  std::vector<dfl::InkRun> runs;       // runs cases
  Bytes pixels;                        // the reference image
  size_t row_bytes() const { return size_t{width} * ohlc::pixel_bytes(type); }
};

// Draws random runs as the reference: a pixel is ink when any run covers it.
void draw_runs(const Image& im, Bytes& out) {
  const size_t pb = ohlc::pixel_bytes(im.type);
  out.resize(size_t{im.width} * im.height * pb);
  const float one = 1.0f, zero = 0.0f;
  for (size_t i = 0; i < size_t{im.width} * im.height; ++i) {
    if (pb == 1) out[i] = 1;
    else std::memcpy(out.data() + 4 * i, &one, 4);
  }
  for (const dfl::InkRun& r : im.runs)
    for (uint32_t row = r.top; row <= r.bottom; ++row) {
      const size_t i = size_t{row} * im.width + r.column;
      if (pb == 1) out[i] = 0;
      else std::memcpy(out.data() + 4 * i, &zero, 4);
    }
}

// Builds case `index` of the seed's sequence: each case has its own generator, so --case K
// repeats exactly that case.
Image make_case(uint64_t seed, uint64_t index) {
  Rng r(seed * 0x9E3779B97F4A7C15ull ^ (index + 1) * 0xD1B54A32D192ED03ull);
  Image im;
  // Half the cases are random walks, the other half cycles through every kind.
  const int k = index % 20 < 10 ? static_cast<int>(kWalk) : static_cast<int>(index % 20 - 10);
  im.kind = k;
  im.type = chance(r, 0.5) ? ohlc::PixelType::U8 : ohlc::PixelType::F32;
  uint32_t seq_len = 0, height = 0;
  switch (k) {
    case kSeqLen1: seq_len = 1; height = static_cast<uint32_t>(2 + below(r, 600)); break;
    case kTall: seq_len = static_cast<uint32_t>(1 + below(r, 24)); height = static_cast<uint32_t>(1000 + below(r, 3200)); break;
    case kWide:
      // Rows of 32 KiB and more (no row copy: DEFLATE's window), and rows around 16 KiB
      // (a row copy but no two-row copy).
      seq_len = chance(r, 0.5) ? static_cast<uint32_t>(8180 + below(r, 30)) : static_cast<uint32_t>(4090 + below(r, 12));
      if (im.type == ohlc::PixelType::F32) seq_len = (seq_len + 3) / 4;
      height = static_cast<uint32_t>(2 + below(r, 6));
      break;
    case kTiny: seq_len = static_cast<uint32_t>(1 + below(r, 3)); height = static_cast<uint32_t>(2 + below(r, 4)); break;
    default:
      seq_len = static_cast<uint32_t>(1 + (chance(r, 0.8) ? below(r, 140) : below(r, 700)));
      height = static_cast<uint32_t>(2 + (chance(r, 0.8) ? below(r, 520) : below(r, 1200)));
  }
  if (g_quick) {
    // Same shapes, scaled down to at most 2^15 pixels (tall and wide cases keep their
    // height and width, the point of them).
    while (uint64_t{seq_len} * 4 * height > (1u << 15) && seq_len > 1 && k != kWide) seq_len = (seq_len + 1) / 2;
    while (uint64_t{seq_len} * 4 * height > (1u << 15) && height > 2 && k != kTall) height = (height + 1) / 2;
  }
  if (k == kRuns) {
    // A layout-generic image: random columns, runs that overlap, touch and repeat.
    im.width = static_cast<uint32_t>(1 + below(r, 300));
    im.height = static_cast<uint32_t>(1 + below(r, 300));
    im.period = static_cast<uint32_t>(below(r, 6));
    const size_t n = below(r, 3 * size_t{im.width} + 1);
    for (size_t i = 0; i < n; ++i) {
      const uint32_t a = static_cast<uint32_t>(below(r, im.height));
      const uint32_t len = static_cast<uint32_t>(chance(r, 0.5) ? below(r, 3) : below(r, im.height - a));
      im.runs.push_back({static_cast<uint32_t>(below(r, im.width)), a, std::min(a + len, im.height - 1)});
    }
    std::stable_sort(im.runs.begin(), im.runs.end(),
                     [](const dfl::InkRun& x, const dfl::InkRun& y) { return x.column < y.column; });
    draw_runs(im, im.pixels);
    im.what = std::string(kind_name(k)) + " " + std::to_string(im.width) + "x" +
              std::to_string(im.height) + " " + (im.type == ohlc::PixelType::U8 ? "uint8" : "float32") +
              ", " + std::to_string(im.runs.size()) + " runs";
    return im;
  }
  const Candles candles = make_candles(k == kTiny || k == kSeqLen1 || k == kTall || k == kWide
                                           ? static_cast<int>(below(r, 5)) == 0 ? kFlat : kWalk
                                           : k,
                                       seq_len, r);
  double lo = 0, hi = 0;
  if (!ohlc::window_range(candles.columns(), 0, seq_len, &lo, &hi, nullptr))
    fail("case " + std::to_string(index) + ": generated an invalid window");
  const ohlc::ImageShape shape{seq_len, height};
  im.width = shape.width();
  im.height = height;
  im.bars.resize(seq_len);
  ohlc::window_bar_rows(candles.columns(), 0, shape, lo, hi, im.bars.data());
  im.pixels.resize(shape.pixels() * ohlc::pixel_bytes(im.type));
  ohlc::draw_window(candles.columns(), 0, shape, lo, hi, im.type, im.pixels.data());
  char range[96];
  std::snprintf(range, sizeof range, "lo %.17g hi %.17g", lo, hi);
  im.what = std::string(kind_name(k)) + " seqLen " + std::to_string(seq_len) + " height " +
            std::to_string(height) + " " + (im.type == ohlc::PixelType::U8 ? "uint8" : "float32") +
            ", " + range;
  return im;
}

void set_image(dfl::GeometryEncoder& enc, const Image& im) {
  if (!im.bars.empty())
    enc.set_bars(im.bars.data(), {static_cast<uint32_t>(im.bars.size()), im.height}, im.type);
  else
    enc.set_runs(im.runs.data(), im.runs.size(), im.width, im.height, im.type, im.period);
}

// Every form of one image, each decoded by zlib and compared with the reference.
void check_image(const Image& im, uint64_t index, dfl::GeometryEncoder& enc, dfl::Encoder& rows,
                 Rng& rng, FuzzStats& st) {
  const std::string where = "case " + std::to_string(index) + " (" + im.what +
                            "); repeat: geometry_check --seed " + std::to_string(g_seed) +
                            " --case " + std::to_string(index);
  const size_t size = im.pixels.size();
  const uint8_t* want = im.pixels.data();
  set_image(enc, im);
  if (enc.raw_size() != size) fail(where + ": raw_size " + std::to_string(enc.raw_size()));
  Bytes comp, plain;
  std::string why;
  auto compare = [&](const char* form) {
    if (std::memcmp(plain.data(), want, size) != 0)
      fail(where + ", " + form + ": " + first_difference(want, plain.data(), size, im.row_bytes()));
    ++st.streams;
  };

  // The model alone.
  Bytes drawn(size);
  enc.render(drawn.data());
  if (drawn != im.pixels)
    fail(where + ", render: " + first_difference(want, drawn.data(), size, im.row_bytes()));

  // zlib, after bytes that must survive.
  const size_t prefix = below(rng, 4);
  comp.assign(prefix, 0xA5);
  enc.append_zlib(comp);
  for (size_t i = 0; i < prefix; ++i)
    if (comp[i] != 0xA5) fail(where + ": append_zlib overwrote bytes already in `out`");
  if (!inflate_all(comp.data() + prefix, comp.size() - prefix, 15, size, plain, why))
    fail(where + ", zlib: " + why);
  compare("zlib");
  const size_t geometry_bytes = comp.size() - prefix;
  const uint32_t adler = zlib_adler(want, size);
  if (enc.adler32() != adler) fail(where + ": adler32() " + std::to_string(enc.adler32()) +
                                   " but zlib says " + std::to_string(adler));

  // Raw piece + finish_stream; its CRC.
  comp.assign(prefix, 0x5A);
  const uint32_t crc = enc.append_piece(comp);
  dfl::finish_stream(comp);
  if (!inflate_all(comp.data() + prefix, comp.size() - prefix, -15, size, plain, why))
    fail(where + ", piece + finish_stream: " + why);
  compare("piece + finish_stream");
  const uint32_t want_crc = zlib_crc(want, size);
  if (crc != want_crc)
    fail(where + ": append_piece returned CRC-32 " + std::to_string(crc) + ", zlib says " +
         std::to_string(want_crc));
  // Byte-aligned and non-final, like Encoder::encode_rows(final = false): ends 00 00 00 FF FF.
  const uint8_t* tail = comp.data() + comp.size() - 7;
  if (!(tail[1] == 0 && tail[2] == 0 && tail[3] == 0xFF && tail[4] == 0xFF))
    fail(where + ": piece does not end in a sync flush");

  if (index % 4 == 0) {
    comp.clear();
    enc.append_gzip(comp);
    if (!inflate_all(comp.data(), comp.size(), 31, size, plain, why)) fail(where + ", gzip: " + why);
    compare("gzip");
    comp.clear();
    enc.append_deflate(comp);
    if (!inflate_all(comp.data(), comp.size(), -15, size, plain, why))
      fail(where + ", raw deflate: " + why);
    compare("raw deflate");
  }

  // PNG from the changes: the very file encode_binary writes for the drawn image.
  if (index % 3 == 0) {
    static ohlc::png::PngScratch from_pixels, from_changes;
    Bytes want_png, got_png;
    if (!ohlc::png::encode_binary(want, im.type, im.height, im.width, nullptr, from_pixels, want_png))
      fail(where + ": encode_binary refused the drawn image");
    ohlc::png::encode_binary_changes(enc.changes(), nullptr, from_changes, got_png);
    if (got_png != want_png)
      fail(where + ", png: encode_binary_changes differs from encode_binary of the drawn image (" +
           std::to_string(got_png.size()) + " vs " + std::to_string(want_png.size()) + " bytes)");
    ++st.pngs;
  }

  // Size against today's row encoder, for the default layout.
  if (!im.bars.empty() && size >= 2048) {
    comp.clear();
    rows.zlib_encode_rows(want, size, im.row_bytes(), comp);
    ++st.compared;
    if (geometry_bytes > comp.size()) ++st.larger;
    if (double(geometry_bytes) / double(comp.size()) > st.worst_ratio) {
      st.worst_ratio = double(geometry_bytes) / double(comp.size());
      st.worst = where;
    }
    st.kind_geometry[im.kind] += geometry_bytes;
    st.kind_rows[im.kind] += comp.size();
    st.row_encoder_bytes += comp.size();
    st.geometry_bytes += geometry_bytes;
    st.raw += size;
  }
  ++st.cases;
}

// Several pieces of different images (as a zip member holds them) + finish_stream.
void check_concatenation(uint64_t seed, uint64_t index, dfl::GeometryEncoder& enc, Rng& rng,
                         FuzzStats& st) {
  const size_t count = 2 + below(rng, 3);
  Bytes want, comp, plain;
  uint32_t crc = 0;
  uint64_t crc_len = 0;
  std::string what;
  for (size_t i = 0; i < count; ++i) {
    // Small cases only, to keep this quick.
    uint64_t k = index + i * 7919;
    Image im = make_case(seed ^ 0xC0FFEE, k);
    while (im.pixels.size() > (1u << 20)) im = make_case(seed ^ 0xC0FFEE, k += 20);
    set_image(enc, im);
    const uint32_t c = enc.append_piece(comp);
    crc = crc_len ? static_cast<uint32_t>(crc32_combine(crc, c, static_cast<z_off_t>(im.pixels.size()))) : c;
    crc_len += im.pixels.size();
    want.insert(want.end(), im.pixels.begin(), im.pixels.end());
    what += (i ? "; " : "") + im.what;
  }
  dfl::finish_stream(comp);
  std::string why;
  const std::string where = "concatenation at case " + std::to_string(index) + " (" + what +
                            "); repeat: geometry_check --seed " + std::to_string(g_seed) +
                            " --case " + std::to_string(index);
  if (!inflate_all(comp.data(), comp.size(), -15, want.size(), plain, why)) fail(where + ": " + why);
  if (plain != want) fail(where + ": " + first_difference(want.data(), plain.data(), want.size(), 1));
  if (crc != zlib_crc(want.data(), want.size())) fail(where + ": combined CRC-32 differs");
  ++st.concatenations;
}

// Fixed cases first: the IMAGE.md example, the smallest images, invalid bars.
void check_fixed(dfl::GeometryEncoder& enc, dfl::Encoder& rows, Rng& rng, FuzzStats& st) {
  Candles c(2);
  const double o[] = {10, 11}, h[] = {12, 13}, l[] = {9, 10}, cl[] = {11, 10};
  for (int i = 0; i < 2; ++i) {
    c.open[i] = o[i];
    c.high[i] = h[i];
    c.low[i] = l[i];
    c.close[i] = cl[i];
  }
  for (auto type : {ohlc::PixelType::U8, ohlc::PixelType::F32}) {
    for (uint32_t height : {2u, 3u, 5u, 8u}) {
      for (uint32_t len : {1u, 2u}) {
        Image im;
        im.type = type;
        im.width = 4 * len;
        im.height = height;
        double lo, hi;
        ohlc::window_range(c.columns(), 0, len, &lo, &hi, nullptr);
        im.bars.resize(len);
        ohlc::window_bar_rows(c.columns(), 0, {len, height}, lo, hi, im.bars.data());
        im.pixels.resize(size_t{im.width} * height * ohlc::pixel_bytes(type));
        ohlc::draw_window(c.columns(), 0, {len, height}, lo, hi, type, im.pixels.data());
        im.what = "IMAGE.md example, seqLen " + std::to_string(len) + " height " + std::to_string(height);
        check_image(im, 0, enc, rows, rng, st);
      }
    }
  }
  // Bars the encoder must refuse, keeping its previous image.
  const ohlc::BarRows bad[] = {{-1, 2, 0, 0}, {3, 2, 2, 2}, {0, 5, 0, 0}, {0, 1, 5, 0}, {0, 1, 0, -1}};
  const uint64_t before = enc.raw_size();
  for (const auto& b : bad) {
    bool threw = false;
    try {
      enc.set_bars(&b, {1, 5}, ohlc::PixelType::U8);
    } catch (const std::invalid_argument&) {
      threw = true;
    }
    if (!threw) fail("set_bars accepted an out-of-range bar");
    if (enc.raw_size() != before) fail("set_bars changed the image on a refused bar");
  }
  const dfl::InkRun backwards[] = {{3, 0, 1}, {2, 0, 1}};
  bool threw = false;
  try {
    enc.set_runs(backwards, 2, 4, 4, ohlc::PixelType::U8);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  if (!threw) fail("set_runs accepted runs out of column order");
}

int run_fuzz(uint64_t seed, uint64_t cases, long only_case) {
  const auto t0 = std::chrono::steady_clock::now();
  dfl::GeometryEncoder enc;
  dfl::Encoder rows;
  Rng rng(seed);
  FuzzStats st;
  if (only_case >= 0) {
    const Image im = make_case(seed, static_cast<uint64_t>(only_case));
    std::printf("case %ld: %s\n", only_case, im.what.c_str());
    for (size_t j = 0; j < im.bars.size() && j < 400; ++j)
      std::printf("  bar %zu: line %d..%d open %d close %d\n", j, im.bars[j].line_top,
                  im.bars[j].line_bottom, im.bars[j].open, im.bars[j].close);
    check_image(im, static_cast<uint64_t>(only_case), enc, rows, rng, st);
    check_concatenation(seed, static_cast<uint64_t>(only_case), enc, rng, st);
    std::printf("geometry_check: case %ld OK\n", only_case);
    return 0;
  }
  check_fixed(enc, rows, rng, st);
  for (uint64_t i = 0; i < cases; ++i) {
    const Image im = make_case(seed, i);
    check_image(im, i, enc, rows, rng, st);
    if (i % 16 == 0) check_concatenation(seed, i, enc, rng, st);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "geometry_check: OK: %zu cases, %zu streams and %zu concatenations decoded by zlib inflate "
      "(checksums verified) and matched draw_window byte for byte; CRC-32 and Adler-32 matched "
      "zlib's; %zu PNG files equal to encode_binary's; seed %llu, %.1f s\n",
      st.cases, st.streams, st.concatenations, st.pngs, static_cast<unsigned long long>(seed), secs);
  std::printf(
      "  size vs the row encoder over %zu bar images (%.1f MB raw): %.4f (geometry %llu bytes, row "
      "encoder %llu); larger in %zu of them, worst %.3fx\n",
      st.compared, st.raw / 1e6, st.row_encoder_bytes ? double(st.geometry_bytes) / st.row_encoder_bytes : 0.0,
      static_cast<unsigned long long>(st.geometry_bytes),
      static_cast<unsigned long long>(st.row_encoder_bytes), st.larger, st.worst_ratio);
  if (st.worst_ratio > 1) std::printf("  worst: %s\n", st.worst.c_str());
  for (int k = 0; k < kKinds; ++k)
    if (st.kind_rows[k])
      std::printf("  %-18s geometry / row encoder bytes %.4f\n", kind_name(k),
                  double(st.kind_geometry[k]) / double(st.kind_rows[k]));
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Benchmark
// ---------------------------------------------------------------------------------------------

enum Method { kRowEncoder, kGeometry, kGeometryPiece, kZlib6, kPngDrawn, kPngChanges, kMethods };
const char* method_name(int m) {
  static const char* names[] = {"draw + row encoder (zlib)", "geometry encoder (zlib)",
                                "geometry encoder (piece+CRC)", "draw + zlib level 6",
                                "PNG: draw + encode_binary", "PNG: encode_binary_changes"};
  return names[m];
}

struct Scratch {
  ohlc::png::PngScratch png;
  dfl::Encoder rows;
  dfl::GeometryEncoder geometry;
  std::vector<ohlc::BarRows> bars;
  Bytes image, out;
};

// Encodes windows [first, first + count) with `method`; returns the compressed bytes.
uint64_t encode_range(int method, const Candles& candles, ohlc::ImageShape shape,
                      ohlc::PixelType type, size_t first, size_t count, Scratch& s,
                      std::vector<Bytes>* keep) {
  const size_t image_bytes = shape.pixels() * ohlc::pixel_bytes(type);
  const size_t row_bytes = shape.width() * ohlc::pixel_bytes(type);
  s.bars.resize(shape.seq_len);
  s.image.resize(image_bytes);
  uint64_t total = 0;
  for (size_t w = first; w < first + count; ++w) {
    double lo, hi;
    ohlc::window_range(candles.columns(), static_cast<int64_t>(w), shape.seq_len, &lo, &hi, nullptr);
    s.out.clear();
    switch (method) {
      case kRowEncoder:
        ohlc::draw_window(candles.columns(), static_cast<int64_t>(w), shape, lo, hi, type, s.image.data());
        s.rows.zlib_encode_rows(s.image.data(), image_bytes, row_bytes, s.out);
        break;
      case kPngDrawn:
        ohlc::draw_window(candles.columns(), static_cast<int64_t>(w), shape, lo, hi, type, s.image.data());
        ohlc::png::encode_binary(s.image.data(), type, shape.height, shape.width(), nullptr, s.png, s.out);
        break;
      case kPngChanges:
        ohlc::window_bar_rows(candles.columns(), static_cast<int64_t>(w), shape, lo, hi, s.bars.data());
        s.geometry.set_bars(s.bars.data(), shape, type);
        ohlc::png::encode_binary_changes(s.geometry.changes(), nullptr, s.png, s.out);
        break;
      case kGeometry:
      case kGeometryPiece:
        ohlc::window_bar_rows(candles.columns(), static_cast<int64_t>(w), shape, lo, hi, s.bars.data());
        s.geometry.set_bars(s.bars.data(), shape, type);
        if (method == kGeometry) s.geometry.append_zlib(s.out);
        else (void)s.geometry.append_piece(s.out);
        break;
      default: {
        ohlc::draw_window(candles.columns(), static_cast<int64_t>(w), shape, lo, hi, type, s.image.data());
        s.out.resize(compressBound(static_cast<uLong>(image_bytes)));
        uLongf len = static_cast<uLongf>(s.out.size());
        if (compress2(s.out.data(), &len, s.image.data(), static_cast<uLong>(image_bytes), 6) != Z_OK)
          fail("compress2");
        s.out.resize(len);
      }
    }
    total += s.out.size();
    if (keep) (*keep)[w - first] = s.out;
  }
  return total;
}

struct Timing {
  double one = 0, all = 0;  // images/s
  double bytes = 0;         // per image
  double other = 0;         // the most other processes used during a kept block, in cores
  int reruns = 0;
};

using ohlc::tools::thread_seconds;

// Other processes' CPU use while a block ran, as bench/README.md does it: busy time from
// /proc/stat (all CPUs, steal included: a core the hypervisor lent away) less this process's
// own CPU time; in cores. Negative readings (rounding) count as 0. -1 when /proc/stat is absent.
struct LoadProbe {
  double busy = 0, own = 0, wall = 0;
  bool ok = false;
  static LoadProbe now() {
    LoadProbe l;
    if (FILE* f = std::fopen("/proc/stat", "r")) {
      unsigned long long v[10] = {};
      if (std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                      &v[4], &v[5], &v[6], &v[7]) == 8) {
        const double hz = double(sysconf(_SC_CLK_TCK));
        l.busy = double(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / hz;  // all but idle, iowait
        l.ok = true;
      }
      std::fclose(f);
    }
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    l.own = double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
            1e-6 * double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    l.wall = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    return l;
  }
  static double other_cores(const LoadProbe& a, const LoadProbe& b) {
    if (!a.ok || !b.ok || b.wall <= a.wall) return -1;
    return std::max(0.0, ((b.busy - a.busy) - (b.own - a.own)) / (b.wall - a.wall));
  }
};

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int run_bench(uint64_t seed, size_t images, int threads, int rounds, double patience,
              const std::string& only_shape) {
  const double give_up = wall_seconds() + patience;
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  struct Config {
    ohlc::ImageShape shape;
    ohlc::PixelType type;
  };
  std::vector<Config> configs = {{{100, 500}, ohlc::PixelType::U8},
                                 {{20, 64}, ohlc::PixelType::U8},
                                 {{15, 64}, ohlc::PixelType::U8},
                                 {{100, 500}, ohlc::PixelType::F32}};
  if (!only_shape.empty()) {
    unsigned len = 0, height = 0;
    char type[16] = {0};
    if (std::sscanf(only_shape.c_str(), "%ux%u-%15s", &len, &height, type) != 3 || len < 1 || height < 2 ||
        (std::strcmp(type, "uint8") != 0 && std::strcmp(type, "float32") != 0)) {
      std::fprintf(stderr, "geometry_check: --shape takes LxH-uint8 or LxH-float32, e.g. 100x500-uint8\n");
      return 2;
    }
    configs = {{{len, height}, std::strcmp(type, "uint8") == 0 ? ohlc::PixelType::U8 : ohlc::PixelType::F32}};
  }
  std::printf("geometry_check --bench: seed %llu, random walks (1%% steps), best of %d rounds; "
              "1 thread: its CPU time; all: %d threads, wall time; one run, so figures compare "
              "within it\n",
              static_cast<unsigned long long>(seed), rounds, threads);
  for (const Config& cfg : configs) {
    Rng rng(seed);
    const size_t image_bytes = cfg.shape.pixels() * ohlc::pixel_bytes(cfg.type);
    // Fewer images for the big ones; zlib level 6 gets a twentieth.
    const size_t n = std::max<size_t>(200, images * 200000 / std::max<size_t>(image_bytes, 50000));
    const Candles candles = random_walk(rng, n + cfg.shape.seq_len);
    Timing t[kMethods];
    std::vector<Scratch> scratch(threads);
    for (int round = 0; round < rounds; ++round) {
      // Methods interleaved per round, so a burst of load on the machine hits all of them.
      for (int m = 0; m < kMethods; ++m) {
        const size_t count = m == kZlib6 ? std::max<size_t>(100, n / 20) : n;
        encode_range(m, candles, cfg.shape, cfg.type, 0, std::min<size_t>(count, 50), scratch[0], nullptr);
        // A block counts only when other processes used under 0.15 of a core meanwhile; else
        // it runs again once the machine is quiet (for at most --patience seconds in all).
        for (;;) {
          const LoadProbe l0 = LoadProbe::now();
          double t0 = thread_seconds();
          const uint64_t bytes = encode_range(m, candles, cfg.shape, cfg.type, 0, count, scratch[0], nullptr);
          const double one = count / (thread_seconds() - t0);
          std::vector<std::thread> pool;
          t0 = wall_seconds();
          for (int k = 0; k < threads; ++k)
            pool.emplace_back([&, k] {
              const size_t a = count * k / threads, b = count * (k + 1) / threads;
              encode_range(m, candles, cfg.shape, cfg.type, a, b - a, scratch[k], nullptr);
            });
          for (auto& th : pool) th.join();
          const double all = count / (wall_seconds() - t0);
          const double other = LoadProbe::other_cores(l0, LoadProbe::now());
          const bool quiet = other >= 0 && other < 0.15;
          if (!quiet && wall_seconds() < give_up) {
            ++t[m].reruns;
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
            continue;
          }
          t[m].one = std::max(t[m].one, one);
          t[m].all = std::max(t[m].all, all);
          t[m].bytes = double(bytes) / count;
          t[m].other = std::max(t[m].other, other);
          break;
        }
      }
    }
    std::printf("\nseqLen %u x height %u %s (%zu bytes raw), %zu images (zlib 6: %zu)\n",
                cfg.shape.seq_len, cfg.shape.height, cfg.type == ohlc::PixelType::U8 ? "uint8" : "float32",
                image_bytes, n, std::max<size_t>(100, n / 20));
    std::printf("  %-30s %14s %14s %12s %12s\n", "method", "images/s 1 thr", "images/s all",
                "bytes/image", "other load");
    for (int m = 0; m < kMethods; ++m)
      std::printf("  %-30s %14.0f %14.0f %12.1f %5.2f (%d re)\n", method_name(m), t[m].one, t[m].all,
                  t[m].bytes, t[m].other, t[m].reruns);
    std::printf("  geometry / row encoder bytes: %.4f\n", t[kGeometry].bytes / t[kRowEncoder].bytes);

    // Readers: zlib inflate of both encoders' streams (one thread, CPU time), each checked.
    const size_t ni = std::min<size_t>(n, 2000);
    std::vector<Bytes> row_streams(ni), geo_streams(ni);
    encode_range(kRowEncoder, candles, cfg.shape, cfg.type, 0, ni, scratch[0], &row_streams);
    encode_range(kGeometry, candles, cfg.shape, cfg.type, 0, ni, scratch[0], &geo_streams);
    Bytes plain, other;
    std::string why;
    double inflate_rate[2] = {0, 0};
    for (int round = 0; round < rounds; ++round)
      for (int which = 0; which < 2; ++which) {
        const std::vector<Bytes>& streams = which ? geo_streams : row_streams;
        const double t0 = thread_seconds();
        for (size_t i = 0; i < ni; ++i)
          if (!inflate_all(streams[i].data(), streams[i].size(), 15, image_bytes, plain, why))
            fail("bench: inflate: " + why);
        inflate_rate[which] = std::max(inflate_rate[which], ni / (thread_seconds() - t0));
      }
    for (size_t i = 0; i < ni; ++i) {
      inflate_all(row_streams[i].data(), row_streams[i].size(), 15, image_bytes, plain, why);
      inflate_all(geo_streams[i].data(), geo_streams[i].size(), 15, image_bytes, other, why);
      if (plain != other)
        fail("bench: geometry and row encoder streams decode differently at window " + std::to_string(i));
    }
    std::printf("  zlib inflate, 1 thread: row encoder streams %.0f images/s, geometry streams %.0f "
                "images/s (%zu images, both decode to the same pixels)\n",
                inflate_rate[0], inflate_rate[1], ni);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool bench = false;
  uint64_t cases = 100000;
  long only_case = -1;
  size_t images = 20000;
  int threads = 0;
  int rounds = 3;
  double patience = 900;
  std::string only_shape;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--bench") bench = true;
    else if (a == "--quick") {
      cases = 20000;
      g_quick = true;
    }
    else if (a == "--seed" && i + 1 < argc) g_seed = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--cases" && i + 1 < argc) cases = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--case" && i + 1 < argc) only_case = std::strtol(argv[++i], nullptr, 10);
    else if (a == "--images" && i + 1 < argc) images = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "--rounds" && i + 1 < argc) rounds = std::max(1, std::atoi(argv[++i]));
    else if (a == "--patience" && i + 1 < argc) patience = std::atof(argv[++i]);
    else if (a == "--shape" && i + 1 < argc) only_shape = argv[++i];
    else {
      std::fprintf(stderr,
                   "usage: geometry_check [--seed N] [--cases N | --quick | --case K]\n"
                   "       geometry_check --bench [--seed N] [--images N] [--threads N] [--rounds N] [--patience S]\n"
                   "                      [--shape LxH-uint8 | LxH-float32]\n");
      return 2;
    }
  }
  return bench ? run_bench(g_seed, images, threads, rounds, patience, only_shape)
               : run_fuzz(g_seed, cases, only_case);
}
