// GPU rasterizer: same pixels as kernels/raster.cpp (docs/IMAGE.md), bit for bit.
//
// Kernel: one thread block per window. The block checks every price (__syncthreads_or) and
// reduces the window's range in float64, computes each bar's rows with raster_math.hpp (the
// same float64 operations in the same order as the CPU; the file is compiled with --fmad=false)
// into shared memory, then writes the image with the raster_layout.hpp writers: 16-byte
// streaming stores, coalesced along rows. Windows longer than kBarTile bars are drawn tile by
// tile; windows with an unusable price are left unwritten and the lowest such window index is
// kept with atomicMin, so the host reports exactly the window rasterize_cpu reports.
//
// Host: the native calls arrive in chunks of <= 64 MiB of images (rasterize.ts, build.ts), so
// per-call set-up costs matter as much as bandwidth. Streams, device buffers and pinned staging
// buffers are therefore created once per process and reused (one mutex: calls from several
// threads run one after another). A call uploads only the candles its windows cover, then runs
// batches of ~16 MiB alternately on two streams, so the device-to-host copy of one batch
// overlaps the drawing of the next and the host-side copy out of the staging buffer of the one
// before. Every CUDA call is checked; every exit path waits for the streams before returning
// (no copy may still target the caller's memory), and a failed call frees the cached resources.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cuda/cuda_tools.hpp"
#include "cuda/jkx_kernel.cuh"
#include "cuda/raster_layout.hpp"
#include "kernels/raster_jkx.hpp"

