#include "kernels/deflate/row_deflate.hpp"

#include <libdeflate.h>

#include "kernels/deflate/bit_writer.hpp"
#include "kernels/deflate/block_writer.hpp"
#include "kernels/deflate/row_tokenizer.hpp"

namespace ohlc::deflate {

namespace {

// Tokens per block. 16K keeps the scratch at 64 KiB (under malloc's mmap threshold, so a
// temporary Encoder is cheap) while a dynamic header (~60-100 bytes) stays negligible:
// a 500x400 bar image needs only a few thousand tokens.
constexpr size_t kBlockTokens = 16384;

void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

void put_le32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

}  // namespace

size_t encoded_size_bound(size_t size) {
  // Each block is at most its stored form; blocks other than the last cover >= kBlockTokens bytes.
  return size + size / 1024 + 64;
}

Encoder::Encoder() : tokens_(new uint32_t[kBlockTokens]), stats_{} {}

void Encoder::encode_rows(const uint8_t* data, size_t size, size_t row_bytes, bool final,
                          std::vector<uint8_t>& out) {
  const size_t row_distance = (row_bytes >= 1 && row_bytes <= kMaxDistance) ? row_bytes : 0;
  BitWriter writer(out);
  size_t pos = 0;
  if (size == 0 && final) {
    size_t count = 0;
    tokenize_rows(data, 0, 0, 0, period_, tokens_.get(), kBlockTokens, &count, stats_);
    write_block(tokens_.get(), 0, stats_, data, 0, true, writer);
  }
  while (pos < size) {
    const size_t start = pos;
    size_t count = 0;
    pos = tokenize_rows(data, pos, size, row_distance, period_, tokens_.get(), kBlockTokens, &count,
                        stats_);
    write_block(tokens_.get(), count, stats_, data + start, pos - start, final && pos == size,
                writer);
  }
  if (!final) write_sync_flush(writer);
  writer.finish();
}

void Encoder::zlib_encode_rows(const uint8_t* data, size_t size, size_t row_bytes,
                               std::vector<uint8_t>& out) {
  // CMF 0x78: deflate with a 32 KiB window; FLG 0x01: "fastest" level, check bits for 31.
  out.push_back(0x78);
  out.push_back(0x01);
  encode_rows(data, size, row_bytes, true, out);
  put_be32(out, size ? libdeflate_adler32(1, data, size) : 1);
}

void Encoder::gzip_encode_rows(const uint8_t* data, size_t size, size_t row_bytes,
                               std::vector<uint8_t>& out) {
  const auto header = gzip_header(4);  // XFL 4: fastest
  out.insert(out.end(), header.begin(), header.end());
  encode_rows(data, size, row_bytes, true, out);
  append_gzip_trailer(out, size ? libdeflate_crc32(0, data, size) : 0, size);
}

void append_gzip_trailer(std::vector<uint8_t>& out, uint32_t crc, uint64_t size) {
  put_le32(out, crc);
  put_le32(out, static_cast<uint32_t>(size));  // ISIZE: the size modulo 2^32
}

void encode_rows(const uint8_t* data, size_t size, size_t row_bytes, bool final,
                 std::vector<uint8_t>& out) {
  Encoder().encode_rows(data, size, row_bytes, final, out);
}

void zlib_encode_rows(const uint8_t* data, size_t size, size_t row_bytes,
                      std::vector<uint8_t>& out) {
  Encoder().zlib_encode_rows(data, size, row_bytes, out);
}

void gzip_encode_rows(const uint8_t* data, size_t size, size_t row_bytes,
                      std::vector<uint8_t>& out) {
  Encoder().gzip_encode_rows(data, size, row_bytes, out);
}

void finish_stream(std::vector<uint8_t>& out) {
  // BFINAL = 1, BTYPE = 01 (fixed), then the 7-bit end-of-block code 0000000.
  out.push_back(0x03);
  out.push_back(0x00);
}

}  // namespace ohlc::deflate
