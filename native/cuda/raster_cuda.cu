// GPU rasterizer: same pixels as kernels/raster.cpp (docs/IMAGE.md), bit for bit.
//
// One thread block per window: the block reduces the window's price range in float64, computes
// every bar's rows (raster_math.hpp, compiled with --fmad=false) into shared memory, then writes
// the image with one 4-byte (uint8) or 16-byte (float32) store per bar and row, coalesced along
// the row. Windows are processed in batches on two streams, so the copy of batch k back to the
// host overlaps the drawing of batch k+1; the caller's output is page-locked for the duration
// (cudaHostRegister) so copies run at PCIe speed, with a pinned staging fallback.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "cuda/raster_cuda.hpp"

namespace ohlc::cuda {
namespace {

constexpr int kBlock = 256;
constexpr uint32_t kBarTile = 1024;  // bars whose rows sit in shared memory at once

struct DeviceCandles {
  const double* open;
  const double* high;
  const double* low;
  const double* close;
};

__device__ inline double warp_min(double v) {
  for (int o = 16; o > 0; o >>= 1) v = fmin(v, __shfl_down_sync(0xffffffffu, v, o));
  return v;
}
__device__ inline double warp_max(double v) {
  for (int o = 16; o > 0; o >>= 1) v = fmax(v, __shfl_down_sync(0xffffffffu, v, o));
  return v;
}

// Writes one image per block. `bad[w]` is set to 1 for a window with an unusable price (its image
// is then left unwritten; the host reports the error).
template <typename Pixel>
__global__ void __launch_bounds__(kBlock)
    raster_kernel(DeviceCandles c, const int64_t* __restrict__ starts, int64_t first,
                  int64_t stride, uint32_t count, uint32_t seq_len, uint32_t height,
                  Pixel* __restrict__ out, uint8_t* __restrict__ bad) {
  __shared__ double s_lo[kBlock / 32];
  __shared__ double s_hi[kBlock / 32];
  __shared__ int s_bad;
  __shared__ BarRows s_rows[kBarTile];

  const uint32_t w = blockIdx.x;
  if (w >= count) return;
  const int64_t start = starts ? starts[w] : first + static_cast<int64_t>(w) * stride;
  const int tid = threadIdx.x;
  if (tid == 0) s_bad = 0;
  __syncthreads();

  double lo = static_cast<double>(INFINITY), hi = 0.0;
  const double* fields[4] = {c.open, c.high, c.low, c.close};
  for (int f = 0; f < 4; ++f) {
    const double* p = fields[f] + start;
    for (uint32_t j = tid; j < seq_len; j += kBlock) {
      const double v = p[j];
      if (!usable_price(v)) s_bad = 1;
      lo = fmin(lo, v);
      hi = fmax(hi, v);
    }
  }
  lo = warp_min(lo);
  hi = warp_max(hi);
  if ((tid & 31) == 0) {
    s_lo[tid >> 5] = lo;
    s_hi[tid >> 5] = hi;
  }
  __syncthreads();
  if (s_bad) {
    if (tid == 0) bad[w] = 1;
    return;
  }
  lo = s_lo[0];
  hi = s_hi[0];
  for (int k = 1; k < kBlock / 32; ++k) {
    lo = fmin(lo, s_lo[k]);
    hi = fmax(hi, s_hi[k]);
  }

  const uint32_t width = 4 * seq_len;
  Pixel* image = out + static_cast<size_t>(w) * height * width;
  for (uint32_t tile = 0; tile < seq_len; tile += kBarTile) {
    const uint32_t bars = min(kBarTile, seq_len - tile);
    __syncthreads();
    for (uint32_t j = tid; j < bars; j += kBlock) {
      const int64_t i = start + tile + j;
      s_rows[j] = bar_rows(c.open[i], c.high[i], c.low[i], c.close[i], hi, lo,
                           static_cast<int32_t>(height));
    }
    __syncthreads();
    const uint32_t cells = bars * height;
    for (uint32_t k = tid; k < cells; k += kBlock) {
      const uint32_t row = k / bars;
      const uint32_t j = k - row * bars;
      const BarRows r = s_rows[j];
      const int32_t y = static_cast<int32_t>(row);
      const bool line = y >= r.line_top && y <= r.line_bottom;
      Pixel* cell = image + static_cast<size_t>(row) * width + 4 * (tile + j);
      if constexpr (sizeof(Pixel) == 1) {
        const uint32_t v = (line ? 0u : 1u) | ((y == r.open ? 0u : 1u) << 8) |
                           ((y == r.close ? 0u : 1u) << 16) | (1u << 24);
        *reinterpret_cast<uint32_t*>(cell) = v;
      } else {
        *reinterpret_cast<float4*>(cell) =
            make_float4(line ? 0.f : 1.f, y == r.open ? 0.f : 1.f, y == r.close ? 0.f : 1.f, 1.f);
      }
    }
  }
}

std::string describe(cudaError_t e, const char* what) {
  return std::string(what) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
}

// Owns device and host resources of one call; frees whatever was allocated on every path.
struct CallResources {
  double* d_prices = nullptr;
  int64_t* d_starts = nullptr;
  void* d_out[2] = {nullptr, nullptr};
  uint8_t* d_bad = nullptr;
  void* h_stage[2] = {nullptr, nullptr};
  cudaStream_t streams[2] = {nullptr, nullptr};
  void* registered = nullptr;
  ~CallResources() {
    for (auto s : streams)
      if (s) cudaStreamSynchronize(s), cudaStreamDestroy(s);
    if (registered) cudaHostUnregister(registered);
    cudaFree(d_prices);
    cudaFree(d_starts);
    for (auto p : d_out) cudaFree(p);
    cudaFree(d_bad);
    for (auto p : h_stage) cudaFreeHost(p);
  }
};

}  // namespace

const DeviceInfo& probe() {
  static DeviceInfo info;
  static std::once_flag once;
  std::call_once(once, [] {
    info.compiled = true;
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
      info.reason = describe(e, "cudaGetDeviceCount");
      cudaGetLastError();
      return;
    }
    if (n == 0) {
      info.reason = "no CUDA device";
      return;
    }
    cudaDeviceProp prop;
    e = cudaGetDeviceProperties(&prop, 0);
    if (e == cudaSuccess) e = cudaSetDevice(0);
    if (e == cudaSuccess) e = cudaFree(nullptr);  // creates the context now, not mid-call
    if (e != cudaSuccess) {
      info.reason = describe(e, "CUDA start-up");
      cudaGetLastError();
      return;
    }
    info.available = true;
    info.device = 0;
    info.name = prop.name;
    info.memory_bytes = prop.totalGlobalMem;
    info.multiprocessors = prop.multiProcessorCount;
    info.compute_major = prop.major;
    info.compute_minor = prop.minor;
  });
  return info;
}