namespace ohlc::cuda {
namespace {

constexpr int kBlock = 256;
constexpr int kWarps = kBlock / 32;
constexpr size_t kDefaultBatchBytes = size_t{16} << 20;
constexpr size_t kMaxLaunchWindows = size_t{1} << 30;  // grid.x is limited to 2^31 - 1
constexpr size_t kKeepBytes = size_t{256} << 20;  // larger cached buffers are freed after a call
constexpr unsigned long long kNoBadWindow = ~0ull;

struct KernelArgs {
  const double* open;
  const double* high;
  const double* low;
  const double* close;
  const int64_t* starts;  // nullptr: start = first + w * stride
  int64_t first;
  int64_t stride;
  uint64_t window_offset;  // call-wide index of this launch's window 0 (for first_bad)
  uint32_t seq_len;
  uint32_t height;
  void* out;  // this launch's images, contiguous
  unsigned long long* first_bad;
};

__device__ inline double warp_min(double v) {
  for (int o = 16; o > 0; o >>= 1) v = fmin(v, __shfl_down_sync(0xffffffffu, v, o));
  return v;
}
__device__ inline double warp_max(double v) {
  for (int o = 16; o > 0; o >>= 1) v = fmax(v, __shfl_down_sync(0xffffffffu, v, o));
  return v;
}

// Block w draws window w of the launch. kWhole: all bar rows fit shared memory and the image
// fits 32-bit indices (whole_image_path), else tiles of kBarTile bars.
template <typename Pixel, bool kWhole>
__global__ void __launch_bounds__(kBlock) raster_kernel(KernelArgs a) {
  extern __shared__ __align__(16) unsigned char s_raw[];
  BarRows* s_rows = reinterpret_cast<BarRows*>(s_raw);  // min(L, kBarTile) entries
  __shared__ double s_lo[kWarps];
  __shared__ double s_hi[kWarps];

  const uint32_t w = blockIdx.x;
  const uint32_t t = threadIdx.x;
  const uint32_t len = a.seq_len;
  const int64_t start = a.starts ? a.starts[w] : a.first + static_cast<int64_t>(w) * a.stride;

  // Range and validity. With every price finite and > 0, fmin/fmax pick exactly what the CPU's
  // compare-and-select picks (no NaN, no signed zeros), so lo/hi are bit-identical.
  double lo = static_cast<double>(INFINITY), hi = 0.0;
  int bad = 0;
  const double* fields[4] = {a.open, a.high, a.low, a.close};
  for (int f = 0; f < 4; ++f) {
    const double* p = fields[f] + start;
    for (uint32_t j = t; j < len; j += kBlock) {
      const double v = p[j];
      bad |= !usable_price(v);
      lo = fmin(lo, v);
      hi = fmax(hi, v);
    }
  }
  if (__syncthreads_or(bad)) {  // uniform: the whole block leaves together
    if (t == 0) atomicMin(a.first_bad, static_cast<unsigned long long>(a.window_offset + w));
    return;
  }
  lo = warp_min(lo);
  hi = warp_max(hi);
  if ((t & 31) == 0) {
    s_lo[t >> 5] = lo;
    s_hi[t >> 5] = hi;
  }
  __syncthreads();
  lo = s_lo[0];
  hi = s_hi[0];
  for (int k = 1; k < kWarps; ++k) {
    lo = fmin(lo, s_lo[k]);
    hi = fmax(hi, s_hi[k]);
  }

  const int32_t h = static_cast<int32_t>(a.height);
  const size_t image_pixels = static_cast<size_t>(a.height) * 4 * len;
  Pixel* image = static_cast<Pixel*>(a.out) + static_cast<size_t>(w) * image_pixels;
  for (uint32_t t0 = 0; t0 < len; t0 += kBarTile) {
    const uint32_t bars = min(kBarTile, len - t0);
    if (t0 > 0) __syncthreads();  // everyone is done reading the previous tile's rows
    for (uint32_t j = t; j < bars; j += kBlock) {
      const int64_t i = start + t0 + j;
      s_rows[j] = bar_rows(a.open[i], a.high[i], a.low[i], a.close[i], hi, lo, h);
    }
    __syncthreads();
    if constexpr (kWhole) {
      if constexpr (sizeof(Pixel) == 1)
        write_image_u8(s_rows, len, a.height, reinterpret_cast<uint32_t*>(image), t, kBlock);
      else
        write_image_f32(s_rows, len, a.height, reinterpret_cast<float*>(image), t, kBlock);
    } else {
      if constexpr (sizeof(Pixel) == 1)
        write_tile_u8(s_rows, bars, t0, len, a.height, reinterpret_cast<uint32_t*>(image), t,
                      kBlock);
      else
        write_tile_f32(s_rows, bars, t0, len, a.height, reinterpret_cast<float*>(image), t,
                       kBlock);
    }
  }
}

cudaError_t launch(const KernelArgs& a, size_t windows, PixelType type, cudaStream_t stream) {
  const bool whole = whole_image_path(a.seq_len, a.height);
  const size_t shared = std::min(a.seq_len, kBarTile) * sizeof(BarRows);  // <= 16 KiB
  const dim3 grid(static_cast<unsigned>(windows));
  if (type == PixelType::U8) {
    if (whole) raster_kernel<uint8_t, true><<<grid, kBlock, shared, stream>>>(a);
    else raster_kernel<uint8_t, false><<<grid, kBlock, shared, stream>>>(a);
  } else {
    if (whole) raster_kernel<float, true><<<grid, kBlock, shared, stream>>>(a);
    else raster_kernel<float, false><<<grid, kBlock, shared, stream>>>(a);
  }
  return cudaGetLastError();
}

std::string describe(cudaError_t e, const char* what) {
  return std::string(what) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
}

// Grow-only buffers, sized to powers of two so varying calls settle after a few allocations.
size_t round_up(size_t bytes) {
  size_t n = size_t{64} << 10;
  while (n < bytes) n <<= 1;
  return n;
}

// Memory kinds for GrowBuffer: device memory, and page-locked host memory.
struct DeviceMemory {
  static cudaError_t allocate(void** p, size_t n) { return cudaMalloc(p, n); }
  static void free(void* p) { cudaFree(p); }  // cleanup: an error here (a dead context) leaves nothing to do
};
struct PinnedMemory {
  static cudaError_t allocate(void** p, size_t n) { return cudaMallocHost(p, n); }
  static void free(void* p) { cudaFreeHost(p); }
};

template <typename Memory>
struct GrowBuffer {
  void* ptr = nullptr;
  size_t bytes = 0;
  cudaError_t reserve(size_t need) {
    if (need <= bytes) return cudaSuccess;
    release();
    const size_t size = round_up(need);
    const cudaError_t e = Memory::allocate(&ptr, size);
    if (e != cudaSuccess) {
      ptr = nullptr;
      return e;
    }
    bytes = size;
    return e;
  }
  void release() {
    if (ptr) Memory::free(ptr);
    ptr = nullptr;
    bytes = 0;
  }
};

using DeviceBuffer = GrowBuffer<DeviceMemory>;
using PinnedBuffer = GrowBuffer<PinnedMemory>;

// The per-process resources, guarded by `mutex` for the whole of a call.
struct Context {
  std::mutex mutex;
  cudaStream_t streams[2] = {nullptr, nullptr};
  cudaEvent_t uploaded = nullptr;  // inputs are on the device (recorded on streams[0])
  DeviceBuffer prices, starts, bad, images[2];
  DeviceBuffer ma_ok, workspace[2];  // the jkx layout's per-window history flags and workspace
  PinnedBuffer stage[2], bad_host;

