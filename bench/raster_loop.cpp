// The rasterizer's ceiling without Node: the project's own kernel (native/kernels/raster.cpp,
// compiled with the addon's flags by bench/raster.ts) called from a plain C++ loop, into one reused
// buffer, over the same candles the Node benchmark uses. With "fill" it only fills the buffer with
// the background, image by image on the same OpenMP threads: the memory-write floor.
//   raster_loop <candles.f64> <dtype 0|1> <threads> <batch> <blocks> <block_ms> [fill]
// The candles file is open, high, low, close, open time as consecutive float64 columns. Prints one JSON line:
// the median images/s over the blocks, the CPU cores used, and the process's CPU time.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

#include "kernels/raster.hpp"

namespace {

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double cpu_ms() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7 && !(argc == 8 && std::strcmp(argv[7], "fill") == 0)) {
    std::fprintf(stderr, "usage: %s candles.f64 dtype threads batch blocks block_ms [fill]\n", argv[0]);
    return 2;
  }
  std::FILE* f = std::fopen(argv[1], "rb");
  if (!f) return 2;
  std::vector<double> data;
  double buf[4096];
  size_t got;
  while ((got = std::fread(buf, sizeof(double), 4096, f)) > 0) data.insert(data.end(), buf, buf + got);
  std::fclose(f);
  const size_t n = data.size() / 5;
  ohlc::CandleColumns c;
  c.open = data.data();
  c.high = data.data() + n;
  c.low = data.data() + 2 * n;
  c.close = data.data() + 3 * n;
  c.count = n;

  const auto type = std::atoi(argv[2]) == 0 ? ohlc::PixelType::U8 : ohlc::PixelType::F32;
  const int threads = std::atoi(argv[3]);
  const size_t batch = std::strtoul(argv[4], nullptr, 10);
  const int blocks = std::atoi(argv[5]);
  const double block_ms = std::atof(argv[6]);
  const bool fill_only = argc == 8;
  ohlc::ImageShape shape;
  shape.seq_len = 100;
  shape.height = 500;
  std::vector<uint8_t> out(batch * shape.pixels() * ohlc::pixel_bytes(type));
  const int64_t last_first = static_cast<int64_t>(n - shape.seq_len + 1 - batch);

  int64_t first = 0;
  auto fill_batch = [&]() {
    const int64_t count = static_cast<int64_t>(batch);
    const size_t pixels = shape.pixels();
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t i = 0; i < count; ++i) {
      if (type == ohlc::PixelType::U8) {
        uint8_t* p = out.data() + i * pixels;
        std::fill(p, p + pixels, uint8_t{1});
      } else {
        float* p = reinterpret_cast<float*>(out.data()) + i * pixels;
        std::fill(p, p + pixels, 1.0f);
      }
    }
  };
  auto run_batch = [&]() {
    if (fill_only) return fill_batch();
    ohlc::WindowList w;
    w.first = first;
    w.count = batch;
    const auto r = ohlc::rasterize_cpu(c, w, shape, type, out.data(), threads, nullptr);
    if (r.status != ohlc::RasterOutcome::kOk) std::abort();
    first = (first + static_cast<int64_t>(batch)) % last_first;
  };

  const double warm_end = now_ms() + block_ms;
  while (now_ms() < warm_end) run_batch();
  std::vector<double> rates;
  double cpu_total = 0, wall_total = 0;
  for (int b = 0; b < blocks; ++b) {
    const double t0 = now_ms(), c0 = cpu_ms();
    size_t images = 0;
    while (now_ms() - t0 < block_ms) {
      run_batch();
      images += batch;
    }
    const double wall = now_ms() - t0;
    cpu_total += cpu_ms() - c0;
    wall_total += wall;
    rates.push_back(images / wall * 1000.0);
  }
  std::sort(rates.begin(), rates.end());
  std::printf("{\"rate\":%.1f,\"min\":%.1f,\"max\":%.1f,\"cores\":%.3f,\"processCpuMs\":%.1f}\n",
              rates[rates.size() / 2], rates.front(), rates.back(), cpu_total / wall_total, cpu_ms());
  return 0;
}
