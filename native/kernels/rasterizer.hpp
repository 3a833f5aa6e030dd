// Drawing has one home: a Rasterizer turns windows of candles into images, whatever the device
// (CPU/OpenMP or CUDA) behind it. It is chosen once (make_rasterizer) and used the same way by
// rasterize() and by the dataset writer, which is opened with one.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "kernels/raster.hpp"

namespace ohlc {

enum class Device : int32_t { kCpu = 0, kCuda = 1 };

// What every image of a rasterizer looks like.
struct RasterSpec {
  ImageShape shape;
  PixelType pixel = PixelType::U8;
  size_t image_bytes() const { return shape.pixels() * pixel_bytes(pixel); }
};

// Windows of candles to draw. `window_base` is added to window numbers in errors (the caller
// handed over a part of its own list).
struct WindowBatch {
  CandleColumns candles;
  WindowList windows;
  size_t window_base = 0;
};

// A window holds a price that is not finite and > 0; `window` counts from the caller's first.
class InvalidWindowError : public std::runtime_error {
 public:
  InvalidWindowError(size_t window, int64_t start, uint32_t seq_len, BadPrice bad);
  size_t window;
  int64_t start;
  uint32_t seq_len;
  BadPrice bad;
};

// The work was cancelled through its flag.
class CancelledError : public std::runtime_error {
 public:
  CancelledError() : std::runtime_error("The operation was aborted") {}
};

// The device failed, or the caller broke a precondition the kernels check.
class RasterError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Rasterizer {
 public:
  virtual ~Rasterizer() = default;
  const RasterSpec& spec() const { return spec_; }

  // Draws windows [first, first + count) of `batch` into `out` (count images, in order). Throws
  // InvalidWindowError for the lowest invalid window, CancelledError, or RasterError.
  virtual void draw(const WindowBatch& batch, size_t first, size_t count, void* out,
                    const std::atomic<bool>* cancel) const = 0;

  // True where draw_one works: a CPU backend draws an image on the calling thread, so a writer
  // can encode each image while it is still in that core's cache.
  virtual bool draws_one_at_a_time() const { return false; }
  // Draws window i of `batch` into `out`, on the calling thread; throws InvalidWindowError.
  virtual void draw_one(const WindowBatch& batch, size_t i, void* out) const;

 protected:
  explicit Rasterizer(RasterSpec spec) : spec_(spec) {}
  RasterSpec spec_;
};

// The rasterizer for a device: kCpu uses `threads` (0 = all); kCuda needs a usable GPU (throws
// RasterError naming why not).
std::unique_ptr<Rasterizer> make_rasterizer(const RasterSpec& spec, Device device, int threads);

// Throws the exception matching a failed outcome of the kernels (nothing for kOk). `first` is
// the batch position the outcome's window counts from.
void throw_if_failed(const RasterOutcome& outcome, const WindowBatch& batch, size_t first,
                     uint32_t seq_len);

}  // namespace ohlc
