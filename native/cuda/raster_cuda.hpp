// GPU backend of the rasterizer, as the addon uses it (the Rasterizer in kernels/rasterizer.hpp).
// Built from raster_cuda.cu where CMake finds a CUDA compiler, else from cuda_stub.cpp, which
// reports the backend as unavailable. Entry points only tools use are in cuda_tools.hpp.
#pragma once

#include <atomic>
#include <cstddef>
#include <string>

#include "kernels/raster.hpp"
#include "kernels/raster_jkx.hpp"

namespace ohlc::cuda {

struct DeviceInfo {
  bool compiled = false;   // the addon was built with CUDA
  bool available = false;  // a usable device answered at start-up
  int device = -1;
  std::string name;        // e.g. "NVIDIA H100 80GB HBM3"
  std::string reason;      // why not available
  size_t memory_bytes = 0;
  int multiprocessors = 0;
  int compute_major = 0;
  int compute_minor = 0;
};

// Probes the driver and device once per process (cheap afterwards). Never throws. A device is
// "available" only when the kernels have an image for it (checked, not assumed).
const DeviceInfo& probe();

// Rasterizes on the GPU into host memory `out`, with the same contract as rasterize_cpu: same
// pixels, the lowest invalid window with the same candle/field/value, kCancelled when `cancel`
// is seen between batches. Returns kBadArgument with a message when the device fails.
// Thread-safe: concurrent calls share one set of cached device resources and run one at a time.
// (cuda_tools.hpp has the same with transfer and batching options, for tools.)
RasterOutcome rasterize_cuda(const CandleColumns& c, const WindowList& windows, ImageShape shape,
                             PixelType type, void* out, const std::atomic<bool>* cancel);

// The jkx layout on the GPU (cuda/jkx_kernel.cuh), with rasterize_jkx_cpu's contract for the
// pixels and the lowest window not drawn (statuses and MA values come from
// Rasterizer::classify on the host, so this call returns images only).
JkxOutcome rasterize_jkx_cuda(const JkxColumns& c, const WindowList& windows, const uint8_t* ma_ok,
                              JkxShape shape, PixelType type, void* out,
                              const std::atomic<bool>* cancel);

}  // namespace ohlc::cuda
