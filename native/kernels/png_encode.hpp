// PNG writer for 0/1 images: 1-bit grayscale (white = 1, black = 0, exactly the stored values),
// lossless, with the IDAT stream from the row-delta deflate encoder or libdeflate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/deflate/ink_changes.hpp"
#include "kernels/deflate/row_deflate.hpp"
#include "kernels/raster.hpp"

struct libdeflate_compressor;

namespace ohlc::png {

// Scratch a caller reuses from image to image (one per thread).
struct PngScratch {
  std::vector<uint8_t> scanlines;
  std::vector<uint8_t> idat;
  deflate::Encoder rows;
};

// Encodes `height` x `width` pixels (uint8 0/1 or float32 0.0/1.0) as a PNG file in `out`.
// The IDAT stream comes from the row-delta encoder, or from `compressor` (libdeflate) when one is
// given. Returns false (out untouched) when a pixel is neither 0 nor 1: such images have no
// faithful 1-bit form.
bool encode_binary(const void* pixels, PixelType type, uint32_t height, uint32_t width,
                   libdeflate_compressor* compressor, PngScratch& scratch, std::vector<uint8_t>& out);

// The same file for an image given by its ink changes (deflate::InkChanges, e.g.
// GeometryEncoder::changes() after set_bars): the 1-bit scanlines are packed straight from the
// changes, one row from the row above, without an 8-bit image; the bytes are exactly those
// encode_binary writes for the drawn image.
void encode_binary_changes(const deflate::InkChanges& changes, libdeflate_compressor* compressor,
                           PngScratch& scratch, std::vector<uint8_t>& out);

}  // namespace ohlc::png
