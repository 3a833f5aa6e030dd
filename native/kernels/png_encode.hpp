// PNG writer for 0/1 images: 1-bit grayscale (white = 1, black = 0, exactly the stored values),
// lossless, with the IDAT stream from the row-delta deflate encoder or libdeflate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/raster.hpp"

namespace ohlc::png {

// Encodes `height` x `width` pixels (uint8 0/1 or float32 0.0/1.0) as a PNG file in `out`.
// `level` -1 uses the row-delta encoder, 1..12 libdeflate. Returns false (out untouched)
// when a pixel is neither 0 nor 1: such images have no faithful 1-bit form.
bool encode_binary(const void* pixels, PixelType type, uint32_t height, uint32_t width, int level,
                   std::vector<uint8_t>& scanlines, std::vector<uint8_t>& out);

}  // namespace ohlc::png
