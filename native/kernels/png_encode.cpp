#include "kernels/png_encode.hpp"

#include <libdeflate.h>

#include <cstring>

#include "kernels/deflate/row_deflate.hpp"

namespace ohlc::png {
namespace {

void put32(std::vector<uint8_t>& out, uint32_t v) {
  out.push_back(static_cast<uint8_t>(v >> 24));
  out.push_back(static_cast<uint8_t>(v >> 16));
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

// Appends a chunk: length, type, data, CRC-32 over type and data.
void chunk(std::vector<uint8_t>& out, const char type[4], const uint8_t* data, size_t size) {
  put32(out, static_cast<uint32_t>(size));
  const size_t at = out.size();
  out.insert(out.end(), type, type + 4);
  if (size) out.insert(out.end(), data, data + size);
  put32(out, libdeflate_crc32(0, out.data() + at, size + 4));
}

template <typename T>
bool pack_rows(const T* px, uint32_t height, uint32_t width, std::vector<uint8_t>& lines) {
  const size_t stride = 1 + (width + 7) / 8;
  lines.assign(stride * height, 0);
  for (uint32_t y = 0; y < height; ++y) {
    uint8_t* line = lines.data() + y * stride;  // line[0] = filter type 0 (None)
    const T* row = px + static_cast<size_t>(y) * width;
    for (uint32_t x = 0; x < width; ++x) {
      const T v = row[x];
      if (v == T(1)) line[1 + x / 8] |= static_cast<uint8_t>(0x80u >> (x % 8));
      else if (v != T(0)) return false;
    }
  }
  return true;
}

// The file around the packed scanlines in scratch.scanlines.
void write_png(uint32_t height, uint32_t width, libdeflate_compressor* compressor,
               PngScratch& scratch, std::vector<uint8_t>& out) {
  const std::vector<uint8_t>& lines = scratch.scanlines;
  const size_t stride = 1 + (width + 7) / 8;

  std::vector<uint8_t>& idat = scratch.idat;
  idat.clear();
  if (!compressor) {
    scratch.rows.zlib_encode_rows(lines.data(), lines.size(), stride, idat);
  } else {
    idat.resize(libdeflate_zlib_compress_bound(compressor, lines.size()));
    idat.resize(libdeflate_zlib_compress(compressor, lines.data(), lines.size(), idat.data(), idat.size()));
  }

  out.clear();
  static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  out.insert(out.end(), signature, signature + 8);
  uint8_t ihdr[13];
  const uint32_t dims[2] = {width, height};
  for (int i = 0; i < 2; ++i)
    for (int b = 0; b < 4; ++b) ihdr[4 * i + b] = static_cast<uint8_t>(dims[i] >> (24 - 8 * b));
  ihdr[8] = 1;   // bit depth
  ihdr[9] = 0;   // grayscale
  ihdr[10] = 0;  // deflate
  ihdr[11] = 0;  // adaptive filtering (each line says None)
  ihdr[12] = 0;  // no interlace
  chunk(out, "IHDR", ihdr, sizeof ihdr);
  chunk(out, "IDAT", idat.data(), idat.size());
  chunk(out, "IEND", nullptr, 0);
}

}  // namespace

bool encode_binary(const void* pixels, PixelType type, uint32_t height, uint32_t width,
                   libdeflate_compressor* compressor, PngScratch& scratch, std::vector<uint8_t>& out) {
  std::vector<uint8_t>& lines = scratch.scanlines;
  const bool ok = type == PixelType::U8
                      ? pack_rows(static_cast<const uint8_t*>(pixels), height, width, lines)
                      : pack_rows(static_cast<const float*>(pixels), height, width, lines);
  if (!ok) return false;
  write_png(height, width, compressor, scratch, out);
  return true;
}

void encode_binary_changes(const deflate::InkChanges& changes, libdeflate_compressor* compressor,
                           PngScratch& scratch, std::vector<uint8_t>& out) {
  const uint32_t width = changes.width(), height = changes.height();
  const size_t stride = 1 + (size_t{width} + 7) / 8;
  std::vector<uint8_t>& lines = scratch.scanlines;
  lines.resize(stride * height);
  // Row 0 before its changes: filter byte 0, every pixel white (bit set), padding bits clear.
  uint8_t* line = lines.data();
  line[0] = 0;
  std::memset(line + 1, 0xFF, width / 8);
  if (width % 8) line[1 + width / 8] = static_cast<uint8_t>(0xFF00u >> (width % 8));
  const deflate::InkChange* ch = changes.changes();
  const size_t n = changes.change_count();
  size_t i = 0;
  for (uint32_t r = 0; r < height; ++r) {
    line = lines.data() + r * stride;
    if (r) std::memcpy(line, line - stride, stride);
    // Every change flips its pixel between white and black.
    for (; i < n && ch[i].row == r; ++i) {
      const uint32_t x = ch[i].column();
      line[1 + x / 8] ^= static_cast<uint8_t>(0x80u >> (x % 8));
    }
  }
  write_png(height, width, compressor, scratch, out);
}

}  // namespace ohlc::png
