// CPU rasterizer of the `jkx` layout (docs/IMAGE-JKX.md): windows of candles -> chart images as
// Jiang, Kelly & Xiu (2023) draw them. Plain C++ with OpenMP, like kernels/raster.hpp; the pixel
// rule itself is kernels/jkx_math.hpp, shared with the CUDA kernel (cuda/jkx_kernel.cuh).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/jkx_math.hpp"
#include "kernels/raster.hpp"  // PixelType, WindowList, BadPrice, CandleColumns

namespace ohlc {

const char* jkx_status_name(JkxStatus s);  // "ok", "invalid_price", "invalid_volume", "flat", "overflow"
const char* jkx_field_name(int32_t field);  // price fields, "volume", "moving average"

// "window 3 (candles 3..22): candle 1 has close = NaN; prices must be finite and > 0"
// (and the like for volumes, flat windows and overflows). `bad` is ignored for kFlat.
std::string describe_jkx_window(size_t window, int64_t start, uint32_t seq_len, JkxStatus why,
                                const BadPrice& bad);

// Draws one window from its geometry (jkx_window_geometry() returned kOk) into `out`
// (shape.pixels() elements of `type`, row-major, row 0 at the top): background 0, ink 255
// (uint8) or 1.0f (float32).
void draw_jkx_window(const JkxBar* bars, bool ma_drawn, JkxShape shape, PixelType type, void* out);

struct JkxOutcome {
  enum Status { kOk = 0, kNotDrawn = 1, kCancelled = 2, kBadArgument = 3 };
  Status status = kOk;
  // kNotDrawn: the lowest window that could not be drawn, why, and (invalid price or volume, or
  // overflow) the offending candle, field and value. `message` describes it in words.
  size_t window = 0;
  JkxStatus reason = JkxStatus::kOk;
  BadPrice bad;
  // Windows not drawn: all of them when per-window statuses were asked for, else at least 1.
  size_t not_drawn = 0;
  std::string message;  // kBadArgument, kNotDrawn
};

// Checks what the kernels rely on: L >= 2, H >= 2 (>= 5 with the volume strip, so that it has a
// row), sizes, the columns (volume when the strip is on), every window inside the columns. kOk or
// kBadArgument. The k - 1 history candles need not exist: a window without them has no line.
JkxOutcome check_jkx_arguments(const JkxColumns& c, const WindowList& windows, JkxShape shape);

// Window w of `windows` as the lowest window not drawn: kNotDrawn with its reason, the offending
// input and the message (kOk when it is drawable after all). For backends that only learn which
// window failed (the GPU): the details come from the same function the CPU draws with.
JkxOutcome jkx_not_drawn(const JkxColumns& c, const WindowList& windows, const uint8_t* ma_ok,
                         JkxShape shape, size_t w);

// Rasterizes every window into `out` (windows.count * shape.pixels() elements of `type`).
//   ma_ok:      per window, nonzero when the k - 1 candles before it are there with no gap
//               (nullable: all are); the line is drawn when shape.ma > 0, ma_ok and start >= k-1.
//   threads:    <= 0 means all available; `cancel`, when given, is polled between windows.
//   ma_values:  nullable; windows.count * L doubles, the MA values of each drawn window (NaN
//               where the line is not drawn).
//   statuses:   nullable; windows.count JkxStatus values. When given, every window is processed
//               and a window that cannot be drawn is left as background (its MA values NaN), so
//               the caller can skip and count them; the outcome still names the lowest one. When
//               null, the call stops at the lowest such window: windows before it are drawn,
//               those after it are unspecified (as rasterize_cpu does).
JkxOutcome rasterize_jkx_cpu(const JkxColumns& c, const WindowList& windows, const uint8_t* ma_ok,
                             JkxShape shape, PixelType type, void* out, int threads,
                             const std::atomic<bool>* cancel, double* ma_values = nullptr,
                             JkxStatus* statuses = nullptr);

}  // namespace ohlc
