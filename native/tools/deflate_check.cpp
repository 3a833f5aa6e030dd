// Checks and measures the row DEFLATE encoder (kernels/deflate).
//
//   deflate_check [--seed N] [--cases N]   fuzz (fixed edge cases + N random ones): every stream is decoded by zlib's inflate (an
//                                          independent decoder) and compared byte for byte
//   deflate_check --bench [--images N]     images/s and bytes/image against zlib and libdeflate
//
// Exits non-zero on the first mismatch, printing what failed and how to reproduce it.
#include <libdeflate.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "kernels/deflate/deflate_tables.hpp"
#include "kernels/deflate/huffman.hpp"
#include "kernels/deflate/row_deflate.hpp"
#include "kernels/raster.hpp"
#include "tools/tool_support.hpp"

namespace {

using ohlc::tools::Bytes;
using Rng = std::mt19937_64;
namespace dfl = ohlc::deflate;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "deflate_check: FAILED: %s\n", what.c_str());
  std::exit(1);
}

size_t uniform(Rng& rng, size_t lo, size_t hi) {  // inclusive
  return std::uniform_int_distribution<size_t>(lo, hi)(rng);
}

// ---------------------------------------------------------------------------------------------
// Independent decoding through zlib
// ---------------------------------------------------------------------------------------------

// Through the shared zlib decoder, from an offset into `comp`.
bool inflate_with_zlib(const Bytes& comp, size_t comp_offset, int window_bits, size_t size,
                       Bytes& plain, std::string& why) {
  return ohlc::tools::inflate_all(comp.data() + comp_offset, comp.size() - comp_offset, window_bits, size, plain, why);
}

std::string first_difference(const uint8_t* want, const Bytes& got) {
  for (size_t i = 0; i < got.size(); ++i)
    if (want[i] != got[i])
      return "first difference at byte " + std::to_string(i) + ": want " +
             std::to_string(want[i]) + " got " + std::to_string(got[i]);
  return "";
}

// ---------------------------------------------------------------------------------------------
// Fuzz
// ---------------------------------------------------------------------------------------------

struct Stats {
  size_t cases = 0;
  size_t streams = 0;
  size_t input_bytes = 0;
  size_t output_bytes = 0;
};

// Every form of one input: raw final, raw pieces + finish_stream, zlib, gzip; through a reused
// Encoder and the free functions (which must agree), appended after existing bytes.
void check_case(const std::string& name, const Bytes& data, size_t row_bytes, dfl::Encoder& enc,
                Rng& rng, Stats& st) {
  // An exact-size copy, so a sanitizer build catches any read past the end.
  const size_t size = data.size();
  const std::unique_ptr<uint8_t[]> exact(new uint8_t[size ? size : 1]);
  if (size) std::memcpy(exact.get(), data.data(), size);
  const uint8_t* src = exact.get();
  const std::string where = name + " (size " + std::to_string(size) + ", row_bytes " +
                            std::to_string(row_bytes) + ")";
  Bytes comp, plain, other;
  std::string why;

  auto verify = [&](const char* form, size_t offset, int window_bits) {
    if (!inflate_with_zlib(comp, offset, window_bits, size, plain, why))
      fail(where + ", " + form + ": " + why);
    if (size && std::memcmp(plain.data(), src, size) != 0)
      fail(where + ", " + form + ": " + first_difference(src, plain));
    ++st.streams;
  };

  // Raw, final, after a prefix that must survive.
  const size_t prefix = uniform(rng, 0, 3);
  comp.assign(prefix, 0xA5);
  enc.encode_rows(src, size, row_bytes, true, comp);
  for (size_t i = 0; i < prefix; ++i)
    if (comp[i] != 0xA5) fail(where + ": encode_rows overwrote bytes already in `out`");
  if (comp.size() - prefix > dfl::encoded_size_bound(size))
    fail(where + ": " + std::to_string(comp.size() - prefix) + " bytes exceeds encoded_size_bound");
  verify("raw", prefix, -15);
  st.input_bytes += size;
  st.output_bytes += comp.size() - prefix;

  other.assign(prefix, 0xA5);
  dfl::encode_rows(src, size, row_bytes, true, other);
  if (other != comp) fail(where + ": free encode_rows differs from a reused Encoder");

  // Independent pieces (random split points, each with its own row length) + finish_stream.
  comp.clear();
  const size_t npieces = uniform(rng, 1, 4);
  size_t pos = 0;
  for (size_t p = 0; p < npieces; ++p) {
    const size_t len = p + 1 == npieces ? size - pos : uniform(rng, 0, size - pos);
    enc.encode_rows(src + pos, len, row_bytes, false, comp);
    pos += len;
  }
  dfl::finish_stream(comp);
  verify("pieces + finish_stream", 0, -15);

  comp.clear();
  enc.zlib_encode_rows(src, size, row_bytes, comp);
  verify("zlib", 0, 15);
  other.clear();
  dfl::zlib_encode_rows(src, size, row_bytes, other);
  if (other != comp) fail(where + ": free zlib_encode_rows differs from a reused Encoder");

  comp.clear();
  enc.gzip_encode_rows(src, size, row_bytes, comp);
  verify("gzip", 0, 31);
  ++st.cases;
}

