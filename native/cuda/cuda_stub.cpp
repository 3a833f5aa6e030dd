// Stand-in for raster_cuda.cu in builds without a CUDA compiler.
#include "cuda/raster_cuda.hpp"

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
                             void*, const std::atomic<bool>*) {
  RasterOutcome r;
  r.status = RasterOutcome::kBadArgument;
  r.message = probe().reason;
  return r;
}

}  // namespace ohlc::cuda