RasterOutcome rasterize_cuda(const CandleColumns& c, const WindowList& windows, ImageShape shape,
                             PixelType type, void* out, const std::atomic<bool>* cancel) {
  RasterOutcome outcome = check_raster_arguments(c, windows, shape);
  if (outcome.status != RasterOutcome::kOk || windows.count == 0) return outcome;
  const DeviceInfo& dev = probe();
  auto fail = [&outcome](std::string msg) {
    outcome.status = RasterOutcome::kBadArgument;
    outcome.message = std::move(msg);
    return outcome;
  };
  if (!dev.available) return fail("CUDA device not available: " + dev.reason);
  cudaError_t e = cudaSetDevice(dev.device);
  if (e != cudaSuccess) return fail(describe(e, "cudaSetDevice"));

  // Upload the span of candles the windows cover.
  int64_t lo_start = windows.start(0), hi_start = lo_start;
  for (size_t i = 0; i < windows.count && windows.starts; ++i) {
    lo_start = std::min(lo_start, windows.starts[i]);
    hi_start = std::max(hi_start, windows.starts[i]);
  }
  if (!windows.starts) hi_start = windows.start(windows.count - 1);
  const size_t span = static_cast<size_t>(hi_start - lo_start) + shape.seq_len;

  CallResources res;
  auto check = [&](cudaError_t err, const char* what) {
    if (err == cudaSuccess) return true;
    cudaGetLastError();
    fail(describe(err, what));
    return false;
  };
  if (!check(cudaMalloc(&res.d_prices, 4 * span * sizeof(double)), "cudaMalloc(candles)"))
    return outcome;
  const double* src[4] = {c.open, c.high, c.low, c.close};
  for (int f = 0; f < 4; ++f)
    if (!check(cudaMemcpy(res.d_prices + f * span, src[f] + lo_start, span * sizeof(double),
                          cudaMemcpyHostToDevice),
               "upload candles"))
      return outcome;
  DeviceCandles dc{res.d_prices, res.d_prices + span, res.d_prices + 2 * span,
                   res.d_prices + 3 * span};

  std::vector<int64_t> rebased;
  if (windows.starts) {
    rebased.resize(windows.count);
    for (size_t i = 0; i < windows.count; ++i) rebased[i] = windows.starts[i] - lo_start;
    if (!check(cudaMalloc(&res.d_starts, rebased.size() * sizeof(int64_t)), "cudaMalloc(starts)") ||
        !check(cudaMemcpy(res.d_starts, rebased.data(), rebased.size() * sizeof(int64_t),
                          cudaMemcpyHostToDevice),
               "upload starts"))
      return outcome;
  }
  const int64_t first = windows.starts ? 0 : windows.first - lo_start;

  // Batches of at most ~128 MiB of pixels, double-buffered.
  const size_t image_bytes = shape.pixels() * pixel_bytes(type);
  const size_t batch = std::max<size_t>(1, std::min<size_t>(windows.count, (size_t{128} << 20) / image_bytes));
  const size_t batches = (windows.count + batch - 1) / batch;
  const size_t total_bytes = windows.count * image_bytes;
  bool direct = cudaHostRegister(out, total_bytes, cudaHostRegisterDefault) == cudaSuccess;
  if (direct) res.registered = out;
  else cudaGetLastError();

  for (int k = 0; k < 2; ++k) {
    if (!check(cudaStreamCreateWithFlags(&res.streams[k], cudaStreamNonBlocking), "cudaStreamCreate") ||
        !check(cudaMalloc(&res.d_out[k], batch * image_bytes), "cudaMalloc(images)"))
      return outcome;
    if (!direct && !check(cudaMallocHost(&res.h_stage[k], batch * image_bytes), "cudaMallocHost"))
      return outcome;
  }
  if (!check(cudaMalloc(&res.d_bad, windows.count), "cudaMalloc(flags)") ||
      !check(cudaMemset(res.d_bad, 0, windows.count), "cudaMemset(flags)"))
    return outcome;

  std::vector<size_t> pending(2, SIZE_MAX);  // batch index whose staging copy is outstanding
  auto drain = [&](int k) {
    if (pending[k] == SIZE_MAX) return true;
    if (!check(cudaStreamSynchronize(res.streams[k]), "rasterize batch")) return false;
    if (!direct) {
      const size_t b = pending[k];
      const size_t n = std::min(batch, windows.count - b * batch);
      std::memcpy(static_cast<uint8_t*>(out) + b * batch * image_bytes, res.h_stage[k], n * image_bytes);
    }
    pending[k] = SIZE_MAX;
    return true;
  };

  for (size_t b = 0; b < batches; ++b) {
    if (cancel && cancel->load(std::memory_order_relaxed)) {
      outcome.status = RasterOutcome::kCancelled;
      return outcome;
    }
    const int k = static_cast<int>(b & 1);
    if (!drain(k)) return outcome;
    const size_t n = std::min(batch, windows.count - b * batch);
    const int64_t* d_starts = res.d_starts ? res.d_starts + b * batch : nullptr;
    const int64_t batch_first = first + static_cast<int64_t>(b * batch) * windows.stride;
    if (type == PixelType::U8) {
      raster_kernel<uint8_t><<<static_cast<unsigned>(n), kBlock, 0, res.streams[k]>>>(
          dc, d_starts, batch_first, windows.stride, static_cast<uint32_t>(n), shape.seq_len,
          shape.height, static_cast<uint8_t*>(res.d_out[k]), res.d_bad + b * batch);
    } else {
      raster_kernel<float><<<static_cast<unsigned>(n), kBlock, 0, res.streams[k]>>>(
          dc, d_starts, batch_first, windows.stride, static_cast<uint32_t>(n), shape.seq_len,
          shape.height, static_cast<float*>(res.d_out[k]), res.d_bad + b * batch);
    }
    if (!check(cudaGetLastError(), "launch rasterize kernel")) return outcome;
    void* dst = direct ? static_cast<uint8_t*>(out) + b * batch * image_bytes : res.h_stage[k];
    if (!check(cudaMemcpyAsync(dst, res.d_out[k], n * image_bytes, cudaMemcpyDeviceToHost,
                               res.streams[k]),
               "copy images to host"))
      return outcome;
    pending[k] = b;
  }
  if (!drain(0) || !drain(1)) return outcome;

  std::vector<uint8_t> bad(windows.count);
  if (!check(cudaMemcpy(bad.data(), res.d_bad, windows.count, cudaMemcpyDeviceToHost), "copy flags"))
    return outcome;
  for (size_t w = 0; w < windows.count; ++w) {
    if (!bad[w]) continue;
    outcome.status = RasterOutcome::kInvalidPrice;
    outcome.window = w;
    double lo, hi;
    window_range(c, windows.start(w), shape.seq_len, &lo, &hi, &outcome.bad);
    break;
  }
  return outcome;
}

}  // namespace ohlc::cuda