// Rows that each copy the previous one with a few changed bytes, like a bar image.
Bytes sparse_rows(Rng& rng, size_t rows, size_t row_bytes, double change_rate, uint8_t bg,
                  uint8_t ink) {
  Bytes d(rows * row_bytes, bg);
  std::bernoulli_distribution flip(change_rate);
  for (size_t r = 0; r < rows; ++r) {
    uint8_t* row = d.data() + r * row_bytes;
    if (r) std::memcpy(row, row - row_bytes, row_bytes);
    for (size_t c = 0; c < row_bytes; ++c)
      if (flip(rng)) row[c] = row[c] == bg ? ink : bg;
  }
  return d;
}

// Random-walk candles with valid high/low.
using ohlc::tools::Candles;

Candles random_walk(Rng& rng, size_t n) { return ohlc::tools::normal_walk(rng, n); }

// Rasterizes `count` windows of `candles` (stride 1 from `first`) into `out`.
void rasterize(const Candles& candles, size_t first, size_t count, ohlc::ImageShape shape,
               ohlc::PixelType type, Bytes& out) {
  out.resize(count * shape.pixels() * ohlc::pixel_bytes(type));
  ohlc::WindowList windows;
  windows.first = static_cast<int64_t>(first);
  windows.count = count;
  const ohlc::RasterOutcome r =
      ohlc::rasterize_cpu(candles.columns(), windows, shape, type, out.data(), 1, nullptr);
  if (r.status != ohlc::RasterOutcome::kOk) fail("rasterize_cpu: " + r.message);
}

// Kraft sum exactly 1 and no code over the limit, for awkward frequency sets.
void check_huffman(Rng& rng) {
  for (int round = 0; round < 2000; ++round) {
    const int n = round % 3 == 0 ? dfl::kNumCodeLen : (round % 3 == 1 ? dfl::kNumDist : 288);
    const int limit = n == dfl::kNumCodeLen ? dfl::kMaxCodeLenBits : dfl::kMaxCodeBits;
    std::vector<uint32_t> freq(n, 0);
    const int kind = round % 5;
    const int used = static_cast<int>(uniform(rng, 0, n));
    double fib_a = 1, fib_b = 1;
    for (int k = 0; k < used; ++k) {
      const int s = static_cast<int>(uniform(rng, 0, n - 1));
      if (kind == 0) freq[s] = static_cast<uint32_t>(uniform(rng, 1, 1000));
      else if (kind == 1) freq[s] = 1;
      else if (kind == 2) {  // Fibonacci weights: the deepest possible trees
        freq[s] = static_cast<uint32_t>(std::min(fib_a, 4.0e9));
        const double t = fib_a + fib_b;
        fib_a = fib_b;
        fib_b = t;
      } else if (kind == 3) freq[s] = static_cast<uint32_t>(uniform(rng, 1, 0xFFFFFFFFu));
      else freq[s] = static_cast<uint32_t>(1u << uniform(rng, 0, 31));
    }
    std::vector<uint8_t> len(n);
    dfl::build_code_lengths(freq.data(), n, limit, len.data());
    double kraft = 0;
    int nonzero = 0;
    for (int s = 0; s < n; ++s) {
      if (len[s] > limit) fail("huffman: code length over the limit");
      if (freq[s] && !len[s]) fail("huffman: a used symbol got no code");
      if (len[s]) {
        kraft += std::ldexp(1.0, -len[s]);
        ++nonzero;
      }
    }
    if (nonzero < 2 || kraft != 1.0)
      fail("huffman: incomplete code (n " + std::to_string(n) + ", kind " + std::to_string(kind) +
           ", kraft " + std::to_string(kraft) + ")");
  }
}

