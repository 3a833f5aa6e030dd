// JPEG through libjpeg(-turbo): 8-bit grayscale pictures of 0/1 images (0 -> 0, 1 -> 255), and
// decoding back. libjpeg's default error handler calls exit(); both functions install one that
// returns an error instead, so a corrupt file can never take the process down.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/raster.hpp"

namespace ohlc::jpeg {

// Encodes a 0/1 image (uint8 or float32) at `quality`; false (with `error`) on failure, including
// a pixel that is neither 0 nor 1.
bool encode_binary(const void* pixels, PixelType type, uint32_t height, uint32_t width, int quality,
                   std::vector<uint8_t>& gray, std::vector<uint8_t>& out, std::string* error);

// Decodes any JPEG to 8-bit grayscale; false (with `error`) when it is not a valid JPEG.
bool decode_gray(const uint8_t* data, size_t size, std::vector<uint8_t>& gray, uint32_t* height,
                 uint32_t* width, std::string* error);

}  // namespace ohlc::jpeg
