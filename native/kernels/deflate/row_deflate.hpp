// A DEFLATE encoder specialised for images made of rows that mostly repeat the previous row
// (OHLC bar images: uint8 or float32 pixels, background and ink). It emits standard streams
// (RFC 1951, and the zlib / gzip wrappers of RFC 1950 / 1952) that any inflater decodes, for any
// input bytes; only the compression ratio depends on the input looking like such an image.
//
// Each byte is matched against the byte one row earlier (distance row_bytes), so a stretch of
// identical rows costs a handful of bits per 258 bytes. Everything is one pass, no hash tables.
// Reentrant: no shared mutable state; an Encoder keeps scratch buffers for reuse on one thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/deflate/tokens.hpp"

namespace ohlc::deflate {

// Upper bound on what encode_rows appends for `size` input bytes (the stored fallback's size
// plus block and flush overheads); zlib/gzip add 6 / 18 bytes.
size_t encoded_size_bound(size_t size);

class Encoder {
 public:
  Encoder();

  // The short distance tried besides 1 (see tokenize_rows): 4 unless set; 3 for uint8 jkx images.
  void set_period(size_t bytes) { period_ = bytes >= 1 && bytes <= 32768 ? bytes : 4; }

  // Appends raw DEFLATE data encoding `size` bytes laid out as rows of `row_bytes`.
  // `size` need not be a multiple of row_bytes and may be 0; row_bytes = 0 means one row.
  // Rows longer than 32768 bytes (DEFLATE's window) are coded without the row match.
  // final = true: the last block has BFINAL set, the stream is complete.
  // final = false: ends with an empty stored block (a sync flush: byte aligned, BFINAL clear),
  // so independently encoded pieces can be concatenated and closed with finish_stream().
  void encode_rows(const uint8_t* data, size_t size, size_t row_bytes, bool final,
                   std::vector<uint8_t>& out);

  // zlib stream (RFC 1950): header, deflate data, big-endian Adler-32.
  void zlib_encode_rows(const uint8_t* data, size_t size, size_t row_bytes,
                        std::vector<uint8_t>& out);

  // gzip member (RFC 1952): header, deflate data, CRC-32 and size mod 2^32, little-endian.
  void gzip_encode_rows(const uint8_t* data, size_t size, size_t row_bytes,
                        std::vector<uint8_t>& out);

 private:
  std::unique_ptr<uint32_t[]> tokens_;  // uninitialised: a temporary Encoder stays cheap
  BlockStats stats_;
  size_t period_ = 4;
};

// The same through a temporary Encoder (one 64 KiB scratch allocation per call).
void encode_rows(const uint8_t* data, size_t size, size_t row_bytes, bool final,
                 std::vector<uint8_t>& out);
void zlib_encode_rows(const uint8_t* data, size_t size, size_t row_bytes,
                      std::vector<uint8_t>& out);
void gzip_encode_rows(const uint8_t* data, size_t size, size_t row_bytes,
                      std::vector<uint8_t>& out);

// gzip member framing (RFC 1952): the 10-byte header (ID1 ID2, CM deflate, no flags, no mtime,
// `xfl`, OS 255 unknown), and the trailer (CRC-32 and size mod 2^32 of the raw data, little-endian).
inline std::array<uint8_t, 10> gzip_header(uint8_t xfl) { return {0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0, xfl, 0xFF}; }
void append_gzip_trailer(std::vector<uint8_t>& out, uint32_t crc, uint64_t size);

// Appends the bytes that close a stream made of non-final pieces: an empty final block
// (fixed Huffman, 2 bytes), byte aligned.
void finish_stream(std::vector<uint8_t>& out);

}  // namespace ohlc::deflate