// Encoders on several threads at once (each with its own Encoder, or the free functions) must
// produce exactly what one thread does: nothing is shared.
void check_threads(const Candles& candles, Rng& rng) {
  const ohlc::ImageShape shape{60, 200};
  const size_t count = 64;
  Bytes images;
  rasterize(candles, uniform(rng, 0, 100), count, shape, ohlc::PixelType::U8, images);
  const size_t image_bytes = shape.pixels();
  std::vector<Bytes> want(count);
  for (size_t i = 0; i < count; ++i)
    dfl::zlib_encode_rows(images.data() + i * image_bytes, image_bytes, shape.width(), want[i]);
  const unsigned nthreads = 4;
  std::vector<std::vector<Bytes>> got(nthreads, std::vector<Bytes>(count));
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < nthreads; ++t) {
    threads.emplace_back([&, t] {
      dfl::Encoder enc;
      for (int rep = 0; rep < 4; ++rep) {
        for (size_t i = 0; i < count; ++i) {
          Bytes& out = got[t][i];
          out.clear();
          const uint8_t* src = images.data() + i * image_bytes;
          if ((i + t) % 2) enc.zlib_encode_rows(src, image_bytes, shape.width(), out);
          else dfl::zlib_encode_rows(src, image_bytes, shape.width(), out);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (unsigned t = 0; t < nthreads; ++t)
    for (size_t i = 0; i < count; ++i)
      if (got[t][i] != want[i]) fail("thread " + std::to_string(t) + " encoded image " +
                                     std::to_string(i) + " differently from a single thread");
}

int run_fuzz(uint64_t seed, size_t cases_wanted) {
  const auto t0 = std::chrono::steady_clock::now();
  Rng rng(seed);
  dfl::Encoder enc;
  Stats st;
  check_huffman(rng);

  // Fixed edge cases first: tiny sizes against every awkward row length.
  const size_t edge_rows[] = {0, 1, 2, 3, 4, 7, 258, 259, 260, 261, 32767, 32768, 32769, 100000};
  for (size_t size : {0, 1, 2, 3, 4, 5, 8, 9}) {
    for (size_t rb : edge_rows) {
      Bytes d(size);
      for (auto& b : d) b = static_cast<uint8_t>(uniform(rng, 0, 2));
      check_case("tiny", d, rb, enc, rng, st);
      std::fill(d.begin(), d.end(), uint8_t{7});
      check_case("tiny equal", d, rb, enc, rng, st);
    }
  }
  // Constant runs around the 258-byte piece boundaries, at distance 1 and at a row.
  for (size_t size = 250; size < 1050; ++size) {
    Bytes d(size, 1);
    check_case("constant", d, size % 3 == 0 ? 0 : 300, enc, rng, st);
  }
  // Rows of 32768 (the longest distance DEFLATE has) and just over.
  for (size_t rb : {32767, 32768, 32769, 100000}) {
    check_case("sparse wide rows", sparse_rows(rng, 5, rb, 0.001, 1, 0), rb, enc, rng, st);
    check_case("sparse wide rows, other row length", sparse_rows(rng, 3, rb, 0.0005, 1, 0), 32768,
               enc, rng, st);
  }
  // Long inputs: several blocks (16K tokens each), matches cut at block ends.
  {
    Bytes d(6u << 20, 1);  // all equal: 24K tokens of 258
    check_case("6 MiB all equal", d, 0, enc, rng, st);
    check_case("6 MiB all equal, rows", d, 400, enc, rng, st);
    Bytes lit(200000);  // skewed literals: several Huffman blocks, deep trees
    for (auto& b : lit) {
      int k = 0;
      while (k < 60 && std::bernoulli_distribution(0.38)(rng)) ++k;
      b = static_cast<uint8_t>(k * 37);
    }
    check_case("skewed literals", lit, 1000, enc, rng, st);
    Bytes noise(3u << 20);
    for (auto& b : noise) b = static_cast<uint8_t>(rng());
    check_case("3 MiB random", noise, 1600, enc, rng, st);
  }

  // Real bar images, uint8 and float32.
  const Candles candles = random_walk(rng, 4000);
  check_threads(candles, rng);
  Bytes img;
  size_t n_generated = 0;
  while (n_generated < cases_wanted) {
    const size_t kind = n_generated++ % 8;
    Bytes d;
    size_t rb = 0;
    switch (kind) {
      case 0:
      case 1: {  // rasterized OHLC images
        ohlc::ImageShape shape;
        shape.seq_len = static_cast<uint32_t>(uniform(rng, 1, 120));
        shape.height = static_cast<uint32_t>(uniform(rng, 2, 300));
        const auto type = kind == 0 ? ohlc::PixelType::U8 : ohlc::PixelType::F32;
        const size_t count = uniform(rng, 1, 3);  // several images in one buffer too
        rasterize(candles, uniform(rng, 0, candles.open.size() - shape.seq_len - count), count,
                  shape, type, d);
        rb = shape.width() * ohlc::pixel_bytes(type);
        break;
      }
      case 2: {  // sparse 0/1 rows of random shapes
        const size_t row_bytes = uniform(rng, 1, 2000);
        d = sparse_rows(rng, uniform(rng, 1, 60000 / row_bytes + 1), row_bytes,
                        std::uniform_real_distribution<double>(0, 0.05)(rng), 1, 0);
        rb = row_bytes;
        break;
      }
      case 3: {  // float32 pixels, random 1.0 / 0.0 with vertical structure
        const size_t width = uniform(rng, 1, 300);
        Bytes pattern = sparse_rows(rng, uniform(rng, 1, 100), width, 0.02, 1, 0);
        d.resize(pattern.size() * 4);
        for (size_t i = 0; i < pattern.size(); ++i) {
          const float v = pattern[i] ? 1.0f : 0.0f;
          std::memcpy(d.data() + 4 * i, &v, 4);
        }
        rb = width * 4;
        break;
      }
      case 4: {  // fully random bytes
        d.resize(uniform(rng, 0, 70000));
        for (auto& b : d) b = static_cast<uint8_t>(rng());
        rb = uniform(rng, 0, 3000);
        break;
      }
      case 5: {  // all-equal bytes
        d.assign(uniform(rng, 0, 100000), static_cast<uint8_t>(rng()));
        rb = uniform(rng, 0, 5000);
        break;
      }
      case 6: {  // few distinct byte values, random: short matches everywhere
        d.resize(uniform(rng, 0, 50000));
        const unsigned alphabet = static_cast<unsigned>(uniform(rng, 1, 4));
        for (auto& b : d) b = static_cast<uint8_t>(rng() % alphabet);
        rb = uniform(rng, 0, 100);
        break;
      }
      default: {  // sparse rows with odd row lengths and a partial last row
        const size_t row_bytes = uniform(rng, 1, 40000);
        d = sparse_rows(rng, uniform(rng, 1, 200000 / row_bytes + 2), row_bytes, 0.01, 1, 0);
        d.resize(d.size() - uniform(rng, 0, std::min<size_t>(d.size(), row_bytes)));
        const size_t pick = uniform(rng, 0, 4);
        rb = pick == 0 ? 0 : (pick == 1 ? uniform(rng, 1, 100000) : row_bytes);
        break;
      }
    }
    const char* names[] = {"ohlc u8",       "ohlc f32",  "sparse rows", "float32 rows",
                           "random bytes",  "all equal", "small alphabet", "odd rows"};
    check_case(std::string(names[kind]) + " (seed " + std::to_string(seed) + ")", d, rb, enc, rng,
               st);
  }

  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "deflate_check: OK: %zu cases, %zu streams decoded by zlib inflate and matched byte for "
      "byte (raw, pieces+finish_stream, zlib, gzip); %.1f MB in, ratio %.4f; seed %llu, %.1f s\n",
      st.cases, st.streams, st.input_bytes / 1e6,
      st.input_bytes ? double(st.output_bytes) / st.input_bytes : 0.0,
      static_cast<unsigned long long>(seed), secs);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Benchmark
// ---------------------------------------------------------------------------------------------

struct BenchResult {
  std::string name;
  double seconds = 0;
  size_t bytes = 0;
};

int run_bench(uint64_t seed, size_t images) {
  Rng rng(seed);
  const ohlc::ImageShape shape{100, 500};
  const size_t batch = 50;
  const Candles candles = random_walk(rng, images + shape.seq_len);

  for (const auto type : {ohlc::PixelType::U8, ohlc::PixelType::F32}) {
    const size_t image_bytes = shape.pixels() * ohlc::pixel_bytes(type);
    const size_t row_bytes = shape.width() * ohlc::pixel_bytes(type);

    dfl::Encoder enc;
    libdeflate_compressor* ld1 = libdeflate_alloc_compressor(1);
    libdeflate_compressor* ld6 = libdeflate_alloc_compressor(6);
    Bytes out(compressBound(static_cast<uLong>(image_bytes)) + 64);
    Bytes mine, plain;
    std::string why;

    std::vector<BenchResult> results = {{"row_deflate (zlib format)"},
                                        {"zlib compress2 level 1"},
                                        {"zlib compress2 level 6"},
                                        {"libdeflate level 1"},
                                        {"libdeflate level 6"}};
    // compress2 as HDF5's deflate filter and most writers call it (a fresh stream per image).
    auto zlib_one = [&](int level, const uint8_t* src) {
      uLongf dest_len = static_cast<uLongf>(out.size());
      if (compress2(out.data(), &dest_len, src, static_cast<uLong>(image_bytes), level) != Z_OK)
        fail("zlib compress2");
      return static_cast<size_t>(dest_len);
    };

    Bytes images_buf;
    for (size_t first = 0; first < images; first += batch) {
      const size_t count = std::min(batch, images - first);
      rasterize(candles, first, count, shape, type, images_buf);
      // One method over the whole batch at a time, so none gets images another just cached.
      for (size_t m = 0; m < results.size(); ++m) {
        const auto t0 = std::chrono::steady_clock::now();
        size_t bytes = 0;
        for (size_t i = 0; i < count; ++i) {
          const uint8_t* src = images_buf.data() + i * image_bytes;
          switch (m) {
            case 0:
              mine.clear();
              enc.zlib_encode_rows(src, image_bytes, row_bytes, mine);
              bytes += mine.size();
              break;
            case 1: bytes += zlib_one(1, src); break;
            case 2: bytes += zlib_one(6, src); break;
            default:
              bytes += libdeflate_zlib_compress(m == 3 ? ld1 : ld6, src, image_bytes, out.data(),
                                                out.size());
          }
        }
        results[m].seconds +=
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        results[m].bytes += bytes;
      }
      // Outside the timing: every one of our streams must decode to its image.
      for (size_t i = 0; i < count; ++i) {
        const uint8_t* src = images_buf.data() + i * image_bytes;
        mine.clear();
        enc.zlib_encode_rows(src, image_bytes, row_bytes, mine);
        if (!inflate_with_zlib(mine, 0, 15, image_bytes, plain, why) ||
            std::memcmp(plain.data(), src, image_bytes) != 0)
          fail("bench image " + std::to_string(first + i) + " does not round-trip: " + why);
      }
    }
    libdeflate_free_compressor(ld1);
    libdeflate_free_compressor(ld6);

    std::printf("\n%zu images %ux%u %s (%zu bytes each), one thread, zlib format\n", images,
                shape.height, shape.width(), type == ohlc::PixelType::U8 ? "uint8" : "float32",
                image_bytes);
    std::printf("  %-26s %12s %10s %14s %9s\n", "encoder", "images/s", "MB/s", "bytes/image",
                "vs zlib-1");
    const double zlib1_bytes = double(results[1].bytes);
    for (const auto& r : results) {
      std::printf("  %-26s %12.0f %10.0f %14.1f %8.1f%%\n", r.name.c_str(), images / r.seconds,
                  images * double(image_bytes) / r.seconds / 1e6, double(r.bytes) / images,
                  100.0 * double(r.bytes) / zlib1_bytes);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool bench = false;
  uint64_t seed = 1;
  size_t cases = 8000;
  size_t images = 2000;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--bench") bench = true;
    else if (a == "--seed" && i + 1 < argc) seed = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--cases" && i + 1 < argc) cases = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--images" && i + 1 < argc) images = std::strtoull(argv[++i], nullptr, 10);
    else {
      std::fprintf(stderr, "usage: deflate_check [--seed N] [--cases N] | --bench [--images N]\n");
      return 2;
    }
  }
  return bench ? run_bench(seed, images) : run_fuzz(seed, cases);
}
