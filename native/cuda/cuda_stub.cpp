// Stand-in for raster_cuda.cu in builds without a CUDA compiler: the backend reports itself as
// unavailable and every entry point fails with that reason.
#include "cuda/cuda_tools.hpp"

namespace ohlc::cuda {

const DeviceInfo& probe() {
  static const DeviceInfo info = [] {
    DeviceInfo d;
    d.reason = "the addon was built without CUDA (no CUDA compiler found, or OHLC_WITH_CUDA=OFF)";
    return d;
  }();
  return info;
}

RasterOutcome rasterize_cuda(const CandleColumns&, const WindowList&, ImageShape, PixelType,
                             void*, const std::atomic<bool>*, const CudaOptions&) {
  RasterOutcome r;
  r.status = RasterOutcome::kBadArgument;
  r.message = "CUDA device not available: " + probe().reason;
  return r;
}

RasterOutcome rasterize_cuda(const CandleColumns& c, const WindowList& windows, ImageShape shape,
                             PixelType type, void* out, const std::atomic<bool>* cancel) {
  return rasterize_cuda(c, windows, shape, type, out, cancel, CudaOptions{});
}

JkxOutcome rasterize_jkx_cuda(const JkxColumns&, const WindowList&, const uint8_t*, JkxShape,
                              PixelType, void*, const std::atomic<bool>*, const CudaOptions&) {
  JkxOutcome r;
  r.status = JkxOutcome::kBadArgument;
  r.message = "CUDA device not available: " + probe().reason;
  return r;
}

JkxOutcome rasterize_jkx_cuda(const JkxColumns& c, const WindowList& windows, const uint8_t* ma_ok,
                              JkxShape shape, PixelType type, void* out,
                              const std::atomic<bool>* cancel) {
  return rasterize_jkx_cuda(c, windows, ma_ok, shape, type, out, cancel, CudaOptions{});
}

DeviceBenchmark benchmark_device(const CandleColumns&, const WindowList&, ImageShape, PixelType,
                                 int) {
  DeviceBenchmark r;
  r.error = "CUDA device not available: " + probe().reason;
  return r;
}

void* alloc_pinned(size_t) { return nullptr; }
void free_pinned(void*) {}
void release_resources() {}

}  // namespace ohlc::cuda