  cudaError_t open() {
    cudaError_t e = cudaSuccess;
    // Non-blocking: no implicit ordering with the legacy default stream, which other code in the
    // process may use; every dependency here is explicit (the `uploaded` event).
    for (auto& s : streams)
      if (!s && e == cudaSuccess) e = cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    if (!uploaded && e == cudaSuccess)
      e = cudaEventCreateWithFlags(&uploaded, cudaEventDisableTiming);
    return e;
  }
  void sync() {
    for (auto s : streams)
      if (s) cudaStreamSynchronize(s);
  }
  void release() {
    sync();
    for (auto& s : streams) {
      if (s) cudaStreamDestroy(s);
      s = nullptr;
    }
    if (uploaded) cudaEventDestroy(uploaded);
    uploaded = nullptr;
    prices.release();
    starts.release();
    bad.release();
    ma_ok.release();
    for (auto& b : workspace) b.release();
    for (auto& b : images) b.release();
    for (auto& b : stage) b.release();
    bad_host.release();
    cudaGetLastError();
  }
  // Keeps the usual working set (a few tens of MiB) but not what one huge call needed.
  void trim() {
    for (DeviceBuffer* b : {&prices, &starts, &images[0], &images[1], &ma_ok, &workspace[0], &workspace[1]})
      if (b->bytes > kKeepBytes) b->release();
    for (auto& b : stage)
      if (b.bytes > kKeepBytes) b.release();
  }
};

// Never destroyed: freeing CUDA resources from a static destructor would race the runtime's own
// teardown at exit; the driver reclaims everything when the process ends.
Context& context() {
  static Context* ctx = new Context();
  return *ctx;
}

// Runs on every exit of a call: waits for the streams (no copy may still target the caller's
// memory or a staging buffer), unregisters, and frees the cache if the call failed.
struct CallGuard {
  Context& ctx;
  void* registered = nullptr;
  bool failed = false;
  explicit CallGuard(Context& c) : ctx(c) {}
  CallGuard(const CallGuard&) = delete;
  CallGuard& operator=(const CallGuard&) = delete;
  ~CallGuard() {
    ctx.sync();
    if (registered) cudaHostUnregister(registered);
    cudaGetLastError();
    if (failed) ctx.release();
    else ctx.trim();
  }
};

// The inputs of a call on the device: `fields` columns of `span` candles from candle `offset`
// of the caller's columns, and the window starts rebased onto them.
struct Uploaded {
  const double* columns[5] = {nullptr, nullptr, nullptr, nullptr, nullptr};
  const int64_t* starts = nullptr;  // nullptr: start = first + w * stride
  int64_t first = 0;
  int64_t stride = 1;
  int64_t offset = 0;
  unsigned long long* first_bad = nullptr;
};

// Copies the candles the windows cover (from `history` candles before the lowest start, where
// the series has them) and the rebased explicit starts to the device on streams[0], resets the
// bad-window slot, and makes streams[1] wait for all of it. `rebased` must outlive the copies
// (the caller keeps it until the streams are synchronized). A window keeps its distance from
// the series' start up to `history` candles, so whether its history exists is unchanged.
cudaError_t upload_inputs(Context& ctx, const double* const* fields, int nfields,
                          const WindowList& windows, uint32_t seq_len, uint32_t history,
                          std::vector<int64_t>& rebased, Uploaded* up, const char** what) {
  const StartRange range = start_range(windows);
  const int64_t lo_start = range.lo > static_cast<int64_t>(history) ? range.lo - history : 0;
  const size_t span = static_cast<size_t>(range.hi - lo_start) + seq_len;
  cudaStream_t s0 = ctx.streams[0];
  cudaError_t e;
  *what = "cudaMalloc(candles)";
  if ((e = ctx.prices.reserve(nfields * span * sizeof(double))) != cudaSuccess) return e;
  double* d = static_cast<double*>(ctx.prices.ptr);
  *up = Uploaded{};
  *what = "upload candles";
  for (int f = 0; f < nfields; ++f) {
    if ((e = cudaMemcpyAsync(d + f * span, fields[f] + lo_start, span * sizeof(double),
                             cudaMemcpyHostToDevice, s0)) != cudaSuccess)
      return e;
    up->columns[f] = d + f * span;
  }
  up->offset = lo_start;
  up->stride = windows.stride;
  if (windows.starts) {
    rebased.resize(windows.count);
    for (size_t i = 0; i < windows.count; ++i) rebased[i] = windows.starts[i] - lo_start;
    *what = "cudaMalloc(starts)";
    if ((e = ctx.starts.reserve(rebased.size() * sizeof(int64_t))) != cudaSuccess) return e;
    *what = "upload starts";
    if ((e = cudaMemcpyAsync(ctx.starts.ptr, rebased.data(), rebased.size() * sizeof(int64_t),
                             cudaMemcpyHostToDevice, s0)) != cudaSuccess)
      return e;
    up->starts = static_cast<const int64_t*>(ctx.starts.ptr);
    up->first = 0;
  } else {
    up->starts = nullptr;
    up->first = windows.first - lo_start;
  }
  *what = "cudaMalloc(flag)";
  if ((e = ctx.bad.reserve(sizeof(unsigned long long))) != cudaSuccess) return e;
  up->first_bad = static_cast<unsigned long long*>(ctx.bad.ptr);
  *what = "reset flag";
  if ((e = cudaMemsetAsync(ctx.bad.ptr, 0xff, sizeof(unsigned long long), s0)) != cudaSuccess)
    return e;
  *what = "order streams";
  if ((e = cudaEventRecord(ctx.uploaded, s0)) != cudaSuccess) return e;
  return cudaStreamWaitEvent(ctx.streams[1], ctx.uploaded, 0);
}

KernelArgs raster_args(const Uploaded& up, ImageShape shape) {
  KernelArgs a{};
  a.open = up.columns[0];
  a.high = up.columns[1];
  a.low = up.columns[2];
  a.close = up.columns[3];
  a.starts = up.starts;
  a.first = up.first;
  a.stride = up.stride;
  a.seq_len = shape.seq_len;
  a.height = shape.height;
  a.first_bad = up.first_bad;
  return a;
}

// Whether `p .. p+bytes` is already page-locked (cudaMallocHost, or registered by its owner):
// then the device copies straight into it. Checks both ends.
bool is_page_locked(const void* p, size_t bytes) {
  cudaPointerAttributes first{}, last{};
  if (cudaPointerGetAttributes(&first, p) != cudaSuccess ||
      cudaPointerGetAttributes(&last, static_cast<const char*>(p) + bytes - 1) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return first.type == cudaMemoryTypeHost && last.type == cudaMemoryTypeHost;
}

// memcpy out of a staging buffer with a few threads: one core copies ~6-10 GB/s into memory not
// in cache, less than PCIe delivers. Threads are made per copy (tens of microseconds against a
// ~1 ms copy of a 16 MiB batch); if one cannot be made, this thread copies its part.
void copy_out(void* dst, const void* src, size_t bytes) {
  constexpr size_t kPerThread = size_t{4} << 20;
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  const size_t parts = std::min<size_t>({bytes / kPerThread, hw, 8});
  auto* d = static_cast<uint8_t*>(dst);
  const auto* s = static_cast<const uint8_t*>(src);
  if (parts <= 1) {
    std::memcpy(d, s, bytes);
    return;
  }
  const size_t step = ((bytes + parts - 1) / parts + 4095) & ~size_t{4095};
  std::vector<std::thread> threads;
  size_t next = std::min(step, bytes);  // everything from `next` on not yet handed to a thread
  while (next < bytes) {
    const size_t len = std::min(step, bytes - next);
    try {
      threads.emplace_back([=] { std::memcpy(d + next, s + next, len); });
    } catch (...) {
      break;
    }
    next += len;
  }
  std::memcpy(d, s, std::min(step, bytes));
  if (next < bytes) std::memcpy(d + next, s + next, bytes - next);
  for (auto& th : threads) th.join();
}

}  // namespace

const DeviceInfo& probe() {
  static DeviceInfo info;
  static std::once_flag once;
  std::call_once(once, [] {
    info.compiled = true;
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
      // With no driver at all the runtime says "driver version is insufficient", which sends
      // people to upgrade a driver they do not have: a driver version of 0 means none is there.
      int driver = 0;
      if (e == cudaErrorInsufficientDriver && cudaDriverGetVersion(&driver) == cudaSuccess && driver == 0)
        info.reason = "no NVIDIA driver found (no GPU, or its driver is not installed)";
      else
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
    // The kernels must have code for this device (SASS for sm_80/86/89/90 or PTX the driver can
    // compile); an older GPU would otherwise only fail at the first launch.
    cudaFuncAttributes attr;
    e = cudaFuncGetAttributes(&attr, raster_kernel<uint8_t, true>);
    if (e != cudaSuccess) {
      info.reason = describe(e, ("kernels for " + std::string(prop.name) + " (compute " +
                                 std::to_string(prop.major) + "." + std::to_string(prop.minor) +
                                 ")").c_str());
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

namespace {

// What the batches of one call came to.
struct BatchRun {
  enum Status { kDone, kCancelled, kFailed } status = kDone;
  std::string error;                        // kFailed
  unsigned long long first_bad = kNoBadWindow;  // lowest window not drawn (call-wide index)
};

// The batch loop every layout shares: `count` images of `image_bytes`, drawn in batches by
// launch(first_window, n, device_images, k, stream) (k: which of the two streams, and its
// buffers), alternately on two streams, so the device-to-host copy of one batch overlaps the
// drawing of the next and the host-side copy out of the staging buffer of the one before.
// Inputs are uploaded (and the bad-window slot reset) by the caller. Call with the context's
// mutex held and a CallGuard alive.
template <typename Launch>
BatchRun run_batches(Context& ctx, CallGuard& guard, size_t count, size_t image_bytes, void* out,
                     const std::atomic<bool>* cancel, const CudaOptions& options,
                     unsigned long long* device_first_bad, size_t* batch_windows, Launch launch_batch) {
  BatchRun run;
  auto check = [&](cudaError_t e, const char* what) {
    if (e == cudaSuccess) return true;
    cudaGetLastError();
    guard.failed = true;
    run.status = BatchRun::kFailed;
    run.error = describe(e, what);
    return false;
  };
  const size_t batch_bytes = options.batch_bytes ? options.batch_bytes : kDefaultBatchBytes;
  const size_t batch =
      std::min({count, std::max<size_t>(1, batch_bytes / image_bytes), kMaxLaunchWindows});
  if (batch_windows) *batch_windows = batch;
  const size_t batches = (count + batch - 1) / batch;
  const size_t total_bytes = count * image_bytes;

  // Where the images go: straight into `out` when it is page-locked, else via staging.
  bool direct = false;
  if (options.transfer != HostTransfer::kStaged) direct = is_page_locked(out, total_bytes);
  if (!direct && options.transfer == HostTransfer::kRegister) {
    if (cudaHostRegister(out, total_bytes, cudaHostRegisterDefault) == cudaSuccess) {
      guard.registered = out;
      direct = true;
    } else {
      cudaGetLastError();  // e.g. not permitted here: staged copies still work
    }
  }

  const size_t buffers = batches > 1 ? 2 : 1;
  for (size_t k = 0; k < buffers; ++k) {
    if (!check(ctx.images[k].reserve(batch * image_bytes), "cudaMalloc(images)")) return run;
    if (!direct && !check(ctx.stage[k].reserve(batch * image_bytes), "cudaMallocHost(staging)"))
      return run;
  }
  if (!check(ctx.bad_host.reserve(2 * sizeof(unsigned long long)), "cudaMallocHost(flag)"))
    return run;
  auto* bad_seen = static_cast<unsigned long long*>(ctx.bad_host.ptr);
  bad_seen[0] = bad_seen[1] = kNoBadWindow;

  // Batch b runs on stream b % 2. Before reusing a stream's buffers, drain() waits for its
  // previous batch and copies that batch out of staging, while the other stream keeps working.
  constexpr size_t kNone = ~size_t{0};
  size_t pending[2] = {kNone, kNone};
  bool stop = false;  // a batch had a window not drawn: later windows cannot be the lowest
  auto drain = [&](int k) {
    if (pending[k] == kNone) return true;
    if (!check(cudaStreamSynchronize(ctx.streams[k]), "rasterize batch")) return false;
    const size_t b = pending[k];
    if (!direct)
      copy_out(static_cast<uint8_t*>(out) + b * batch * image_bytes, ctx.stage[k].ptr,
               std::min(batch, count - b * batch) * image_bytes);
    if (bad_seen[k] != kNoBadWindow) stop = true;
    pending[k] = kNone;
    return true;
  };

  for (size_t b = 0; b < batches && !stop; ++b) {
    if (cancel && cancel->load(std::memory_order_relaxed)) {
      run.status = BatchRun::kCancelled;
      return run;  // the guard waits for the work in flight
    }
    const int k = static_cast<int>(b & 1);
    if (!drain(k)) return run;
    if (stop) break;
    const size_t first_window = b * batch;
    const size_t n = std::min(batch, count - first_window);
    cudaStream_t s = ctx.streams[k];
    if (!check(launch_batch(first_window, n, ctx.images[k].ptr, k, s), "launch rasterize kernel"))
      return run;
    void* dst = direct ? static_cast<uint8_t*>(out) + first_window * image_bytes : ctx.stage[k].ptr;
    if (!check(cudaMemcpyAsync(dst, ctx.images[k].ptr, n * image_bytes, cudaMemcpyDeviceToHost, s),
               "copy images to host") ||
        !check(cudaMemcpyAsync(&bad_seen[k], device_first_bad, sizeof(unsigned long long),
                               cudaMemcpyDeviceToHost, s),
               "copy flag to host"))
      return run;
    pending[k] = b;
  }
  if (!drain(0) || !drain(1)) return run;

  // Both streams are idle: this read sees every launch's atomicMin.
  if (!check(cudaMemcpyAsync(&bad_seen[0], device_first_bad, sizeof(unsigned long long),
                             cudaMemcpyDeviceToHost, ctx.streams[0]),
             "copy flag to host") ||
      !check(cudaStreamSynchronize(ctx.streams[0]), "copy flag to host"))
    return run;
  run.first_bad = bad_seen[0];
  return run;
}

// Opens the device and streams for a call; false (with `error`) when that fails.
bool open_call(Context& ctx, CallGuard& guard, const DeviceInfo& dev, std::string* error) {
  cudaError_t e = cudaSetDevice(dev.device);
  const char* what = "cudaSetDevice";
  if (e == cudaSuccess) {
    e = ctx.open();
    what = "create streams";
  }
  if (e == cudaSuccess) return true;
  cudaGetLastError();
  guard.failed = true;
  *error = describe(e, what);
  return false;
}

}  // namespace

RasterOutcome rasterize_cuda(const CandleColumns& c, const WindowList& windows, ImageShape shape,
                             PixelType type, void* out, const std::atomic<bool>* cancel,
                             const CudaOptions& options) {
  RasterOutcome outcome = check_raster_arguments(c, windows, shape);
  if (outcome.status != RasterOutcome::kOk || windows.count == 0) return outcome;
  auto fail = [&outcome](std::string msg) {
    outcome.status = RasterOutcome::kBadArgument;
    outcome.message = std::move(msg);
    return outcome;
  };
  const DeviceInfo& dev = probe();
  if (!dev.available) return fail("CUDA device not available: " + dev.reason);
  if (cancel && cancel->load(std::memory_order_relaxed)) {
    outcome.status = RasterOutcome::kCancelled;
    return outcome;
  }

  Context& ctx = context();
  std::lock_guard<std::mutex> lock(ctx.mutex);
  std::vector<int64_t> rebased;  // outlives the guard's stream synchronization
  CallGuard guard(ctx);
  std::string error;
  if (!open_call(ctx, guard, dev, &error)) return fail(error);
  Uploaded up;
  const char* what = "";
  const double* fields[4] = {c.open, c.high, c.low, c.close};
  cudaError_t e = upload_inputs(ctx, fields, 4, windows, shape.seq_len, 0, rebased, &up, &what);
  if (e != cudaSuccess) {
    cudaGetLastError();
    guard.failed = true;
    return fail(describe(e, what));
  }
  const KernelArgs args = raster_args(up, shape);
  const BatchRun run = run_batches(
      ctx, guard, windows.count, shape.pixels() * pixel_bytes(type), out, cancel, options, up.first_bad,
      nullptr, [&](size_t first_window, size_t n, void* images, int, cudaStream_t s) {
        KernelArgs a = args;
        if (a.starts) a.starts += first_window;
        else a.first += static_cast<int64_t>(first_window) * windows.stride;
        a.window_offset = first_window;
        a.out = images;
        return launch(a, n, type, s);
      });
  if (run.status == BatchRun::kFailed) return fail(run.error);
  if (run.status == BatchRun::kCancelled) {
    outcome.status = RasterOutcome::kCancelled;
    return outcome;
  }
  if (run.first_bad < windows.count) {
    outcome.status = RasterOutcome::kInvalidPrice;
    outcome.window = static_cast<size_t>(run.first_bad);
    double lo, hi;  // the candle and field, found on the host exactly as rasterize_cpu does
    window_range(c, windows.start(outcome.window), shape.seq_len, &lo, &hi, &outcome.bad);
  }
  return outcome;
}

JkxOutcome rasterize_jkx_cuda(const JkxColumns& c, const WindowList& windows, const uint8_t* ma_ok,
                              JkxShape shape, PixelType type, void* out,
                              const std::atomic<bool>* cancel, const CudaOptions& options) {
  JkxOutcome outcome = check_jkx_arguments(c, windows, shape);
  if (outcome.status != JkxOutcome::kOk || windows.count == 0) return outcome;
  auto fail = [&outcome](std::string msg) {
    outcome.status = JkxOutcome::kBadArgument;
    outcome.message = std::move(msg);
    return outcome;
  };
  const DeviceInfo& dev = probe();
  if (!dev.available) return fail("CUDA device not available: " + dev.reason);
  if (cancel && cancel->load(std::memory_order_relaxed)) {
    outcome.status = JkxOutcome::kCancelled;
    return outcome;
  }

  Context& ctx = context();
  std::lock_guard<std::mutex> lock(ctx.mutex);
  std::vector<int64_t> rebased;  // outlives the guard's stream synchronization
  CallGuard guard(ctx);
  std::string error;
  if (!open_call(ctx, guard, dev, &error)) return fail(error);
  auto failed = [&](cudaError_t e, const char* what) {
    cudaGetLastError();
    guard.failed = true;
    return fail(describe(e, what));
  };
  Uploaded up;
  const char* what = "";
  const double* fields[5] = {c.open, c.high, c.low, c.close, c.volume};
  cudaError_t e = upload_inputs(ctx, fields, shape.volume ? 5 : 4, windows, shape.seq_len,
                                shape.history(), rebased, &up, &what);
  if (e != cudaSuccess) return failed(e, what);
  // The history flags go up on streams[0] before the event upload_inputs recorded; the streams
  // are in order, so record it again after them.
  if (ma_ok) {
    if ((e = ctx.ma_ok.reserve(windows.count)) != cudaSuccess) return failed(e, "cudaMalloc(ma_ok)");
    if ((e = cudaMemcpyAsync(ctx.ma_ok.ptr, ma_ok, windows.count, cudaMemcpyHostToDevice, ctx.streams[0])) != cudaSuccess ||
        (e = cudaEventRecord(ctx.uploaded, ctx.streams[0])) != cudaSuccess ||
        (e = cudaStreamWaitEvent(ctx.streams[1], ctx.uploaded, 0)) != cudaSuccess)
      return failed(e, "upload ma_ok");
  }
  JkxKernelArgs args{};
  args.columns = JkxColumns{up.columns[0], up.columns[1], up.columns[2], up.columns[3],
                            shape.volume ? up.columns[4] : nullptr,
                            static_cast<size_t>(start_range(windows).hi - up.offset) + shape.seq_len};
  args.starts = up.starts;
  args.first = up.first;
  args.stride = up.stride;
  args.shape = shape;
  args.first_bad = up.first_bad;
  const size_t image_bytes = shape.pixels() * pixel_bytes(type);
  // Windows too large for shared memory draw in a global workspace, one per stream's batch.
  const bool global = jkx_needs_global_workspace(shape);
  const size_t batch_bytes = options.batch_bytes ? options.batch_bytes : kDefaultBatchBytes;
  const size_t batch = std::min({windows.count, std::max<size_t>(1, batch_bytes / image_bytes), kMaxLaunchWindows});
  if (global)
    for (auto& ws : ctx.workspace)
      if ((e = ws.reserve(batch * jkx_workspace_bytes(shape))) != cudaSuccess) return failed(e, "cudaMalloc(workspace)");
  const uint8_t* device_ma_ok = ma_ok ? static_cast<const uint8_t*>(ctx.ma_ok.ptr) : nullptr;
  const BatchRun run = run_batches(
      ctx, guard, windows.count, image_bytes, out, cancel, options, up.first_bad, nullptr,
      [&](size_t first_window, size_t n, void* images, int k, cudaStream_t s) {
        JkxKernelArgs a = args;
        if (a.starts) a.starts += first_window;
        else a.first += static_cast<int64_t>(first_window) * windows.stride;
        a.ma_ok = device_ma_ok ? device_ma_ok + first_window : nullptr;
        a.window_offset = first_window;
        a.out = images;
        a.workspace = global ? ctx.workspace[k].ptr : nullptr;
        return launch_jkx(a, n, type, s);
      });
  if (run.status == BatchRun::kFailed) return fail(run.error);
  if (run.status == BatchRun::kCancelled) {
    outcome.status = JkxOutcome::kCancelled;
    return outcome;
  }
  // The reason and the culprit, found on the host by the function the CPU draws with.
  if (run.first_bad < windows.count) return jkx_not_drawn(c, windows, ma_ok, shape, static_cast<size_t>(run.first_bad));
  return outcome;
}

JkxOutcome rasterize_jkx_cuda(const JkxColumns& c, const WindowList& windows, const uint8_t* ma_ok,
                              JkxShape shape, PixelType type, void* out,
                              const std::atomic<bool>* cancel) {
  return rasterize_jkx_cuda(c, windows, ma_ok, shape, type, out, cancel, CudaOptions{});
}

RasterOutcome rasterize_cuda(const CandleColumns& c, const WindowList& windows, ImageShape shape,
                             PixelType type, void* out, const std::atomic<bool>* cancel) {
  return rasterize_cuda(c, windows, shape, type, out, cancel, CudaOptions{});
}

DeviceBenchmark benchmark_device(const CandleColumns& c, const WindowList& windows,
                                 ImageShape shape, PixelType type, int repeats) {
  DeviceBenchmark r;
  const RasterOutcome args_ok = check_raster_arguments(c, windows, shape);
  if (args_ok.status != RasterOutcome::kOk) {
    r.error = args_ok.message;
    return r;
  }
  if (windows.count == 0 || windows.count > kMaxLaunchWindows || repeats < 1) {
    r.error = "benchmark_device needs 1..2^30 windows and repeats >= 1";
    return r;
  }
  const DeviceInfo& dev = probe();
  if (!dev.available) {
    r.error = "CUDA device not available: " + dev.reason;
    return r;
  }
  const size_t image_bytes = shape.pixels() * pixel_bytes(type);

  Context& ctx = context();
  std::lock_guard<std::mutex> lock(ctx.mutex);
  std::vector<int64_t> rebased;
  void* d_out = nullptr;  // sized for this run only, not cached
  cudaEvent_t events[2] = {nullptr, nullptr};
  struct Cleanup {
    void*& d_out;
    cudaEvent_t* events;
    ~Cleanup() {
      if (d_out) cudaFree(d_out);
      for (int i = 0; i < 2; ++i)
        if (events[i]) cudaEventDestroy(events[i]);
    }
  };
  Cleanup cleanup{d_out, events};
  CallGuard guard(ctx);  // destroyed first: the stream is idle when d_out is freed
  auto check = [&](cudaError_t e, const char* what) {
    if (e == cudaSuccess) return true;
    cudaGetLastError();
    guard.failed = true;
    r.error = describe(e, what);
    return false;
  };
  if (!check(cudaSetDevice(dev.device), "cudaSetDevice") || !check(ctx.open(), "create streams"))
    return r;
  Uploaded up;
  const char* what = "";
  const double* fields[4] = {c.open, c.high, c.low, c.close};
  if (!check(upload_inputs(ctx, fields, 4, windows, shape.seq_len, 0, rebased, &up, &what), what)) return r;
  KernelArgs args = raster_args(up, shape);
  args.window_offset = 0;
  if (!check(cudaMalloc(&d_out, windows.count * image_bytes), "cudaMalloc(images)") ||
      !check(cudaEventCreate(&events[0]), "cudaEventCreate") ||
      !check(cudaEventCreate(&events[1]), "cudaEventCreate"))
    return r;
  args.out = d_out;
  cudaStream_t s = ctx.streams[0];
  if (!check(launch(args, windows.count, type, s), "launch rasterize kernel") ||  // warm-up
      !check(cudaEventRecord(events[0], s), "cudaEventRecord"))
    return r;
  for (int i = 0; i < repeats; ++i)
    if (!check(launch(args, windows.count, type, s), "launch rasterize kernel")) return r;
  unsigned long long first_bad = 0;
  float ms = 0;
  if (!check(cudaEventRecord(events[1], s), "cudaEventRecord") ||
      !check(cudaEventSynchronize(events[1]), "rasterize kernel") ||
      !check(cudaEventElapsedTime(&ms, events[0], events[1]), "cudaEventElapsedTime") ||
      !check(cudaMemcpy(&first_bad, args.first_bad, sizeof first_bad, cudaMemcpyDeviceToHost),
             "copy flag to host"))
    return r;
  if (first_bad != kNoBadWindow) {
    r.error = "window " + std::to_string(first_bad) + " has an invalid price";
    return r;
  }
  r.ok = true;
  r.images = windows.count;
  r.launches = repeats;
  r.seconds = ms / 1e3;
  const double n = static_cast<double>(windows.count) * repeats;
  r.images_per_second = r.seconds > 0 ? n / r.seconds : 0;
  r.bytes_per_second = r.images_per_second * static_cast<double>(image_bytes);
  return r;
}

void* alloc_pinned(size_t bytes) {
  if (!probe().available || bytes == 0) return nullptr;
  void* p = nullptr;
  if (cudaMallocHost(&p, bytes) != cudaSuccess) {
    cudaGetLastError();
    return nullptr;
  }
  return p;
}

void free_pinned(void* p) {
  if (p) cudaFreeHost(p);
}

void release_resources() {
  if (!probe().available) return;
  Context& ctx = context();
  std::lock_guard<std::mutex> lock(ctx.mutex);
  ctx.release();
}

}  // namespace ohlc::cuda
