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
#include <vector>

#include "kernels/jkx_math.hpp"
#include "kernels/raster.hpp"

namespace ohlc {

namespace deflate {
class GeometryEncoder;
}

enum class Device : int32_t { kCpu = 0, kCuda = 1 };

// The image rules: IMAGE.md's 4-pixel bars, or the paper's layout (IMAGE-JKX.md).
enum class Layout : int32_t { kOhlc4px = 0, kJkx = 1 };

// What became of a window: drawable, or why not. The default layout only ever reports
// kInvalidPrice; the jkx layout's reasons are its kernel's own (kernels/jkx_math.hpp).
using WindowStatus = JkxStatus;

// What every image of a rasterizer looks like.
struct RasterSpec {
  Layout layout = Layout::kOhlc4px;
  ImageShape shape;  // shape.bar_width matches the layout (make_spec sets it)
  PixelType pixel = PixelType::U8;
  bool volume = false;  // jkx: the volume strip
  uint32_t ma = 0;      // jkx: moving-average length k (0: no line)
  size_t image_bytes() const { return shape.pixels() * pixel_bytes(pixel); }
  JkxShape jkx() const { return JkxShape{shape.seq_len, shape.height, volume, ma}; }
  // Candles a window needs before its first: the moving average's history.
  uint32_t history() const { return layout == Layout::kJkx ? jkx().history() : 0; }
};

// A spec with the bar width of its layout.
RasterSpec make_spec(Layout layout, uint32_t seq_len, uint32_t height, PixelType pixel,
                     bool volume = false, uint32_t ma = 0);

// Windows of candles to draw. `window_base` is added to window numbers in errors (the caller
// handed over a part of its own list). `ma_ok` (jkx, nullable = all): per window, nonzero when
// the ma - 1 candles before it are there with no gap, so its moving-average line can be drawn.
// `ma_values` (jkx, nullable) redraws stored images: per window seq_len MA values, as a dataset's
// `ma` array holds them, drawn instead of averaging the history (CPU only).
struct WindowBatch {
  CandleColumns candles;
  WindowList windows;
  size_t window_base = 0;
  const uint8_t* ma_ok = nullptr;
  const double* ma_values = nullptr;
};

// The compressed form in which a format stores one image as it is handed over: a complete zlib
// stream (HDF5's deflate filter, Zarr 2's zlib codec), a raw deflate piece that concatenates
// with others (a ZIP member's data, closed by the sink), or a gzip member (Zarr 3's gzip codec).
enum class ImageStream : int32_t { kNone = 0, kZlib = 1, kDeflatePiece = 2, kGzip = 3 };

// A window cannot be drawn: a price that is not finite and > 0 (both layouts), or in the jkx
// layout a bad volume, a flat window or an overflow. `window` counts from the caller's first.
class InvalidWindowError : public std::runtime_error {
 public:
  InvalidWindowError(size_t window, int64_t start, uint32_t seq_len, BadPrice bad);
  InvalidWindowError(size_t window, int64_t start, uint32_t seq_len, WindowStatus reason,
                     BadPrice bad);
  size_t window;
  int64_t start;
  uint32_t seq_len;
  WindowStatus reason = WindowStatus::kInvalidPrice;
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

  // Window i of `batch` as a compressed image in `out` (replaced), without drawing a pixel: the
  // images of both layouts are two-level, and the geometry encoder
  // (kernels/deflate/geometry_encoder.hpp) writes them straight from their bar rows (default) or
  // ink runs (jkx, kernels/jkx_ink_runs.hpp). Those are computed on the calling thread by the
  // kernels' own functions, whatever the device, so the stream is the same on every device; the
  // decompressed bytes are the pixels draw_one would give. Returns the CRC-32 of those bytes for kDeflatePiece, 0 for kZlib.
  // Throws InvalidWindowError, or RasterError for ImageStream::kNone.
  uint32_t encode_one(const WindowBatch& batch, size_t i, ImageStream stream,
                      deflate::GeometryEncoder& encoder, std::vector<uint8_t>& out) const;

  // Without drawing: what becomes of windows [first, first + count) (status, nullable) and, for
  // a layout with a moving-average line, the values it is drawn from (ma_rows, nullable: count
  // rows of seq_len doubles, NaN where no line is drawn). The same for every device (computed on
  // the host by the kernels' own functions), so a caller can skip undrawable windows before
  // drawing, and a writer can store the MA values of the windows it draws.
  void classify(const WindowBatch& batch, size_t first, size_t count, WindowStatus* status,
                double* ma_rows, int threads) const;

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
