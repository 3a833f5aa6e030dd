// CUDA entry points for the standalone tools (raster_check, benchmarks): transfer modes, batch
// sizes, device-only timing, pinned memory, releasing cached resources. The addon does not use
// these; it includes raster_cuda.hpp only.
#pragma once

#include "cuda/raster_cuda.hpp"

namespace ohlc::cuda {

// How images reach the caller's host memory.
enum class HostTransfer {
  kAuto = 0,      // straight into `out` when it is already page-locked, else kStaged
  kStaged = 1,    // into cached pinned buffers, then parallel memcpy into `out`
  kRegister = 2,  // cudaHostRegister(out) for the call (kStaged if that fails)
};
inline const char* host_transfer_name(HostTransfer t) {
  switch (t) {
    case HostTransfer::kAuto: return "auto";
    case HostTransfer::kStaged: return "staged";
    case HostTransfer::kRegister: return "register";
  }
  return "?";
}

struct CudaOptions {
  HostTransfer transfer = HostTransfer::kAuto;
  // Output bytes per batch (one kernel launch and one copy); 0 = the default (16 MiB). A batch
  // holds at least one image. Tools use small values to exercise batching.
  size_t batch_bytes = 0;
};

// rasterize_cuda with explicit transfer and batching choices.
RasterOutcome rasterize_cuda(const CandleColumns& c, const WindowList& windows, ImageShape shape,
                             PixelType type, void* out, const std::atomic<bool>* cancel,
                             const CudaOptions& options);

// rasterize_jkx_cuda with explicit transfer and batching choices.
JkxOutcome rasterize_jkx_cuda(const JkxColumns& c, const WindowList& windows, const uint8_t* ma_ok,
                              JkxShape shape, PixelType type, void* out,
                              const std::atomic<bool>* cancel, const CudaOptions& options);

// Device-only throughput: draws every window into device memory `repeats` times (one launch
// each, after one untimed warm-up), timed with CUDA events; nothing is copied back.
struct DeviceBenchmark {
  bool ok = false;
  std::string error;       // why not ok (no device, bad argument, CUDA error, invalid price)
  size_t images = 0;       // per launch
  int launches = 0;        // timed launches
  double seconds = 0;      // total kernel time of the timed launches
  double images_per_second = 0;
  double bytes_per_second = 0;  // image bytes written per second
};
DeviceBenchmark benchmark_device(const CandleColumns& c, const WindowList& windows,
                                 ImageShape shape, PixelType type, int repeats);

// Page-locked host memory (cudaMallocHost), for callers that want copies at full PCIe speed
// (kAuto copies straight into it). nullptr when unavailable; free with free_pinned.
void* alloc_pinned(size_t bytes);
void free_pinned(void* p);

// Frees the cached device buffers, pinned staging buffers and streams (the next call makes new
// ones). Optional: the process exit releases them anyway.
void release_resources();

}  // namespace ohlc::cuda
