// Chunk encoders shared by the formats: zlib streams (HDF5 deflate filter, Zarr "zlib"), and raw
// deflate pieces that concatenate into one stream (zip members). `level` follows Compression.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/deflate/row_deflate.hpp"
#include "kernels/png_encode.hpp"
#include "storage/layout.hpp"

struct libdeflate_compressor;

namespace ohlc::storage {

// Per-thread state reused across chunks (compressors, a rasterizer scratch image).
class EncodeScratch {
 public:
  EncodeScratch();
  ~EncodeScratch();
  EncodeScratch(const EncodeScratch&) = delete;
  EncodeScratch& operator=(const EncodeScratch&) = delete;
  libdeflate_compressor* compressor(int level);
  std::vector<uint8_t> image;   // a drawn image before encoding
  std::vector<uint8_t> buffer;  // format-specific staging (PNG scanlines, ...)
  std::vector<uint8_t> binary;  // an image mapped onto 0/1 for a picture
  std::vector<uint8_t> staging;  // libdeflate output at its worst-case size, before the exact copy
  deflate::Encoder rows;        // the row-delta encoder's scratch
  png::PngScratch png;          // PNG scanlines and IDAT

 private:
  libdeflate_compressor* compressor_ = nullptr;
  int compressor_level_ = 0;
};

// A complete zlib (RFC 1950) stream. `row_bytes` guides the row-delta encoder.
void encode_zlib(const uint8_t* raw, size_t bytes, size_t row_bytes, int level,
                 EncodeScratch& scratch, std::vector<uint8_t>& out);

// Raw deflate data that ends byte-aligned and non-final, so pieces concatenate; the stream is
// terminated with deflate_terminator(). Level kNone emits stored blocks.
void encode_deflate_piece(const uint8_t* raw, size_t bytes, size_t row_bytes, int level,
                          EncodeScratch& scratch, std::vector<uint8_t>& out);

// One stored chunk of array `a` as HDF5's deflate filter and Zarr's zlib codec expect it: raw
// bytes without compression, else a zlib stream (images through the row-delta encoder or the
// chosen level; other arrays, which have no row structure, at a quick level).
void encode_chunk(const DatasetLayout& layout, ArrayId a, const uint8_t* raw, size_t bytes,
                  EncodeScratch& scratch, std::vector<uint8_t>& out);

// Appends `bytes` of raw data as non-final stored deflate blocks (a piece that starts
// byte-aligned; each block header is then one byte).
void append_stored_blocks(const uint8_t* raw, size_t bytes, std::vector<uint8_t>& out);

// The bytes that end a stream made of pieces: an empty final block.
const std::vector<uint8_t>& deflate_terminator();

// Raw bytes, or a gzip (RFC 1952) member: the chunk encoding of Zarr format 3's "gzip" codec
// (the v3 core codecs have no zlib). The zlib stream of encode_chunk rewrapped: the same deflate
// data under a gzip header, with the CRC-32 and size of the raw bytes as its trailer.
void encode_gzip_chunk(const DatasetLayout& layout, ArrayId a, const uint8_t* raw, size_t bytes,
                       EncodeScratch& scratch, std::vector<uint8_t>& out);

uint32_t crc32_of(const uint8_t* data, size_t bytes, uint32_t crc = 0);
// CRC-32C (Castagnoli), as Zarr's crc32c codec appends it.
uint32_t crc32c_of(const uint8_t* data, size_t bytes);
// CRC-32 of A then B from crc(A), crc(B) and len(B). (Not named crc32_combine: zlib.h may
// #define that name to crc32_combine64 under large-file flags.)
uint32_t crc32_concat(uint32_t crc1, uint32_t crc2, uint64_t len2);

}  // namespace ohlc::storage
