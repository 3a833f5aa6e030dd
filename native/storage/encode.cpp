#include "storage/encode.hpp"

#include <libdeflate.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "storage/layout.hpp"

namespace ohlc::storage {

EncodeScratch::EncodeScratch() = default;

EncodeScratch::~EncodeScratch() {
  if (compressor_) libdeflate_free_compressor(compressor_);
}

libdeflate_compressor* EncodeScratch::compressor(int level) {
  level = std::clamp(level, 1, 12);
  if (compressor_ && compressor_level_ == level) return compressor_;
  if (compressor_) libdeflate_free_compressor(compressor_);
  compressor_ = libdeflate_alloc_compressor(level);
  compressor_level_ = level;
  if (!compressor_) throw std::bad_alloc();
  return compressor_;
}

namespace {

void zlib_sync_piece(const uint8_t* raw, size_t bytes, int level, std::vector<uint8_t>& out) {
  z_stream s{};
  if (deflateInit2(&s, std::clamp(level, 1, 9), Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::bad_alloc();
  const size_t base = out.size();
  out.resize(base + deflateBound(&s, bytes) + 64);
  size_t produced = 0;
  size_t fed = 0;
  int rc = Z_OK;
  // zlib counts in 32 bits: feed large inputs in slices, flushing after the last.
  for (;;) {
    const size_t n = std::min<size_t>(bytes - fed, size_t{1} << 30);
    const bool last = fed + n == bytes;
    s.next_in = const_cast<Bytef*>(raw + fed);
    s.avail_in = static_cast<uInt>(n);
    do {
      if (out.size() - base - produced < 64) out.resize(out.size() * 2);
      const size_t room = std::min<size_t>(out.size() - base - produced, size_t{1} << 30);
      s.next_out = out.data() + base + produced;
      s.avail_out = static_cast<uInt>(room);
      rc = ::deflate(&s, last ? Z_SYNC_FLUSH : Z_NO_FLUSH);
      produced += room - s.avail_out;
    } while (s.avail_out == 0 || s.avail_in > 0);
    fed += n;
    if (last) break;
  }
  deflateEnd(&s);
  out.resize(base + produced);
  if (rc != Z_OK && rc != Z_BUF_ERROR) throw std::runtime_error("zlib deflate failed");
}

}  // namespace

void append_stored_blocks(const uint8_t* raw, size_t bytes, std::vector<uint8_t>& out) {
  // Non-final stored blocks; a piece starts byte-aligned so each header is one byte.
  size_t pos = 0;
  do {
    const size_t n = std::min<size_t>(65535, bytes - pos);
    out.push_back(0x00);
    out.push_back(static_cast<uint8_t>(n & 0xff));
    out.push_back(static_cast<uint8_t>(n >> 8));
    out.push_back(static_cast<uint8_t>(~n & 0xff));
    out.push_back(static_cast<uint8_t>((~n >> 8) & 0xff));
    out.insert(out.end(), raw + pos, raw + pos + n);
    pos += n;
  } while (pos < bytes);
}

void encode_zlib(const uint8_t* raw, size_t bytes, size_t row_bytes, int level,
                 EncodeScratch& scratch, std::vector<uint8_t>& out) {
  out.clear();
  if (level == Compression::kFast) {
    scratch.rows.zlib_encode_rows(raw, bytes, row_bytes, out);
    return;
  }
  // Compress into the thread's staging buffer and copy out exactly: a vector sized to the bound
  // and shrunk would keep the bound's capacity, per chunk, for as long as the chunk is queued.
  libdeflate_compressor* c = scratch.compressor(level == Compression::kNone ? 1 : level);
  scratch.staging.resize(libdeflate_zlib_compress_bound(c, bytes));
  const size_t n = libdeflate_zlib_compress(c, raw, bytes, scratch.staging.data(), scratch.staging.size());
  if (n == 0) throw std::runtime_error("libdeflate: output larger than its bound");
  out.assign(scratch.staging.begin(), scratch.staging.begin() + static_cast<std::ptrdiff_t>(n));
}

void encode_deflate_piece(const uint8_t* raw, size_t bytes, size_t row_bytes, int level,
                          EncodeScratch& scratch, std::vector<uint8_t>& out) {
  out.clear();
  if (bytes == 0) return;
  if (level == Compression::kFast) {
    scratch.rows.encode_rows(raw, bytes, row_bytes, false, out);
  } else if (level == Compression::kNone) {
    append_stored_blocks(raw, bytes, out);
  } else {
    scratch.staging.clear();
    zlib_sync_piece(raw, bytes, level, scratch.staging);
    out.assign(scratch.staging.begin(), scratch.staging.end());
  }
}

void encode_chunk(const DatasetLayout& layout, ArrayId a, const uint8_t* raw, size_t bytes,
                  EncodeScratch& scratch, std::vector<uint8_t>& out) {
  const int level = layout.compression.level;
  if (level == Compression::kNone) {
    out.assign(raw, raw + bytes);
  } else if (a == kImages) {
    encode_zlib(raw, bytes, layout.shape.width() * pixel_bytes(layout.pixel), level, scratch, out);
  } else {
    encode_zlib(raw, bytes, layout.arrays[a].row_bytes(), level == Compression::kFast ? 1 : level, scratch, out);
  }
}

void encode_gzip_chunk(const DatasetLayout& layout, ArrayId a, const uint8_t* raw, size_t bytes,
                       EncodeScratch& scratch, std::vector<uint8_t>& out) {
  encode_chunk(layout, a, raw, bytes, scratch, out);
  if (layout.compression.level == Compression::kNone) return;
  // zlib: 2 header bytes (no preset dictionary is ever set), deflate data, Adler-32 (4 bytes).
  // gzip: 10 header bytes, deflate data, CRC-32, ISIZE.
  if (out.size() < 6) throw std::runtime_error("encode_gzip_chunk: zlib stream too short");
  const auto header = deflate::gzip_header(0);
  out.resize(out.size() - 4);  // drop the Adler-32
  out[0] = header[8];          // the old 2-byte header becomes XFL and OS
  out[1] = header[9];
  out.insert(out.begin(), header.begin(), header.begin() + 8);
  deflate::append_gzip_trailer(out, crc32_of(raw, bytes), bytes);
}

const std::vector<uint8_t>& deflate_terminator() {
  static const std::vector<uint8_t> bytes = [] {
    std::vector<uint8_t> end;
    deflate::finish_stream(end);
    return end;
  }();
  return bytes;
}

uint32_t crc32_of(const uint8_t* data, size_t bytes, uint32_t crc) {
  return libdeflate_crc32(crc, data, bytes);
}

uint32_t crc32c_of(const uint8_t* data, size_t bytes) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < bytes; ++i) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

uint32_t crc32_concat(uint32_t crc1, uint32_t crc2, uint64_t len2) {
  return static_cast<uint32_t>(::crc32_combine(crc1, crc2, static_cast<z_off_t>(len2)));
}

}  // namespace ohlc::storage
