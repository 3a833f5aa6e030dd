// CRC-32 (zlib's: reflected polynomial 0xEDB88320) as linear algebra over GF(2), so a checksum
// can be assembled from pieces of a message without reading its bytes: the register after a
// message M is T^|M|(register before) xor L(M), where T^k "appends k zero bytes" and L(M) is
// the register M alone leaves behind from zero. Both are linear, so L of a row that differs from
// a known row in a few bytes is that row's L xor the L of the differences.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ohlc::deflate {

// The register update of `n` bytes from `state`, without zlib's initial and final inversion
// (crc32(M) = ~crc32_register(~0u, M)).
uint32_t crc32_register(uint32_t state, const uint8_t* data, size_t n);

// T^k: the register after k zero bytes, as four byte-indexed tables (4 lookups per apply).
class Crc32ZeroShift {
 public:
  Crc32ZeroShift() = default;
  explicit Crc32ZeroShift(uint64_t zero_bytes) { init(zero_bytes); }
  void init(uint64_t zero_bytes);
  uint64_t zero_bytes() const { return zero_bytes_; }
  uint32_t apply(uint32_t state) const {
    return table_[0][state & 0xFF] ^ table_[1][(state >> 8) & 0xFF] ^
           table_[2][(state >> 16) & 0xFF] ^ table_[3][state >> 24];
  }

 private:
  uint64_t zero_bytes_ = 0;
  uint32_t table_[4][256] = {};
};

}  // namespace ohlc::deflate
