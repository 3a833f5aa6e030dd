// What the standalone checks share: a reproducible random source, timers, and zlib's inflate as
// the independent decoder of every stream they check. Header-only: each tool is one program.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "kernels/raster.hpp"

namespace ohlc::tools {

using Bytes = std::vector<uint8_t>;

using Clock = std::chrono::steady_clock;
inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// CPU time of the calling thread: with one thread the kernel runs on it, and time spent
// waiting for a core on a shared machine does not count.
inline double thread_seconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// splitmix64: small, and the same sequence from any standard library.
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed) {}
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }   // [0, 1)
  uint64_t below(uint64_t n) { return n ? next() % n : 0; }                     // [0, n)
  int64_t range(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(below(hi - lo + 1)); }
  bool chance(double p) { return uniform() < p; }
  template <typename T>
  T pick(const std::vector<T>& v) { return v[below(v.size())]; }
};

// window_bits: -15 raw deflate, 15 zlib, 31 gzip. True when the stream decodes completely
// (zlib verifies the Adler-32 / CRC-32 trailers), ends exactly at the end of the input and
// gives exactly `size` bytes; otherwise false with `why`.
inline bool inflate_all(const uint8_t* comp, size_t comp_size, int window_bits, size_t size, Bytes& plain,
                        std::string& why) {
  plain.assign(size + 1, 0);  // a spare byte catches output longer than expected
  z_stream zs{};
  if (inflateInit2(&zs, window_bits) != Z_OK) {
    why = "inflateInit2";
    return false;
  }
  zs.next_in = const_cast<Bytef*>(comp);
  size_t in_left = comp_size, out_left = plain.size();
  zs.next_out = plain.data();
  int rc = Z_OK;
  // Fed in pieces: avail_in / avail_out are 32-bit.
  while (rc == Z_OK) {
    const uInt in_chunk = static_cast<uInt>(std::min<size_t>(in_left, 1u << 30));
    const uInt out_chunk = static_cast<uInt>(std::min<size_t>(out_left, 1u << 30));
    zs.avail_in = in_chunk;
    zs.avail_out = out_chunk;
    rc = inflate(&zs, Z_NO_FLUSH);
    in_left -= in_chunk - zs.avail_in;
    out_left -= out_chunk - zs.avail_out;
    if (rc == Z_BUF_ERROR && (in_left == 0 || out_left == 0)) break;
  }
  const size_t produced = plain.size() - out_left;
  const std::string msg = zs.msg ? zs.msg : "";
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    why = "inflate returned " + std::to_string(rc) + (msg.empty() ? "" : " (" + msg + ")") + " after " +
          std::to_string(produced) + " bytes";
    return false;
  }
  if (in_left != 0) {
    why = std::to_string(in_left) + " compressed bytes left after the end of the stream";
    return false;
  }
  if (produced != size) {
    why = "decoded " + std::to_string(produced) + " bytes, expected " + std::to_string(size);
    return false;
  }
  plain.resize(size);
  return true;
}

// Candle columns the checks own.
struct Candles {
  std::vector<double> open, high, low, close;
  explicit Candles(size_t n = 0) : open(n), high(n), low(n), close(n) {}
  size_t size() const { return open.size(); }
  double* field(int f) { return f == 0 ? open.data() : f == 1 ? high.data() : f == 2 ? low.data() : close.data(); }
  CandleColumns columns() const { return {open.data(), high.data(), low.data(), close.data(), open.size()}; }
};

// The encoder benchmarks' walk: normal log steps of `sigma`, wicks half a step beyond open/close.
inline Candles normal_walk(std::mt19937_64& rng, size_t n, double start = 100.0, double sigma = 0.01) {
  Candles c(n);
  std::normal_distribution<double> step(0.0, sigma);
  double price = start;
  for (size_t i = 0; i < n; ++i) {
    const double o = price;
    const double cl = o * std::exp(step(rng));
    c.open[i] = o;
    c.close[i] = cl;
    c.high[i] = std::max(o, cl) * (1.0 + std::abs(step(rng)) * 0.5);
    c.low[i] = std::min(o, cl) * (1.0 - std::abs(step(rng)) * 0.5);
    price = cl;
  }
  return c;
}

}  // namespace ohlc::tools
