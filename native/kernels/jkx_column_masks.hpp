// Drawing a small jkx image through one bit mask of ink rows per column (CPU only).
//
// At the paper's 5 x 32 an image is 480 pixels and drawing it pixel by pixel costs more than its
// geometry: every high-low line, volume bar and moving-average segment is a loop of a few
// stores whose length the branch predictor cannot know. Here every line becomes a mask, built
// without loops or branches, and the image is then written out row by row, 16 pixels per SIMD
// step; the background costs nothing extra. The pixels are those of jkx_draw_bar
// (docs/IMAGE-JKX.md), which draws everything else.
#pragma once

#include <cstdint>

#include "kernels/jkx_math.hpp"

namespace ohlc {

// The images drawn this way: uint8, at most kJkxMaskRows rows (one bit each) and
// kJkxMaskColumns columns (the masks live on the stack).
constexpr uint32_t kJkxMaskRows = 64;
constexpr uint32_t kJkxMaskColumns = 192;  // seqLen <= 64
inline bool jkx_fits_column_masks(JkxShape shape) {
  return shape.height <= kJkxMaskRows && shape.width() <= kJkxMaskColumns;
}

// Bit r of masks[c] set: pixel (row r from the top, column c) is ink. `masks` holds
// kJkxMaskColumns entries; those past the width are set to 0 (jkx_write_mask_rows reads them).
void jkx_column_masks(const JkxBar* bars, bool ma_drawn, JkxShape shape, uint64_t* masks);

// The pixels jkx_ma_segment plots from (x0, y0) to (x0 + 3, y1), ORed into the masks (`top`: the
// image row of price row 0); see jkx_ma_segment_column (kernels/jkx_math.hpp).
void jkx_ma_segment_masks(int32_t x0, int32_t y0, int32_t y1, int32_t top, uint64_t* masks);

// Writes the H x W uint8 image of such masks (ink 255, background 0), row-major.
void jkx_write_mask_rows(const uint64_t* masks, uint32_t width, uint32_t height, uint8_t* out);

}  // namespace ohlc
